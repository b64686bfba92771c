// Package open opens the registry adapter that REGISTRY_URL names. It is
// the one place that knows every adapter, so that package registry need
// not.
package open

import (
	"context"
	"fmt"
	"log/slog"
	"strings"

	"github.com/camo-fleet/camo-fleet/internal/registry"
	"github.com/camo-fleet/camo-fleet/internal/registry/postgres"
	"github.com/camo-fleet/camo-fleet/internal/registry/sqlite"
)

// Backend is a kind of registry database.
type Backend string

// The backends.
const (
	SQLite   Backend = "sqlite"
	Postgres Backend = "postgres"
)

// Parse tells which backend url names and returns what that backend opens:
// the URL itself for postgres:// and postgresql:// URLs, the file path for
// sqlite:///abs/path.db, sqlite:rel/path.db or a plain path. Anything else
// is an error naming REGISTRY_URL, so a configuration can be checked
// before anything is opened.
func Parse(url string) (Backend, string, error) {
	scheme, rest, hasScheme := strings.Cut(url, ":")
	switch {
	case url == "":
		return "", "", fmt.Errorf("REGISTRY_URL is empty: want a SQLite file path or a postgres:// URL")
	case scheme == "postgres" || scheme == "postgresql":
		return Postgres, url, nil
	case scheme == "sqlite":
		return sqlitePath(url, strings.TrimPrefix(rest, "//"))
	case hasScheme && strings.HasPrefix(rest, "//"):
		return "", "", fmt.Errorf("REGISTRY_URL scheme %q is not supported: "+
			"use sqlite:///path/to/registry.db, a plain file path or postgres://", scheme)
	}
	return sqlitePath(url, url)
}

func sqlitePath(url, path string) (Backend, string, error) {
	if path == "" || strings.ContainsAny(path, "?#") {
		return "", "", fmt.Errorf("REGISTRY_URL %q: want sqlite:///path/to/registry.db "+
			"(no query or fragment)", url)
	}
	return SQLite, path, nil
}

// Open opens the registry REGISTRY_URL names (see Parse).
func Open(ctx context.Context, url string, log *slog.Logger) (registry.Store, error) {
	backend, target, err := Parse(url)
	if err != nil {
		return nil, err
	}
	if backend == Postgres {
		return postgres.Open(ctx, target, log)
	}
	return sqlite.Open(ctx, target, log)
}
