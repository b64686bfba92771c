package camoufox

import (
	"encoding/json"
	"errors"
	"math"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"unicode/utf8"
)

// chunksOf checks that env is CAMOU_CONFIG_1.. in order, each chunk within
// the limits, and returns the chunks.
func chunksOf(t *testing.T, env []string) []string {
	t.Helper()
	chunks := make([]string, len(env))
	for i, entry := range env {
		name, chunk, ok := strings.Cut(entry, "=")
		if want := "CAMOU_CONFIG_" + strconv.Itoa(i+1); !ok || name != want {
			t.Fatalf("entry %d is named %q, want %q", i, name, want)
		}
		if !utf8.ValidString(chunk) {
			t.Fatalf("chunk %d is not valid UTF-8", i+1)
		}
		if n := utf8.RuneCountInString(chunk); n > ChunkSize || n == 0 {
			t.Fatalf("chunk %d has %d code points", i+1, n)
		}
		if len(entry)+1 > 128*1024 {
			t.Fatalf("entry %d is %d bytes, over MAX_ARG_STRLEN", i+1, len(entry))
		}
		if strings.IndexByte(entry, 0) >= 0 {
			t.Fatalf("entry %d holds a NUL byte", i+1)
		}
		chunks[i] = chunk
	}
	return chunks
}

// roundTrip returns Join(Env(c)), failing the test on any error.
func roundTrip(t *testing.T, c Config) Config {
	t.Helper()
	env, err := c.Env()
	if err != nil {
		t.Fatalf("Env: %v", err)
	}
	chunksOf(t, env)
	got, err := Join(env)
	if err != nil {
		t.Fatalf("Join: %v", err)
	}
	return got
}

func TestEnvSmallConfig(t *testing.T) {
	c := Config{
		"navigator.userAgent":           "Mozilla/5.0 <X11> & é",
		"navigator.hardwareConcurrency": 8,
		"fonts":                         []string{"Arial", "Noto Sans"},
		"battery:level":                 0.5,
		"humanize":                      true,
	}
	env, err := c.Env()
	if err != nil {
		t.Fatalf("Env: %v", err)
	}
	want := `CAMOU_CONFIG_1={"battery:level":0.5,"fonts":["Arial","Noto Sans"],` +
		`"humanize":true,"navigator.hardwareConcurrency":8,` +
		`"navigator.userAgent":"Mozilla/5.0 <X11> & é"}`
	if len(env) != 1 || env[0] != want {
		t.Errorf("Env() = %q, want [%q]", env, want)
	}
}

func TestEnvEmptyConfig(t *testing.T) {
	for _, c := range []Config{nil, {}} {
		env, err := c.Env()
		if err != nil || len(env) != 1 || env[0] != "CAMOU_CONFIG_1={}" {
			t.Errorf("Env(%#v) = %q, %v; want [CAMOU_CONFIG_1={}]", c, env, err)
		}
	}
}

func TestEnvLargeConfig(t *testing.T) {
	fonts := make([]any, 10000)
	for i := range fonts {
		fonts[i] = "Font " + strconv.Itoa(i)
	}
	tests := []struct {
		name string
		c    Config
	}{
		{"long user agent", Config{"navigator.userAgent": strings.Repeat("a", 100_000)}},
		{"long fonts array", Config{"fonts": fonts, "humanize": false}},
		{"exactly one chunk", Config{"navigator.userAgent": strings.Repeat("b", ChunkSize-26)}},
		{"one over a chunk", Config{"navigator.userAgent": strings.Repeat("b", ChunkSize-25)}},
		{"exactly two chunks", Config{"navigator.userAgent": strings.Repeat("c", 2*ChunkSize-26)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			text, err := marshal(tt.c)
			if err != nil {
				t.Fatal(err)
			}
			env, err := tt.c.Env()
			if err != nil {
				t.Fatalf("Env: %v", err)
			}
			chunks := chunksOf(t, env)
			want := (len(text) + ChunkSize - 1) / ChunkSize
			if len(chunks) != want {
				t.Errorf("%d-character text gave %d chunks, want %d", len(text), len(chunks), want)
			}
			if joined := strings.Join(chunks, ""); joined != string(text) {
				t.Error("chunks do not join to the marshalled text")
			}
			got, err := Join(env)
			if err != nil {
				t.Fatalf("Join: %v", err)
			}
			if !reflect.DeepEqual(got, tt.c) {
				t.Error("Join(Env(c)) differs from c")
			}
		})
	}
}

