package camoufox

import (
	"encoding/json"
	"errors"
	"math"
	"slices"
	"strings"
	"testing"
)

// propertyOfType returns the first property name, in sorted order, whose
// type is typ.
func propertyOfType(t *testing.T, typ string) string {
	t.Helper()
	var names []string
	for name, p := range Properties() {
		if p.Type == typ {
			names = append(names, name)
		}
	}
	if len(names) == 0 {
		t.Fatalf("no property of type %q", typ)
	}
	slices.Sort(names)
	return names[0]
}

// rawJSON is a json.Marshaler that writes its text as is.
type rawJSON string

func (r rawJSON) MarshalJSON() ([]byte, error) { return []byte(r), nil }

func TestValidateTypes(t *testing.T) {
	tests := []struct {
		typ  string
		good []any
		bad  []any
	}{
		{
			typ:  "str",
			good: []any{"", "Mozilla/5.0", "é 😀 <&>", "\ufffd"},
			bad:  []any{1, true, nil, []string{"a"}, "bad \xff byte"},
		},
		{
			typ:  "bool",
			good: []any{true, false},
			bad:  []any{"true", 1, 0, nil},
		},
		{
			typ: "uint",
			good: []any{
				0, 1920, uint8(3), uint64(math.MaxUint64), float64(1080),
				json.Number("7"),
			},
			bad: []any{
				-1, 1.5, "1", nil, true, math.Copysign(0, -1), 1e21,
				json.Number("1.0"), json.Number("1e3"),
				json.Number("18446744073709551616"),
			},
		},
		{
			typ: "int",
			good: []any{
				0, -5, int64(math.MinInt64), uint64(math.MaxUint64), float64(-2),
				json.Number("-3"),
			},
			bad: []any{1.5, "1", nil, json.Number("1e2"), json.Number("-9223372036854775809")},
		},
		{
			typ:  "double",
			good: []any{0, -2, 1.5, float32(0.5), 1e300, json.Number("1e3"), uint(4)},
			bad:  []any{"1.5", nil, true, math.NaN(), math.Inf(1), json.Number("1.2.3")},
		},
		{
			typ: "array",
			good: []any{
				[]any{}, []string{"Arial"}, []int{1, 2}, [2]bool{}, []any{1, "a", nil},
				[]map[string]any{{"name": "x"}},
			},
			bad: []any{"a", nil, map[string]any{}, []byte("x"), []any{"\xff"}},
		},
		{
			typ: "dict",
			good: []any{
				map[string]any{}, map[string]int{"a": 1}, struct{ A int }{1},
				map[string]any{"3379": []any{1, 2}},
			},
			bad: []any{[]any{}, "x", nil, 1, map[string]any{"\xff": 1}, make(chan int)},
		},
	}

	tested := map[string]bool{}
	for _, tt := range tests {
		tested[tt.typ] = true
		key := propertyOfType(t, tt.typ)
		t.Run(tt.typ, func(t *testing.T) {
			for _, v := range tt.good {
				if err := (Config{key: v}).Validate(); err != nil {
					t.Errorf("%s = %#v refused: %v", key, v, err)
				}
			}
			for _, v := range tt.bad {
				err := Config{key: v}.Validate()
				if !errors.Is(err, ErrInvalid) {
					t.Errorf("%s = %#v: err = %v, want ErrInvalid", key, v, err)
				}
			}
		})
	}
	for _, p := range Properties() {
		if !tested[p.Type] {
			t.Errorf("property type %q (e.g. %q) has no test case", p.Type, p.Name)
		}
	}
}

func TestValidateReasons(t *testing.T) {
	tests := []struct {
		name  string
		key   string
		value any
		want  string
	}{
		{"unknown", "navigator.userAgnet", "x", "unknown property"},
		{"wrong type", "screen.width", "1920", "want uint (a non-negative integer), got a string"},
		{"negative", "screen.width", -1, "want uint (a non-negative integer), got the number -1"},
		{"null", "fonts", nil, "want array (an array), got null"},
		{"object", "navigator.userAgent", map[string]any{}, "want str (a string), got an object"},
		{"bad utf-8", "navigator.userAgent", "a\xffb", "holds a string that is not valid UTF-8"},
		{"nan", "battery:level", math.NaN(), "cannot encode as JSON"},
		{"marshaler escape", "navigator.userAgent", rawJSON(`"\ufffd"`), "not valid UTF-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Config{tt.key: tt.value}.Validate()
			var verr *ValidationError
			if !errors.As(err, &verr) {
				t.Fatalf("err = %v, want *ValidationError", err)
			}
			if len(verr.Problems) != 1 {
				t.Fatalf("problems = %+v, want one", verr.Problems)
			}
			p := verr.Problems[0]
			if p.Key != tt.key || !strings.Contains(p.Reason, tt.want) {
				t.Errorf("problem = %+v, want key %q and reason containing %q", p, tt.key, tt.want)
			}
		})
	}
}

func TestValidateReportsEveryProblemSorted(t *testing.T) {
	c := Config{
		"navigator.userAgent":           "Mozilla/5.0",
		"zzz.unknown":                   1,
		"screen.width":                  -1920,
		"aaa.unknown":                   true,
		"humanize":                      "yes",
		"navigator.hardwareConcurrency": 8,
	}
	err := c.Validate()
	var verr *ValidationError
	if !errors.As(err, &verr) {
		t.Fatalf("err = %v, want *ValidationError", err)
	}
	var keys []string
	for _, p := range verr.Problems {
		keys = append(keys, p.Key)
	}
	want := []string{"aaa.unknown", "humanize", "screen.width", "zzz.unknown"}
	if !slices.Equal(keys, want) {
		t.Errorf("problem keys = %q, want %q", keys, want)
	}
	msg := err.Error()
	for _, key := range want {
		if !strings.Contains(msg, `"`+key+`"`) {
			t.Errorf("message %q does not name %q", msg, key)
		}
	}
	if !strings.HasPrefix(msg, "invalid camoufox config: ") {
		t.Errorf("message %q lacks the prefix", msg)
	}
}

func TestValidateAcceptsEmpty(t *testing.T) {
	for _, c := range []Config{nil, {}} {
		if err := c.Validate(); err != nil {
			t.Errorf("Validate(%#v) = %v", c, err)
		}
	}
}

func TestHasInvalidUTF8(t *testing.T) {
	tests := []struct {
		raw  string
		want bool
	}{
		{`"plain"`, false},
		{`"\ufffd"`, true},
		{`["a","b\ufffd"]`, true},
		{`"\\ufffd"`, false},
		{`"\\\ufffd"`, true},
		{`"\u00e9\n"`, false},
		{"\"\uFFFD\"", false},
		{`"\`, false},
	}
	for _, tt := range tests {
		if got := hasInvalidUTF8([]byte(tt.raw)); got != tt.want {
			t.Errorf("hasInvalidUTF8(%s) = %v, want %v", tt.raw, got, tt.want)
		}
	}
}
