package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"

	"github.com/camo-fleet/camo-fleet/internal/registry"
)

// Enqueue appends e to the queue unless maxLen entries wait already.
func (s *Store) Enqueue(
	ctx context.Context, e registry.QueueEntry, maxLen int,
) (registry.QueueEntry, error) {
	if err := e.Validate(); err != nil {
		return e, fmt.Errorf("enqueue: %w", err)
	}
	e.EnqueuedAt = orNow(e.EnqueuedAt)
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		var queued bool
		var n int
		err := tx.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM queue WHERE id = ?),
			(SELECT COUNT(*) FROM queue)`, e.ID).Scan(&queued, &n)
		switch {
		case err != nil:
			return err
		case queued:
			return registry.ErrConflict
		case maxLen > 0 && n >= maxLen:
			return registry.ErrQueueFull
		}
		e.Position = n + 1
		_, err = tx.ExecContext(ctx, `INSERT INTO queue (id, engine, owner, request, enqueued_at)
			VALUES (?, ?, ?, ?, ?)`, e.ID, e.Engine, e.Owner, nullJSON(e.Request), micros(e.EnqueuedAt))
		return err
	})
	if err != nil {
		return e, fmt.Errorf("enqueue %s: %w", e.ID, err)
	}
	return e, nil
}

// Dequeue removes an entry, or returns registry.ErrNotFound.
func (s *Store) Dequeue(ctx context.Context, id string) error {
	res, err := s.write.ExecContext(ctx, `DELETE FROM queue WHERE id = ?`, id)
	if err != nil {
		return fmt.Errorf("dequeue %s: %w", id, err)
	}
	return mustAffect(res, "dequeue "+id)
}

// ListQueue returns the queue, head first.
func (s *Store) ListQueue(ctx context.Context) ([]registry.QueueEntry, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT id, engine, owner, request, enqueued_at
		FROM queue ORDER BY seq`)
	if err != nil {
		return nil, fmt.Errorf("list queue: %w", err)
	}
	defer rows.Close()
	var out []registry.QueueEntry
	for rows.Next() {
		var e registry.QueueEntry
		var req sql.NullString
		var at int64
		if err := rows.Scan(&e.ID, &e.Engine, &e.Owner, &req, &at); err != nil {
			return nil, fmt.Errorf("list queue: %w", err)
		}
		e.EnqueuedAt, e.Position = fromMicros(at), len(out)+1
		if req.Valid {
			e.Request = json.RawMessage(req.String)
		}
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list queue: %w", err)
	}
	return out, nil
}
