package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"

	"github.com/camo-fleet/camo-fleet/internal/registry"
)

// AppendEvent stores e and publishes its ID to this Store's subscribers.
func (s *Store) AppendEvent(ctx context.Context, e registry.Event) (registry.Event, error) {
	if err := e.Validate(); err != nil {
		return e, fmt.Errorf("append event: %w", err)
	}
	e.Time = orNow(e.Time)
	err := s.write.QueryRowContext(ctx, `INSERT INTO events (time, type, session_id, worker_id, data)
		VALUES (?, ?, ?, ?, ?) RETURNING id`,
		micros(e.Time), e.Type, e.SessionID, e.WorkerID, nullJSON(e.Data)).Scan(&e.ID)
	if err != nil {
		return e, fmt.Errorf("append event %s: %w", e.Type, err)
	}
	s.hub.Publish(e.ID)
	return e, nil
}

// EventsAfter returns up to limit events with an ID above afterID, oldest first.
func (s *Store) EventsAfter(
	ctx context.Context, afterID int64, limit int,
) ([]registry.Event, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT id, time, type, session_id, worker_id, data
		FROM events WHERE id > ? ORDER BY id LIMIT ?`, afterID, registry.PageLimit(limit))
	if err != nil {
		return nil, fmt.Errorf("events after %d: %w", afterID, err)
	}
	defer rows.Close()
	var out []registry.Event
	for rows.Next() {
		var e registry.Event
		var t int64
		var data sql.NullString
		if err := rows.Scan(&e.ID, &t, &e.Type, &e.SessionID, &e.WorkerID, &data); err != nil {
			return nil, fmt.Errorf("events after %d: %w", afterID, err)
		}
		e.Time = fromMicros(t)
		if data.Valid {
			e.Data = json.RawMessage(data.String)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("events after %d: %w", afterID, err)
	}
	return out, nil
}

// LatestEventID returns the largest event ID kept, 0 when there is none.
func (s *Store) LatestEventID(ctx context.Context) (int64, error) {
	var id int64
	err := s.read.QueryRowContext(ctx, `SELECT COALESCE(MAX(id), 0) FROM events`).Scan(&id)
	if err != nil {
		return 0, fmt.Errorf("latest event id: %w", err)
	}
	return id, nil
}

// PruneEvents deletes all but the newest keepLast events; it always keeps
// the newest one, so LatestEventID stays where it was.
func (s *Store) PruneEvents(ctx context.Context, keepLast int) error {
	_, err := s.write.ExecContext(ctx, `DELETE FROM events WHERE id <=
		(SELECT id FROM events ORDER BY id DESC LIMIT 1 OFFSET ?)`, max(keepLast, 1))
	if err != nil {
		return fmt.Errorf("prune events: %w", err)
	}
	return nil
}

// Subscribe returns the IDs of events appended through this Store (not
// through other processes on the same file) until ctx ends or it closes.
func (s *Store) Subscribe(ctx context.Context) (<-chan int64, error) {
	return s.hub.Subscribe(ctx)
}
