package postgres

import (
	"context"
	"fmt"
	"math/rand/v2"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
)

// Reconnect backoff of the listener: doubling from the first to the last,
// with up to a quarter of jitter.
const (
	listenBackoffMin = 100 * time.Millisecond
	listenBackoffMax = 5 * time.Second
)

// closeTimeout bounds the goodbye sent when closing a connection.
const closeTimeout = 2 * time.Second

func listenConfig(base *pgx.ConnConfig) *pgx.ConnConfig {
	cfg := base.Copy()
	cfg.RuntimeParams["application_name"] = listenerAppName
	return cfg
}

// connectListener opens the dedicated connection, LISTENs on Channel and
// returns it.
func (s *Store) connectListener(ctx context.Context) (*pgx.Conn, error) {
	conn, err := pgx.ConnectConfig(ctx, s.listenCfg)
	if err != nil {
		return nil, err
	}
	if _, err := conn.Exec(ctx, "LISTEN "+pgx.Identifier{Channel}.Sanitize()); err != nil {
		closeConn(conn)
		return nil, err
	}
	return conn, nil
}

// listen hands every notified event ID to the hub until ctx ends. conn
// is listening already.
func (s *Store) listen(ctx context.Context, conn *pgx.Conn) {
	defer close(s.listenDone)
	for conn != nil {
		err := s.receive(ctx, conn)
		closeConn(conn)
		if ctx.Err() != nil {
			return
		}
		s.log.Warn("registry listener lost its connection; reconnecting", "err", err)
		conn = s.reconnectWithBackoff(ctx)
	}
}

// reconnectWithBackoff retries reconnect until it works, or returns nil
// when ctx ends first.
func (s *Store) reconnectWithBackoff(ctx context.Context) *pgx.Conn {
	for backoff := listenBackoffMin; ; backoff = min(backoff*2, listenBackoffMax) {
		if !sleep(ctx, jitter(backoff)) {
			return nil
		}
		conn, err := s.reconnect(ctx)
		if err == nil {
			s.log.Info("registry listener reconnected")
			return conn
		}
		if ctx.Err() != nil {
			return nil
		}
		s.log.Warn("registry listener cannot reconnect", "err", err, "retry_in", backoff)
	}
}

// reconnect listens again, then publishes the newest event ID: the events
// committed while nobody listened were not notified to this Store.
func (s *Store) reconnect(ctx context.Context) (*pgx.Conn, error) {
	conn, err := s.connectListener(ctx)
	if err != nil {
		return nil, err
	}
	var last int64
	err = conn.QueryRow(ctx, `SELECT COALESCE(MAX(id), 0) FROM events`).Scan(&last)
	if err != nil {
		closeConn(conn)
		return nil, fmt.Errorf("catch up: %w", err)
	}
	s.hub.Publish(last)
	return conn, nil
}

// receive publishes notifications until the connection fails or ctx ends.
func (s *Store) receive(ctx context.Context, conn *pgx.Conn) error {
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return err
		}
		id, err := strconv.ParseInt(n.Payload, 10, 64)
		if err != nil {
			s.log.Debug("registry listener ignores a notification", "payload", n.Payload)
			continue
		}
		s.hub.Publish(id)
	}
}

func closeConn(conn *pgx.Conn) {
	ctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
	defer cancel()
	_ = conn.Close(ctx) // the connection is being dropped; nothing to do on error
}

// sleep waits d or until ctx ends, and reports whether ctx is still alive.
func sleep(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

func jitter(d time.Duration) time.Duration {
	return d + rand.N(d/4+1)
}
