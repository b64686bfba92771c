package artifact

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

const (
	// maxNameBytes is the longest base name SafeName and UniqueName return.
	maxNameBytes = 120
	// maxExtBytes is the longest suffix kept as an extension when a name is cut;
	// a longer one is treated as part of the name.
	maxExtBytes = 16
	// fallbackName replaces a name with nothing usable left in it.
	fallbackName = "download"
)

// SafeName turns a file name that came from a web page into a base name that
// is safe to create in a session folder. It keeps only the last path element
// (splitting on both / and \), replaces every character other than a Unicode
// letter or digit, '.', '-', '_' and space by '_', collapses runs of '_',
// drops leading dots and surrounding spaces, defuses Windows device names such
// as CON, and cuts the result to at most 120 bytes on a rune boundary, keeping
// a short extension. It never returns an empty name: "download" stands in.
func SafeName(name string) string {
	s := lastElement(name)
	s = replaceUnsafe(s)
	s = strings.TrimLeft(strings.TrimRight(s, " ."), " .")
	if strings.Trim(s, "_") == "" {
		return fallbackName
	}
	if isDeviceName(s) {
		s = "_" + s
	}
	return fitName(s, maxNameBytes)
}

// lastElement returns the part of name after its last / or \ that is not
// empty, or "" when there is none.
func lastElement(name string) string {
	parts := strings.FieldsFunc(name, func(r rune) bool { return r == '/' || r == '\\' })
	if len(parts) == 0 {
		return ""
	}
	return parts[len(parts)-1]
}

// replaceUnsafe replaces each disallowed character, and each byte that is not
// valid UTF-8, by '_', and collapses runs of '_' into one.
func replaceUnsafe(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	last := rune(0)
	for _, r := range s {
		if !allowedRune(r) {
			r = '_'
		}
		if r == '_' && last == '_' {
			continue
		}
		b.WriteRune(r)
		last = r
	}
	return b.String()
}

// allowedRune reports whether r may stay in a safe name as it is.
func allowedRune(r rune) bool {
	switch r {
	case '.', '-', '_', ' ':
		return true
	}
	// A byte that is not valid UTF-8 arrives as utf8.RuneError, not a letter.
	return unicode.IsLetter(r) || unicode.IsDigit(r)
}

// isDeviceName reports whether name, with or without an extension, is one of
// the names Windows reserves for devices; such a file cannot be saved there.
func isDeviceName(name string) bool {
	stem, _, _ := strings.Cut(name, ".")
	stem = strings.ToUpper(strings.TrimRight(stem, " "))
	switch stem {
	case "CON", "PRN", "AUX", "NUL", "CONIN$", "CONOUT$":
		return true
	}
	if len(stem) == 4 && (strings.HasPrefix(stem, "COM") || strings.HasPrefix(stem, "LPT")) {
		return stem[3] >= '0' && stem[3] <= '9'
	}
	return false
}

// splitExt splits name into stem and extension. A leading dot does not start
// an extension, and neither does a dot followed by more than maxExtBytes bytes.
func splitExt(name string) (stem, ext string) {
	i := strings.LastIndexByte(name, '.')
	if i <= 0 || len(name)-i > maxExtBytes {
		return name, ""
	}
	return name[:i], name[i:]
}

// fitName cuts name to at most limit bytes on a rune boundary, shortening the
// stem and keeping the extension.
func fitName(name string, limit int) string {
	if len(name) <= limit {
		return name
	}
	stem, ext := splitExt(name)
	stem = strings.TrimRight(cutBytes(stem, limit-len(ext)), " .")
	return stem + ext
}

// cutBytes returns the longest prefix of s that has at most n bytes and does
// not split a rune.
func cutBytes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}

// UniqueName returns name when no file of that name exists in dir, and
// otherwise the first of name-1, name-2, ... (the number going before the
// extension) that does not, cut to fit in 120 bytes. name should come from
// SafeName. The answer can go stale before the caller creates
// the file; callers that race each other should create with O_EXCL and retry.
func UniqueName(dir, name string) string {
	stem, ext := splitExt(name)
	candidate := name
	for i := 1; ; i++ {
		if _, err := os.Lstat(filepath.Join(dir, candidate)); err != nil {
			return candidate
		}
		suffix := "-" + strconv.Itoa(i)
		candidate = cutBytes(stem, maxNameBytes-len(suffix)-len(ext)) + suffix + ext
	}
}