func TestEnvMultiByteBoundaries(t *testing.T) {
	// The text starts with `{"navigator.userAgent":"`, 24 characters, so
	// padding of ChunkSize-24-k ASCII characters puts the multi-byte
	// characters across the first chunk boundary at every offset k.
	const prefix = len(`{"navigator.userAgent":"`)
	for _, char := range []string{"é", "€", "😀"} {
		for k := range 4 {
			ua := strings.Repeat("x", ChunkSize-prefix-k) + strings.Repeat(char, 8)
			c := Config{"navigator.userAgent": ua}
			env, err := c.Env()
			if err != nil {
				t.Fatalf("Env: %v", err)
			}
			chunks := chunksOf(t, env)
			if n := utf8.RuneCountInString(chunks[0]); n != ChunkSize {
				t.Errorf("%s at offset %d: first chunk has %d code points", char, k, n)
			}
			if got := roundTrip(t, c); !reflect.DeepEqual(got, c) {
				t.Errorf("%s at offset %d: round trip changed the config", char, k)
			}
		}
	}
}

func TestEnvFourByteCharactersStayUnderArgLimit(t *testing.T) {
	// ChunkSize four-byte characters would make a 131 068-byte value, over
	// the kernel's limit once the name is added: the chunk must be cut
	// shorter.
	c := Config{"navigator.userAgent": strings.Repeat("😀", 3*ChunkSize)}
	env, err := c.Env()
	if err != nil {
		t.Fatalf("Env: %v", err)
	}
	chunksOf(t, env)
	if len(env) != 4 {
		t.Errorf("got %d chunks, want 4", len(env))
	}
	if got := roundTrip(t, c); !reflect.DeepEqual(got, c) {
		t.Error("round trip changed the config")
	}
}

func TestEnvRefusesInvalid(t *testing.T) {
	env, err := Config{"screen.width": "wide", "no.such": 1}.Env()
	var verr *ValidationError
	if !errors.As(err, &verr) || len(verr.Problems) != 2 {
		t.Fatalf("Env() = %q, %v; want a *ValidationError with two problems", env, err)
	}
	if env != nil {
		t.Errorf("Env() returned entries %q with an error", env)
	}
}

func TestEnvRoundTripNormalizesValues(t *testing.T) {
	c := Config{
		"screen.width":     float64(1920),
		"window.screenX":   int8(-4),
		"battery:level":    float32(0.25),
		"fonts":            []string{"Arial"},
		"webGl:parameters": map[string]int{"3379": 16384},
	}
	want := Config{
		"screen.width":     json.Number("1920"),
		"window.screenX":   json.Number("-4"),
		"battery:level":    json.Number("0.25"),
		"fonts":            []any{"Arial"},
		"webGl:parameters": map[string]any{"3379": json.Number("16384")},
	}
	if got := roundTrip(t, c); !reflect.DeepEqual(got, want) {
		t.Errorf("Join(Env(c)) = %#v, want %#v", got, want)
	}
	if got := roundTrip(t, want); !reflect.DeepEqual(got, want) {
		t.Errorf("round trip of a joined config = %#v, want %#v", got, want)
	}
}

