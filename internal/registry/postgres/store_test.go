package postgres

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/camo-fleet/camo-fleet/internal/registry"
	"github.com/camo-fleet/camo-fleet/internal/registry/internal/migrate"
	"github.com/camo-fleet/camo-fleet/internal/registry/registrytest"
)

// envURL names the server the tests use; each test gets its own database.
const envURL = "CAMOFLEET_TEST_POSTGRES_URL"

// adminURL returns the server URL, or skips the test when there is none.
func adminURL(t *testing.T) string {
	t.Helper()
	u := os.Getenv(envURL)
	if u == "" {
		t.Skipf("%s is not set: run eval \"$(scripts/postgres-test.sh start)\" for a throwaway "+
			"PostgreSQL, then scripts/postgres-test.sh stop", envURL)
	}
	return u
}

// newDatabase creates an empty database, dropped when the test ends, and
// returns its URL.
func newDatabase(t *testing.T) string {
	t.Helper()
	admin := adminURL(t)
	u, err := url.Parse(admin)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		t.Fatalf("%s must be a postgres:// URL", envURL)
	}
	name := "camofleet_test_" + strings.ToLower(rand.Text()[:12])
	exec := func(ctx context.Context, sql string) error {
		conn, err := pgx.Connect(ctx, admin)
		if err != nil {
			return err
		}
		defer conn.Close(context.Background())
		_, err = conn.Exec(ctx, sql)
		return err
	}
	if err := exec(t.Context(), "CREATE DATABASE "+name); err != nil {
		t.Fatalf("create database: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := exec(ctx, "DROP DATABASE "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("drop database %s: %v", name, err)
		}
	})
	u.Path = "/" + name
	return u.String()
}

func opener(t *testing.T, dbURL string) registrytest.Opener {
	return func(ctx context.Context) (registry.Store, error) {
		return Open(ctx, dbURL, registrytest.Logger(t))
	}
}

func openTest(t *testing.T, dbURL string) *Store {
	t.Helper()
	s, err := Open(t.Context(), dbURL, registrytest.Logger(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return s
}

func TestStore(t *testing.T) {
	adminURL(t)
	registrytest.Run(t, registrytest.Harness{
		NewDB:        func(t *testing.T) registrytest.Opener { return opener(t, newDatabase(t)) },
		SharedNotify: true,
	})
}

func TestMigrationsRecordedOnce(t *testing.T) {
	dbURL := newDatabase(t)
	var wg sync.WaitGroup
	for i := 0; i < 4; i++ { // replicas starting together on a new database
		wg.Go(func() {
			s, err := Open(t.Context(), dbURL, registrytest.Logger(t))
			if err != nil {
				t.Errorf("open: %v", err)
				return
			}
			_ = s.Close()
		})
	}
	wg.Wait()
	all, err := migrate.Load(migrations, "migrations")
	if err != nil {
		t.Fatal(err)
	}
	s := openTest(t, dbURL)
	var n, version int
	err = s.pool.QueryRow(t.Context(), `SELECT COUNT(*), MAX(version) FROM schema_migrations`).
		Scan(&n, &version)
	if err != nil {
		t.Fatal(err)
	}
	if n != len(all) || version != migrate.Latest(all) {
		t.Errorf("schema_migrations has %d rows up to %d, want %d up to %d",
			n, version, len(all), migrate.Latest(all))
	}
}

func TestSchemaTooNew(t *testing.T) {
	dbURL := newDatabase(t)
	s := openTest(t, dbURL)
	if _, err := s.pool.Exec(t.Context(),
		`INSERT INTO schema_migrations (version, name) VALUES (999, 'future')`); err != nil {
		t.Fatal(err)
	}
	_ = s.Close()
	_, err := Open(t.Context(), dbURL, registrytest.Logger(t))
	if !errors.Is(err, registry.ErrSchemaTooNew) || !strings.Contains(err.Error(), "version 999") {
		t.Fatalf("Open of a newer database: error = %v, want ErrSchemaTooNew naming version 999", err)
	}
}

// TestListenerReconnects kills the listening connection on the server: the
// Store must reconnect and deliver what was appended meanwhile.
func TestListenerReconnects(t *testing.T) {
	dbURL := newDatabase(t)
	a, b := openTest(t, dbURL), openTest(t, dbURL)
	ch, err := b.Subscribe(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for round := 0; round < 3; round++ {
		var killed int
		err := a.pool.QueryRow(t.Context(), `SELECT COUNT(pg_terminate_backend(pid))
			FROM pg_stat_activity WHERE datname = current_database() AND application_name = $1`,
			listenerAppName).Scan(&killed)
		if err != nil || killed != 2 {
			t.Fatalf("terminated %d listeners, %v; want both Stores'", killed, err)
		}
		e, err := a.AppendEvent(t.Context(), registry.Event{Type: "t", SessionID: fmt.Sprint(round)})
		if err != nil {
			t.Fatal(err)
		}
		waitID(t, ch, e.ID, 5*time.Second)
		waitListening(t, a, 2)
	}
}

// waitListening waits until n listener connections are back.
func waitListening(t *testing.T, s *Store, n int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		var got int
		err := s.pool.QueryRow(t.Context(), `SELECT COUNT(*) FROM pg_stat_activity
			WHERE datname = current_database() AND application_name = $1`, listenerAppName).Scan(&got)
		if err != nil {
			t.Fatal(err)
		}
		if got == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d listeners connected, want %d", got, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func waitID(t *testing.T, ch <-chan int64, want int64, within time.Duration) {
	t.Helper()
	timeout := time.After(within)
	for {
		select {
		case id := <-ch:
			if id >= want {
				return
			}
		case <-timeout:
			t.Fatalf("event %d not delivered within %v", want, within)
		}
	}
}

func TestOpenErrorsHidePassword(t *testing.T) {
	for name, u := range map[string]string{
		"unreachable": "postgres://camofleet:s3cret@127.0.0.1:1/none?connect_timeout=2",
		"malformed":   "postgres://camofleet:s3cret@127.0.0.1:port/none",
		"bad option":  "postgres://camofleet:s3cret@127.0.0.1/none?sslmode=sometimes",
	} {
		_, err := Open(t.Context(), u, registrytest.Logger(t))
		if err == nil {
			t.Fatalf("%s: Open succeeded", name)
		}
		if strings.Contains(err.Error(), "s3cret") {
			t.Errorf("%s: error shows the password: %v", name, err)
		}
	}
}

// TestWriteGivesUpWithContext holds the queue's advisory lock from another
// connection: Enqueue must end with its context.
func TestWriteGivesUpWithContext(t *testing.T) {
	dbURL := newDatabase(t)
	s := openTest(t, dbURL)
	conn, err := pgx.Connect(t.Context(), dbURL)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(t.Context(), `SELECT pg_advisory_lock($1)`, lockQueue); err != nil {
		t.Fatal(err)
	}

	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err = s.Enqueue(ctx, registry.QueueEntry{ID: "q"}, 0)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Enqueue error = %v, want context.DeadlineExceeded", err)
	}
	if waited := time.Since(start); waited > 3*time.Second {
		t.Errorf("Enqueue gave up after %v, want about 300ms", waited)
	}
	if _, err := conn.Exec(t.Context(), `SELECT pg_advisory_unlock($1)`, lockQueue); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Enqueue(t.Context(), registry.QueueEntry{ID: "q"}, 0); err != nil {
		t.Errorf("Enqueue after the lock is free: %v", err)
	}
}
