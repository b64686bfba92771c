package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/camo-fleet/camo-fleet/internal/registry"
)

// AppendEvent stores e. The advisory lock makes IDs follow commit order
// across replicas: a reader that has seen ID n never sees a smaller one
// commit later, so EventsAfter(n) misses nothing. The price is one event
// append at a time per database.
func (s *Store) AppendEvent(ctx context.Context, e registry.Event) (registry.Event, error) {
	if err := e.Validate(); err != nil {
		return e, fmt.Errorf("append event: %w", err)
	}
	var at *time.Time
	if !e.Time.IsZero() {
		at = &e.Time
	}
	// The lock is taken before the identity default runs: the CTE calls a
	// volatile function, so PostgreSQL evaluates it first, once.
	err := s.pool.QueryRow(ctx, `WITH serial AS (SELECT pg_advisory_xact_lock($1))
		INSERT INTO events (time, type, session_id, worker_id, data)
		SELECT COALESCE($2, clock_timestamp()), $3, $4, $5, $6::json FROM serial
		RETURNING id, time`,
		lockEvents, at, e.Type, e.SessionID, e.WorkerID, nullJSON(e.Data)).Scan(&e.ID, &e.Time)
	if err != nil {
		return e, fmt.Errorf("append event %s: %w", e.Type, err)
	}
	e.Time = e.Time.UTC()
	s.hub.Publish(e.ID)
	return e, nil
}

// EventsAfter returns up to limit events with an ID above afterID, oldest first.
func (s *Store) EventsAfter(
	ctx context.Context, afterID int64, limit int,
) ([]registry.Event, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, time, type, session_id, worker_id, data
		FROM events WHERE id > $1 ORDER BY id LIMIT $2`, afterID, registry.PageLimit(limit))
	if err != nil {
		return nil, fmt.Errorf("events after %d: %w", afterID, err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (registry.Event, error) {
		var e registry.Event
		var data []byte
		err := r.Scan(&e.ID, &e.Time, &e.Type, &e.SessionID, &e.WorkerID, &data)
		e.Time = e.Time.UTC()
		if data != nil {
			e.Data = json.RawMessage(data)
		}
		return e, err
	})
	if err != nil {
		return nil, fmt.Errorf("events after %d: %w", afterID, err)
	}
	return list, nil
}

// LatestEventID returns the largest event ID kept, 0 when there is none.
func (s *Store) LatestEventID(ctx context.Context) (int64, error) {
	var id int64
	err := s.pool.QueryRow(ctx, `SELECT COALESCE(MAX(id), 0) FROM events`).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("latest event id: %w", err)
	}
	return id, nil
}

// PruneEvents deletes all but the newest keepLast events; it always keeps
// the newest one, so LatestEventID stays where it was.
func (s *Store) PruneEvents(ctx context.Context, keepLast int) error {
	_, err := s.pool.Exec(ctx, `DELETE FROM events WHERE id <=
		(SELECT id FROM events ORDER BY id DESC LIMIT 1 OFFSET $1)`, max(keepLast, 1))
	if err != nil {
		return fmt.Errorf("prune events: %w", err)
	}
	return nil
}

// Subscribe returns the IDs of events appended by any process sharing the
// database until ctx ends or the Store closes.
func (s *Store) Subscribe(ctx context.Context) (<-chan int64, error) {
	return s.hub.Subscribe(ctx)
}
