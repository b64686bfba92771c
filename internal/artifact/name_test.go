package artifact

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestSafeName(t *testing.T) {
	long := strings.Repeat("a", 396) + ".pdf"
	longCyr := strings.Repeat("ж", 200) + ".txt"
	tests := []struct {
		name string
		in   string
		want string // "" checks the properties only
	}{
		{"parent dirs", "../../x.sh", "x.sh"},
		{"windows parent dirs", "..\\..\\evil.bat", "evil.bat"},
		{"absolute", "/etc/passwd", "passwd"},
		{"trailing slash", "dir/", "dir"},
		{"cyrillic and emoji", "отчёт📄.pdf", "отчёт_.pdf"},
		{"empty", "", "download"},
		{"dot", ".", "download"},
		{"dot dot", "..", "download"},
		{"only slashes", "///", "download"},
		{"hidden", ".hidden", "hidden"},
		{"many leading dots", "...rc", "rc"},
		{"trailing dots", "name...", "name"},
		{"nul", "a\x00b", "a_b"},
		{"control chars", "a\tb\nc\x7f", "a_b_c_"},
		{"device name", "CON", "_CON"},
		{"device name with ext", "lpt1.txt", "_lpt1.txt"},
		{"not a device name", "CONFIG.txt", "CONFIG.txt"},
		{"spaces", "  my report .pdf  ", "my report .pdf"},
		{"quotes", `say "hi" it's.txt`, "say _hi_ it_s.txt"},
		{"shell chars", "a;b|c&d$(e).sh", "a_b_c_d_e_.sh"},
		{"underscore runs", "a___b", "a_b"},
		{"only emoji", "📄📄", "download"},
		{"invalid utf8", "a\xff\xfeb.txt", "a_b.txt"},
		{"bidi override", "txt.\u202eexe", "txt._exe"},
		{"long ascii", long, strings.Repeat("a", 116) + ".pdf"},
		{"long cyrillic", longCyr, strings.Repeat("ж", 58) + ".txt"},
		{"long extension", "a." + strings.Repeat("b", 300), ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := SafeName(tc.in)
			checkSafe(t, tc.in, got)
			if tc.want != "" && got != tc.want {
				t.Errorf("SafeName(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

// checkSafe fails t when out, the SafeName of in, breaks a promised property.
func checkSafe(t *testing.T, in, out string) {
	t.Helper()
	switch {
	case out == "":
		t.Errorf("SafeName(%q) is empty", in)
	case !utf8.ValidString(out):
		t.Errorf("SafeName(%q) = %q: not valid UTF-8", in, out)
	case len(out) > maxNameBytes:
		t.Errorf("SafeName(%q) = %q: %d bytes", in, out, len(out))
	case strings.ContainsAny(out, "/\\\x00"):
		t.Errorf("SafeName(%q) = %q: has a separator or NUL", in, out)
	case strings.HasPrefix(out, "."), out == "..":
		t.Errorf("SafeName(%q) = %q: leading dot", in, out)
	case strings.TrimSpace(out) != out:
		t.Errorf("SafeName(%q) = %q: surrounding space", in, out)
	case strings.Contains(out, "__"):
		t.Errorf("SafeName(%q) = %q: run of '_'", in, out)
	}
	for _, r := range out {
		if r < ' ' || r == 0x7f {
			t.Errorf("SafeName(%q) = %q: control character %U", in, out, r)
		}
	}
	if again := SafeName(out); again != out {
		t.Errorf("SafeName(%q) = %q, not stable: %q", in, out, again)
	}
}

func FuzzSafeName(f *testing.F) {
	for _, s := range []string{
		"../../x.sh", "..\\..\\evil.bat", "отчёт📄.pdf", "", ".", "..", ".hidden",
		"a\x00b", "CON", strings.Repeat("я", 100) + ".pdf", `"quoted" name.txt`,
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		checkSafe(t, in, SafeName(in))
	})
}

func TestUniqueName(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []string{"a.pdf", "a-1.pdf", "noext", "x.tar.gz"} {
		if err := os.WriteFile(filepath.Join(dir, n), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	long := strings.Repeat("b", 116) + ".pdf"
	if err := os.WriteFile(filepath.Join(dir, long), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, in, want string
	}{
		{"free", "b.pdf", "b.pdf"},
		{"taken twice", "a.pdf", "a-2.pdf"},
		{"no extension", "noext", "noext-1"},
		{"double extension", "x.tar.gz", "x.tar-1.gz"},
		{"at the limit", long, strings.Repeat("b", 114) + "-1.pdf"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := UniqueName(dir, tc.in); got != tc.want {
				t.Errorf("UniqueName(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}
