package artifact

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestTailJSONL(t *testing.T) {
	lines := []string{
		`{"n":0}`,
		`{"n":1}`,
		``,
		`not json`,
		`{"n":2}  `,
		`{"n":3}` + "\r",
		`[4]`,
		`{"n":4}`,
		`{"n":5,"text":"cut sho`,
	}
	path := filepath.Join(t.TempDir(), ConsoleName)
	if err := os.WriteFile(path, []byte(strings.Join(lines, "\n")), 0o644); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name        string
		skip, limit int
		want        []string
	}{
		{"all", 0, 100, []string{`{"n":0}`, `{"n":1}`, `{"n":2}`, `{"n":3}`, `{"n":4}`}},
		{"first two", 0, 2, []string{`{"n":0}`, `{"n":1}`}},
		{"page", 1, 2, []string{`{"n":1}`, `{"n":2}`}},
		{"tail", 3, 100, []string{`{"n":3}`, `{"n":4}`}},
		{"past the end", 5, 100, []string{}},
		{"zero limit", 0, 0, []string{}},
		{"negative skip", -3, 1, []string{`{"n":0}`}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := TailJSONL(path, tc.skip, tc.limit)
			if err != nil {
				t.Fatal(err)
			}
			if got == nil {
				t.Fatal("TailJSONL returned nil, want a list")
			}
			var s []string
			for _, r := range got {
				s = append(s, string(r))
			}
			if strings.Join(s, " ") != strings.Join(tc.want, " ") {
				t.Errorf("TailJSONL(%d, %d) = %v, want %v", tc.skip, tc.limit, s, tc.want)
			}
		})
	}
}

func TestTailJSONLGrowing(t *testing.T) {
	path := filepath.Join(t.TempDir(), NetworkName)
	write := func(s string) {
		t.Helper()
		f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if _, err := f.WriteString(s); err != nil {
			t.Fatal(err)
		}
	}
	write(`{"n":0}` + "\n" + `{"n":`)
	first, err := TailJSONL(path, 0, 10)
	if err != nil || len(first) != 1 {
		t.Fatalf("first read = %s, %v; want one record", first, err)
	}
	write(`1}` + "\n")
	next, err := TailJSONL(path, len(first), 10)
	if err != nil || len(next) != 1 || string(next[0]) != `{"n":1}` {
		t.Fatalf("next read = %s, %v; want {\"n\":1}", next, err)
	}
}

func TestTailJSONLMissing(t *testing.T) {
	_, err := TailJSONL(filepath.Join(t.TempDir(), "none.jsonl"), 0, 10)
	if !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("err = %v, want os.ErrNotExist", err)
	}
}
