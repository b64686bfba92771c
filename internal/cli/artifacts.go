package cli

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/camo-fleet/camo-fleet/internal/client"
)

// downloadTimeout bounds the download of one artifact; videos can be large.
const downloadTimeout = 10 * time.Minute

const artifactsAbout = `Lists the files a session has kept: HAR, videos, screenshots, PDFs,
downloads and its console and network logs (the HAR and videos appear once the
session has ended). With --download DIR, fetches them all into DIR, checks
each against its listed SHA-256, and prints where each went. Local names are
made from the artifact names with anything but letters, digits, ".", "_" and
"-" replaced; nothing is written outside DIR.`

func runArtifacts(ctx context.Context, e *Env, args []string) int {
	fs := newFlagSet(e, "artifacts", "ID [flags]", artifactsAbout)
	var dir string
	fs.StringVar(&dir, "download", "", "download every artifact into `DIR` (created if missing)")
	pos, err := fs.parse(e, args, 1)
	if err != nil {
		return fs.fail(e, err)
	}
	c, err := fs.client()
	if err != nil {
		return fs.fail(e, err)
	}

	var raw []byte
	listCtx, cancel := context.WithTimeout(client.WithResponseBody(ctx, func(b []byte) { raw = b }),
		callTimeout)
	defer cancel()
	list, err := c.ListArtifacts(listCtx, pos[0])
	if err != nil {
		return exitFor(listCtx, e, fs.cmd, err)
	}
	if fs.output == outputJSON {
		writeRaw(e.Stdout, raw)
	}
	if dir == "" {
		if fs.output == outputText {
			printArtifacts(e, c, list.Artifacts)
		}
		return ExitOK
	}
	if err := downloadAll(ctx, e, c, dir, list.Artifacts, fs.output == outputText); err != nil {
		return exitFor(ctx, e, fs.cmd, err)
	}
	return ExitOK
}

// printArtifacts writes the artifacts as a table with absolute URLs.
func printArtifacts(e *Env, c *client.Client, list []client.Artifact) {
	if len(list) == 0 {
		fmt.Fprintln(e.Stdout, "no artifacts")
		return
	}
	t := newTable(e.Stdout, "KIND", "NAME", "SIZE", "URL")
	for _, a := range list {
		t.row(a.Kind, a.Name, size(a.Size), c.URL(a.URL))
	}
	t.flush()
}

// downloadAll fetches every artifact into dir, each under its localName.
// A file is written next to its final name and renamed into place only once
// its bytes match the listed SHA-256. Failures do not stop the others; they
// are returned together.
func downloadAll(ctx context.Context, e *Env, c *client.Client, dir string,
	list []client.Artifact, show bool) error {
	if len(list) == 0 && show {
		fmt.Fprintln(e.Stdout, "no artifacts")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("download folder: %w", err)
	}
	// os.Root keeps every write inside dir, symbolic links included.
	root, err := os.OpenRoot(dir)
	if err != nil {
		return fmt.Errorf("download folder: %w", err)
	}
	defer root.Close()

	var t *table
	if show && len(list) > 0 {
		t = newTable(e.Stdout, "KIND", "NAME", "SIZE", "FILE")
		defer t.flush()
	}
	var errs []error
	for i, local := range localNames(list) {
		a := list[i]
		if err := download(ctx, c, root, a, local); err != nil {
			if ctx.Err() != nil {
				return errors.Join(append(errs, err)...)
			}
			errs = append(errs, err)
			continue
		}
		if t != nil {
			t.row(a.Kind, a.Name, size(a.Size), filepath.Join(dir, local))
		}
	}
	return errors.Join(errs...)
}

func download(ctx context.Context, c *client.Client, root *os.Root, a client.Artifact,
	local string) error {
	ctx, cancel := context.WithTimeout(ctx, downloadTimeout)
	defer cancel()
	if sub := filepath.Dir(local); sub != "." {
		if err := root.MkdirAll(sub, 0o755); err != nil {
			return fmt.Errorf("artifact %s: %w", a.Name, err)
		}
	}
	part := local + ".part"
	f, err := root.OpenFile(part, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return fmt.Errorf("artifact %s: %w", a.Name, err)
	}
	_, err = c.Download(ctx, a, f)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = root.Rename(part, local)
	}
	if err != nil {
		_ = root.Remove(part)
		return fmt.Errorf("artifact %s: %w", a.Name, err)
	}
	return nil
}

// maxPartBytes bounds one path element of a local name.
const maxPartBytes = 120

// localNames returns a safe relative path for each artifact, in order, none
// used twice: see localName.
func localNames(list []client.Artifact) []string {
	out := make([]string, len(list))
	used := map[string]bool{}
	for i, a := range list {
		name := localName(a.Name)
		ext := filepath.Ext(name)
		base := strings.TrimSuffix(name, ext)
		for n := 2; used[name]; n++ {
			name = fmt.Sprintf("%s-%d%s", base, n, ext)
		}
		used[name] = true
		out[i] = name
	}
	return out
}

// localName turns an artifact name from the server into a relative path
// that stays inside the download folder: it is split at "/" and "\", every
// element keeps only letters, digits, ".", "_" and "-" (others become "_"),
// and empty, "." and ".." elements are dropped.
func localName(name string) string {
	var parts []string
	for _, p := range strings.FieldsFunc(name, func(r rune) bool { return r == '/' || r == '\\' }) {
		p = strings.Map(func(r rune) rune {
			if unicode.IsLetter(r) || unicode.IsDigit(r) || strings.ContainsRune("._-", r) {
				return r
			}
			return '_'
		}, p)
		if strings.Trim(p, ".") == "" {
			continue
		}
		parts = append(parts, cutBytes(p, maxPartBytes))
	}
	if len(parts) == 0 {
		return "artifact"
	}
	name = filepath.Join(parts...)
	if !filepath.IsLocal(name) {
		return "artifact"
	}
	return name
}

// cutBytes cuts s to at most n bytes without splitting a character.
func cutBytes(s string, n int) string {
	if len(s) <= n {
		return s
	}
	s = s[:n]
	for !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}
