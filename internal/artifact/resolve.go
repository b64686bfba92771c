package artifact

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// ErrOutside is returned for an artifact name that does not stay inside the
// session folder.
var ErrOutside = errors.New("path leaves the session folder")

// Resolve joins the relative artifact name (forward slashes) onto sessionDir
// and returns the path. It refuses with ErrOutside an empty name, an absolute
// one, one that climbs out with "..", one with a backslash or NUL, and one
// whose existing part leads outside through a symbolic link. A symbolic link
// at the end of the name that dangles is refused too, as writing through it
// could create a file anywhere.
func Resolve(sessionDir, name string) (string, error) {
	if !localName(name) {
		return "", fmt.Errorf("resolve %q: %w", name, ErrOutside)
	}
	root, err := filepath.Abs(sessionDir)
	if err != nil {
		return "", fmt.Errorf("resolve %q: %w", name, err)
	}
	realRoot, err := filepath.EvalSymlinks(root)
	if err != nil {
		return "", fmt.Errorf("resolve %q: session folder: %w", name, err)
	}

	p := filepath.Join(root, filepath.FromSlash(name))
	real, err := evalExisting(p)
	if err != nil {
		return "", fmt.Errorf("resolve %q: %w", name, err)
	}
	if !within(realRoot, real) {
		return "", fmt.Errorf("resolve %q: %w", name, ErrOutside)
	}
	return p, nil
}

// localName reports whether name is a relative, slash-separated name that
// stays below its base without climbing and names something other than it.
func localName(name string) bool {
	if name == "" || strings.ContainsAny(name, "\\\x00") {
		return false
	}
	p := filepath.FromSlash(name)
	return filepath.IsLocal(p) && filepath.Clean(p) != "."
}

// evalExisting resolves the symbolic links of the longest part of p that
// exists and appends the rest unchanged. A dangling link yields ErrOutside.
func evalExisting(p string) (string, error) {
	rest := ""
	for {
		real, err := filepath.EvalSymlinks(p)
		if err == nil {
			return filepath.Join(real, rest), nil
		}
		if !errors.Is(err, fs.ErrNotExist) {
			return "", err
		}
		if _, lerr := os.Lstat(p); lerr == nil {
			return "", ErrOutside
		}
		parent := filepath.Dir(p)
		if parent == p {
			return "", err
		}
		rest = filepath.Join(filepath.Base(p), rest)
		p = parent
	}
}

// within reports whether p is root or lies below it; both must be clean and
// absolute.
func within(root, p string) bool {
	rel, err := filepath.Rel(root, p)
	if err != nil {
		return false
	}
	return rel != ".." && !strings.HasPrefix(rel, ".."+string(filepath.Separator))
}
