// Package postgres is the registry on PostgreSQL (pgx/v5), for several
// control-plane replicas sharing one database.
//
// Events reach every replica through LISTEN/NOTIFY: a trigger notifies
// Channel with the ID of each committed event, and each Store keeps one
// dedicated connection listening on it, reconnecting with backoff when it
// drops and catching up on the newest ID after each (re)connect.
package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/camo-fleet/camo-fleet/internal/registry"
	"github.com/camo-fleet/camo-fleet/internal/registry/internal/fanout"
)

// Channel is the NOTIFY channel that carries event IDs.
const Channel = "camofleet_events"

// Advisory lock keys (per database). Each serialises one kind of write
// across every replica.
const (
	lockMigrate int64 = 0x63616d6f_0001 // "camo" + 1
	lockEvents  int64 = 0x63616d6f_0002
	lockQueue   int64 = 0x63616d6f_0003
)

// Application names, so an operator can tell the connections apart.
const (
	appName         = "camofleet-registry"
	listenerAppName = "camofleet-registry-listener"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Store is the registry in a PostgreSQL database.
type Store struct {
	pool *pgxpool.Pool
	hub  *fanout.Hub
	log  *slog.Logger

	listenCfg  *pgx.ConnConfig
	stopListen context.CancelFunc
	listenDone chan struct{}

	closeOnce sync.Once
}

var _ registry.Store = (*Store)(nil)

// Open connects to the database at url (a postgres:// URL or a
// key=value string; pgxpool's pool_* parameters apply), migrates it to
// the current schema and starts listening for events. ctx bounds only the
// opening.
func Open(ctx context.Context, url string, log *slog.Logger) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		// pgx's message quotes the URL with the password removed only on a
		// best-effort basis, so none of it is shown.
		return nil, errors.New("open postgres registry: the URL does not parse " +
			"(check REGISTRY_URL; details withheld as they may hold the password)")
	}
	if _, ok := cfg.ConnConfig.RuntimeParams["application_name"]; !ok {
		cfg.ConnConfig.RuntimeParams["application_name"] = appName
	}
	s := &Store{
		log:        log.With("registry", "postgres"),
		listenCfg:  listenConfig(cfg.ConnConfig),
		listenDone: make(chan struct{}),
	}
	where := fmt.Sprintf("%s:%d/%s", cfg.ConnConfig.Host, cfg.ConnConfig.Port, cfg.ConnConfig.Database)
	if err := s.open(ctx, cfg); err != nil {
		if s.pool != nil {
			s.pool.Close()
		}
		return nil, fmt.Errorf("open postgres registry %s: %w", where, err)
	}
	s.log.Info("registry opened", "database", where, "last_event_id", s.hub.Last())
	return s, nil
}

func (s *Store) open(ctx context.Context, cfg *pgxpool.Config) error {
	var err error
	if s.pool, err = pgxpool.NewWithConfig(ctx, cfg); err != nil {
		return err
	}
	if err := s.pool.Ping(ctx); err != nil {
		return err
	}
	if err := s.migrate(ctx); err != nil {
		return err
	}

	// LISTEN before reading the newest ID: an event committed in between
	// is then seen twice rather than never.
	conn, err := s.connectListener(ctx)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	last, err := s.LatestEventID(ctx)
	if err != nil {
		closeConn(conn)
		return err
	}
	s.hub = fanout.New(last)
	listenCtx, stop := context.WithCancel(context.Background())
	s.stopListen = stop
	go s.listen(listenCtx, conn)
	return nil
}

// Close stops the listener, closes subscriber channels and the pool. It is
// safe to call more than once.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		s.stopListen()
		<-s.listenDone
		s.hub.Close()
		s.pool.Close()
		s.log.Info("registry closed")
	})
	return nil
}

// inTx runs fn in a transaction and commits when it returns nil.
func (s *Store) inTx(ctx context.Context, fn func(pgx.Tx) error) error {
	return pgx.BeginFunc(ctx, s.pool, fn)
}

// lock takes an advisory lock held until tx ends.
func lock(ctx context.Context, tx pgx.Tx, key int64) error {
	_, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1)`, key)
	return err
}

// now returns the current time as it will read back: UTC, microseconds.
func now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

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

// notFound turns pgx.ErrNoRows into registry.ErrNotFound.
func notFound(err error) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return registry.ErrNotFound
	}
	return err
}