func TestJoin(t *testing.T) {
	tests := []struct {
		name    string
		env     []string
		want    Config
		wantErr string
	}{
		{
			name: "chunks in order",
			env:  []string{"CAMOU_CONFIG_1={\"humanize\":", "CAMOU_CONFIG_2=true}"},
			want: Config{"humanize": true},
		},
		{
			name: "chunks out of order among others",
			env: []string{
				"PATH=/bin", "CAMOU_CONFIG_2=true}", "HOME=/root", "CAMOU_CONFIG_1={\"debug\":",
			},
			want: Config{"debug": true},
		},
		{
			name: "stops at the first missing chunk",
			env:  []string{"CAMOU_CONFIG_1={}", "CAMOU_CONFIG_3=garbage"},
			want: Config{},
		},
		{
			name: "single variable",
			env:  []string{`CAMOU_CONFIG={"screen.width":1920}`},
			want: Config{"screen.width": json.Number("1920")},
		},
		{
			name: "numbered chunks win over single variable",
			env:  []string{`CAMOU_CONFIG={"debug":false}`, `CAMOU_CONFIG_1={"debug":true}`},
			want: Config{"debug": true},
		},
		{
			name: "later duplicate wins",
			env:  []string{`CAMOU_CONFIG_1={"debug":false}`, `CAMOU_CONFIG_1={"debug":true}`},
			want: Config{"debug": true},
		},
		{
			name: "value may hold equals signs",
			env:  []string{`CAMOU_CONFIG_1={"navigator.userAgent":"a=b"}`, "JUNK"},
			want: Config{"navigator.userAgent": "a=b"},
		},
		{
			name: "unknown keys are kept",
			env:  []string{`CAMOU_CONFIG_1={"made.up":1}`},
			want: Config{"made.up": json.Number("1")},
		},
		{name: "no config", env: []string{"PATH=/bin"}, wantErr: "no CAMOU_CONFIG_1"},
		{name: "nil env", env: nil, wantErr: "no CAMOU_CONFIG_1"},
		{name: "chunk 2 alone", env: []string{"CAMOU_CONFIG_2={}"}, wantErr: "no CAMOU_CONFIG_1"},
		{name: "bad json", env: []string{"CAMOU_CONFIG_1={"}, wantErr: "parse config"},
		{name: "empty", env: []string{"CAMOU_CONFIG_1="}, wantErr: "parse config"},
		{name: "array", env: []string{"CAMOU_CONFIG_1=[]"}, wantErr: "parse config"},
		{name: "null", env: []string{"CAMOU_CONFIG_1=null"}, wantErr: "null"},
		{name: "trailing data", env: []string{"CAMOU_CONFIG_1={}{}"}, wantErr: "data after"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Join(tt.env)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Join() = %#v, %v; want error containing %q", got, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Join: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Join() = %#v, want %#v", got, tt.want)
			}
		})
	}
}

func TestJoinNoConfigIsSentinel(t *testing.T) {
	if _, err := Join([]string{"A=B"}); !errors.Is(err, ErrNoConfig) {
		t.Errorf("err = %v, want ErrNoConfig", err)
	}
}

func FuzzEnvRoundTrip(f *testing.F) {
	f.Add("Mozilla/5.0", "Arial", uint16(1), int64(-3), 0.5, true)
	f.Add(`\ufffd "quoted" <b>`, "\ufffd", uint16(3), int64(0), -1e300, false)
	f.Add("é€😀", "\x00\n", uint16(20000), int64(math.MaxInt64), 1e21, true)
	f.Add("bad \xff", "ok", uint16(1), int64(1), 0.0, false)
	f.Add("x", "y", uint16(2), int64(2), math.Inf(1), false)
	f.Fuzz(func(t *testing.T, ua, font string, reps uint16, n int64, d float64, b bool) {
		if len(ua) > 0 && int(reps) > 400_000/len(ua) {
			reps = uint16(400_000 / len(ua))
		}
		ua = strings.Repeat(ua, int(reps))
		c := Config{
			"navigator.userAgent": ua,
			"fonts":               []any{font, ua},
			"window.screenX":      json.Number(strconv.FormatInt(n, 10)),
			"battery:level":       d,
			"humanize":            b,
		}
		env, err := c.Env()
		valid := utf8.ValidString(ua) && utf8.ValidString(font) &&
			!math.IsNaN(d) && !math.IsInf(d, 0)
		if !valid {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("Env() err = %v, want ErrInvalid", err)
			}
			return
		}
		if err != nil {
			t.Fatalf("Env: %v", err)
		}
		chunksOf(t, env)

		got, err := Join(env)
		if err != nil {
			t.Fatalf("Join: %v", err)
		}
		level, err := marshal(d)
		if err != nil {
			t.Fatal(err)
		}
		c["battery:level"] = json.Number(level)
		if !reflect.DeepEqual(got, c) {
			t.Fatalf("Join(Env(c)) = %#v, want %#v", got, c)
		}
	})
}
