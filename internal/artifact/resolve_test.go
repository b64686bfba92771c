package artifact

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func TestResolve(t *testing.T) {
	base := t.TempDir()
	session := filepath.Join(base, "session")
	outside := filepath.Join(base, "outside")
	for _, d := range []string{session + "/screenshots", session + "/real", outside} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	links := map[string]string{
		"escape":         outside,
		"secret.txt":     filepath.Join(outside, "secret.txt"),
		"dangling.txt":   filepath.Join(outside, "missing.txt"),
		"inside":         filepath.Join(session, "real"),
		"relative-out":   "../outside",
		"screenshots/up": "..",
	}
	for name, target := range links {
		if err := os.Symlink(target, filepath.Join(session, name)); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(outside, "secret.txt"), []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name    string
		in      string
		want    string // relative to session; "" when refused
		outside bool
	}{
		{"plain file", "session.har", "session.har", false},
		{"in a folder", "screenshots/home.png", "screenshots/home.png", false},
		{"new folder", "pdf/new/a.pdf", "pdf/new/a.pdf", false},
		{"climb inside", "screenshots/../console.jsonl", "console.jsonl", false},
		{"link inside", "inside/a.png", "inside/a.png", false},
		{"link up inside", "screenshots/up/session.har", "screenshots/up/session.har", false},
		{"parent", "../outside/secret.txt", "", true},
		{"deep parent", "screenshots/../../outside", "", true},
		{"absolute", "/etc/passwd", "", true},
		{"empty", "", "", true},
		{"dot", ".", "", true},
		{"self by climbing", "screenshots/..", "", true},
		{"backslash", "..\\outside", "", true},
		{"nul", "a\x00b", "", true},
		{"dir link out", "escape/secret.txt", "", true},
		{"dir link out, new file", "escape/new/file.txt", "", true},
		{"relative dir link out", "relative-out/secret.txt", "", true},
		{"file link out", "secret.txt", "", true},
		{"dangling link", "dangling.txt", "", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Resolve(session, tc.in)
			if tc.outside {
				if !errors.Is(err, ErrOutside) {
					t.Fatalf("Resolve(%q) = %q, %v; want ErrOutside", tc.in, got, err)
				}
				return
			}
			if err != nil {
				t.Fatalf("Resolve(%q): %v", tc.in, err)
			}
			if want := filepath.Join(session, tc.want); got != want {
				t.Errorf("Resolve(%q) = %q, want %q", tc.in, got, want)
			}
		})
	}
}

func TestResolveMissingSession(t *testing.T) {
	_, err := Resolve(filepath.Join(t.TempDir(), "gone"), "a.png")
	if !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("err = %v, want os.ErrNotExist", err)
	}
}
