package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/camo-fleet/camo-fleet/internal/registry"
	"github.com/camo-fleet/camo-fleet/internal/registry/internal/migrate"
	"github.com/camo-fleet/camo-fleet/internal/registry/registrytest"
)

func TestStore(t *testing.T) {
	registrytest.Run(t, registrytest.Harness{
		NewDB: func(t *testing.T) registrytest.Opener {
			path := filepath.Join(t.TempDir(), "registry.db")
			return func(ctx context.Context) (registry.Store, error) {
				return Open(ctx, path, registrytest.Logger(t))
			}
		},
		SharedNotify: false,
	})
}

func openTest(t *testing.T, path string) *Store {
	t.Helper()
	s, err := Open(t.Context(), path, registrytest.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func TestConnectionSettings(t *testing.T) {
	s := openTest(t, filepath.Join(t.TempDir(), "registry.db"))
	tests := []struct {
		pragma string
		db     *sql.DB
		want   string
	}{
		{"journal_mode", s.write, "wal"},
		{"journal_mode", s.read, "wal"},
		{"foreign_keys", s.write, "1"},
		{"foreign_keys", s.read, "1"},
		{"busy_timeout", s.write, "10000"},
		{"busy_timeout", s.read, "10000"},
		{"synchronous", s.write, "1"},
		{"query_only", s.read, "1"},
		{"query_only", s.write, "0"},
	}
	for _, tt := range tests {
		var got string
		if err := tt.db.QueryRowContext(t.Context(), "PRAGMA "+tt.pragma).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != tt.want {
			t.Errorf("PRAGMA %s = %s, want %s", tt.pragma, got, tt.want)
		}
	}
	if n := s.write.Stats().MaxOpenConnections; n != 1 {
		t.Errorf("writer pool allows %d connections, want 1", n)
	}
}

func TestMigrationsRecordedOnce(t *testing.T) {
	path := filepath.Join(t.TempDir(), "registry.db")
	for i := 0; i < 3; i++ {
		if err := openTest(t, path).Close(); err != nil {
			t.Fatal(err)
		}
	}
	all, err := migrate.Load(migrations, "migrations")
	if err != nil {
		t.Fatal(err)
	}
	s := openTest(t, path)
	var n, version int
	err = s.read.QueryRowContext(t.Context(),
		`SELECT COUNT(*), MAX(version) FROM schema_migrations`).Scan(&n, &version)
	if err != nil {
		t.Fatal(err)
	}
	if n != len(all) || version != migrate.Latest(all) {
		t.Errorf("schema_migrations has %d rows up to %d, want %d up to %d",
			n, version, len(all), migrate.Latest(all))
	}
}

func TestSchemaTooNew(t *testing.T) {
	path := filepath.Join(t.TempDir(), "registry.db")
	s := openTest(t, path)
	_, err := s.write.ExecContext(t.Context(),
		`INSERT INTO schema_migrations (version, name, applied_at) VALUES (999, 'future', 0)`)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	_, err = Open(t.Context(), path, registrytest.Logger(t))
	if !errors.Is(err, registry.ErrSchemaTooNew) || !strings.Contains(err.Error(), "version 999") {
		t.Fatalf("Open of a newer database: error = %v, want ErrSchemaTooNew naming version 999", err)
	}
}

func TestConcurrentOpen(t *testing.T) {
	path := filepath.Join(t.TempDir(), "registry.db")
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ {
		wg.Go(func() {
			s, err := Open(t.Context(), path, registrytest.Logger(t))
			if err != nil {
				t.Errorf("open: %v", err)
				return
			}
			if err := s.Close(); err != nil {
				t.Errorf("close: %v", err)
			}
		})
	}
	wg.Wait()
}

func TestPathNeedingEscapes(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a dir?with#odd%chars")
	path := filepath.Join(dir, "new", "registry.db")
	s := openTest(t, path)
	if err := s.PutSession(t.Context(), registry.Session{ID: "s"}); err != nil {
		t.Fatal(err)
	}
	var file string
	err := s.read.QueryRowContext(t.Context(),
		`SELECT file FROM pragma_database_list WHERE name = 'main'`).Scan(&file)
	if err != nil {
		t.Fatal(err)
	}
	if file != path {
		t.Errorf("database file = %q, want %q", file, path)
	}
}

func TestOpenRejectsMemory(t *testing.T) {
	for _, path := range []string{"", ":memory:"} {
		if _, err := Open(context.Background(), path, registrytest.Logger(t)); err == nil {
			t.Errorf("Open(%q) succeeded, want an error", path)
		}
	}
}

// TestWriteGivesUpWithContext holds the file's write lock from another
// connection: a write must end with its context, not after BusyTimeout.
func TestWriteGivesUpWithContext(t *testing.T) {
	path := filepath.Join(t.TempDir(), "registry.db")
	s := openTest(t, path)
	other, err := sql.Open("sqlite", dsn(path, false))
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	tx, err := other.BeginTx(t.Context(), nil) // BEGIN IMMEDIATE: takes the write lock
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = tx.Rollback() }()

	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	err = s.PutSession(ctx, registry.Session{ID: "s"})
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("PutSession error = %v, want context.DeadlineExceeded", err)
	}
	if waited := time.Since(start); waited > 3*time.Second {
		t.Errorf("write gave up after %v, want about 300ms", waited)
	}
}
