// Package sqlite is the registry on SQLite (modernc.org/sqlite, pure Go):
// the embedded default, one file under RUNNER_DATA.
//
// The file is in WAL mode, so reads never wait for the writer. Writes go
// through a pool of one connection that begins its transactions IMMEDIATE,
// so writers of this process queue instead of failing with SQLITE_BUSY;
// busy_timeout covers another process on the same file.
//
// Subscribe sees only the events appended through this Store: SQLite has no
// notifications between processes. Run one control-plane per file; more
// replicas need the postgres Store.
package sqlite

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver

	"github.com/camo-fleet/camo-fleet/internal/registry"
	"github.com/camo-fleet/camo-fleet/internal/registry/internal/fanout"
)

// BusyTimeout is how long a write waits for another process holding the
// database file's write lock before it fails with SQLITE_BUSY.
const BusyTimeout = 10 * time.Second

//go:embed migrations/*.sql
var migrations embed.FS

// Store is the registry in one SQLite file.
type Store struct {
	write *sql.DB // one connection: SQLite has one writer at a time
	read  *sql.DB
	hub   *fanout.Hub
	log   *slog.Logger

	closeOnce sync.Once
	closeErr  error
}

var _ registry.Store = (*Store)(nil)

// Open opens (creating it and its folder when missing) the database file at
// path and migrates it to the current schema.
func Open(ctx context.Context, path string, log *slog.Logger) (*Store, error) {
	if path == "" || path == ":memory:" {
		return nil, fmt.Errorf("open sqlite registry: need a file path, not %q", path)
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("open sqlite registry: %w", err)
	}
	if err := os.MkdirAll(filepath.Dir(abs), 0o750); err != nil {
		return nil, fmt.Errorf("open sqlite registry: %w", err)
	}
	s := &Store{log: log.With("registry", "sqlite")}
	if err := s.open(ctx, abs); err != nil {
		return nil, errors.Join(fmt.Errorf("open sqlite registry %s: %w", abs, err), s.closeDBs())
	}
	return s, nil
}

func (s *Store) open(ctx context.Context, path string) error {
	var err error
	s.write, err = sql.Open("sqlite", dsn(path, false))
	if err != nil {
		return err
	}
	s.write.SetMaxOpenConns(1)
	if err := s.migrate(ctx); err != nil {
		return err
	}

	s.read, err = sql.Open("sqlite", dsn(path, true))
	if err != nil {
		return err
	}
	s.read.SetMaxOpenConns(max(4, runtime.NumCPU()))
	last, err := s.LatestEventID(ctx)
	if err != nil {
		return err
	}
	s.hub = fanout.New(last)
	s.log.Info("registry opened", "path", path, "last_event_id", last)
	return nil
}

// dsn returns the modernc.org/sqlite data source name of the file at path.
func dsn(path string, readOnly bool) string {
	q := url.Values{}
	q.Add("_pragma", fmt.Sprintf("busy_timeout(%d)", BusyTimeout.Milliseconds()))
	q.Add("_pragma", "foreign_keys(1)")
	q.Add("_pragma", "synchronous(NORMAL)") // durable enough in WAL mode
	if readOnly {
		q.Add("_pragma", "query_only(1)")
	} else {
		q.Add("_pragma", "journal_mode(WAL)")
		q.Set("_txlock", "immediate")
	}
	u := url.URL{Scheme: "file", Path: path, RawQuery: q.Encode()}
	return u.String()
}

// Close closes subscriber channels and the database. It is safe to call
// more than once.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		if s.hub != nil {
			s.hub.Close()
		}
		s.closeErr = s.closeDBs()
		s.log.Info("registry closed")
	})
	return s.closeErr
}

func (s *Store) closeDBs() error {
	var errs []error
	for _, db := range []*sql.DB{s.read, s.write} {
		if db != nil {
			errs = append(errs, db.Close())
		}
	}
	return errors.Join(errs...)
}

// inTx runs fn in a write transaction and commits when it returns nil.
func (s *Store) inTx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := s.write.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	if err := fn(tx); err != nil {
		return errors.Join(err, ignoreDone(tx.Rollback()))
	}
	return tx.Commit()
}

// ignoreDone drops the error of rolling back a transaction that has ended,
// which database/sql reports when the context ended first.
func ignoreDone(err error) error {
	if errors.Is(err, sql.ErrTxDone) {
		return nil
	}
	return err
}

// micros is how a time is stored: Unix microseconds.
func micros(t time.Time) int64 { return t.UnixMicro() }

// fromMicros reads a stored time.
func fromMicros(us int64) time.Time { return time.UnixMicro(us).UTC() }

// now returns the current time as it will read back.
func now() time.Time { return fromMicros(micros(time.Now())) }

// orNow returns t, or now when t is zero.
func orNow(t time.Time) time.Time {
	if t.IsZero() {
		return now()
	}
	return t
}

// nullJSON stores empty JSON as NULL.
func nullJSON(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return string(b)
}
