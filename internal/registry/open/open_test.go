package open

import (
	"context"
	"io"
	"log/slog"
	"path/filepath"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	tests := []struct {
		name    string
		url     string
		backend Backend
		target  string
		wantErr string
	}{
		{name: "postgres", url: "postgres://u:p@db:5432/camo?sslmode=disable",
			backend: Postgres, target: "postgres://u:p@db:5432/camo?sslmode=disable"},
		{name: "postgresql", url: "postgresql://db/camo", backend: Postgres,
			target: "postgresql://db/camo"},
		{name: "sqlite absolute", url: "sqlite:///var/lib/camofleet/registry.db",
			backend: SQLite, target: "/var/lib/camofleet/registry.db"},
		{name: "sqlite relative", url: "sqlite:data/registry.db", backend: SQLite,
			target: "data/registry.db"},
		{name: "sqlite relative slashes", url: "sqlite://data/registry.db", backend: SQLite,
			target: "data/registry.db"},
		{name: "plain absolute path", url: "/data/registry.db", backend: SQLite,
			target: "/data/registry.db"},
		{name: "plain relative path", url: "registry.db", backend: SQLite, target: "registry.db"},
		{name: "empty", url: "", wantErr: "REGISTRY_URL is empty"},
		{name: "mysql", url: "mysql://db/camo", wantErr: `REGISTRY_URL scheme "mysql"`},
		{name: "http", url: "https://example.com/x.db", wantErr: `REGISTRY_URL scheme "https"`},
		{name: "sqlite without path", url: "sqlite://", wantErr: "REGISTRY_URL"},
		{name: "sqlite with query", url: "sqlite:///x.db?mode=ro", wantErr: "no query"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			backend, target, err := Parse(tt.url)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("Parse(%q) error = %v, want one containing %q", tt.url, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("Parse(%q): %v", tt.url, err)
			}
			if backend != tt.backend || target != tt.target {
				t.Errorf("Parse(%q) = %s, %q; want %s, %q", tt.url, backend, target, tt.backend, tt.target)
			}
		})
	}
}

func TestOpenSQLite(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "registry.db")
	store, err := Open(context.Background(), "sqlite://"+path, discard())
	if err != nil {
		t.Fatal(err)
	}
	if err := store.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestOpenRejectsUnknownScheme(t *testing.T) {
	_, err := Open(context.Background(), "redis://localhost/0", discard())
	if err == nil || !strings.Contains(err.Error(), "REGISTRY_URL") {
		t.Fatalf("Open error = %v, want one naming REGISTRY_URL", err)
	}
}

func discard() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }
