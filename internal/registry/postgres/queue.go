package postgres

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/camo-fleet/camo-fleet/internal/registry"
)

// Enqueue appends e to the queue unless maxLen entries wait already. The
// advisory lock makes the length check and the insert one step across
// replicas.
func (s *Store) Enqueue(
	ctx context.Context, e registry.QueueEntry, maxLen int,
) (registry.QueueEntry, error) {
	if err := e.Validate(); err != nil {
		return e, fmt.Errorf("enqueue: %w", err)
	}
	e.EnqueuedAt = orNow(e.EnqueuedAt).UTC()
	err := s.inTx(ctx, func(tx pgx.Tx) error {
		if err := lock(ctx, tx, lockQueue); err != nil {
			return err
		}
		var queued bool
		var n int
		err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM queue WHERE id = $1),
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
		_, err = tx.Exec(ctx, `INSERT INTO queue (id, engine, owner, request, enqueued_at)
			VALUES ($1, $2, $3, $4::json, $5)`, e.ID, e.Engine, e.Owner, nullJSON(e.Request), e.EnqueuedAt)
		return err
	})
	if err != nil {
		return e, fmt.Errorf("enqueue %s: %w", e.ID, err)
	}
	return e, nil
}

// Dequeue removes an entry, or returns registry.ErrNotFound.
func (s *Store) Dequeue(ctx context.Context, id string) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM queue WHERE id = $1`, id)
	if err != nil {
		return fmt.Errorf("dequeue %s: %w", id, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("dequeue %s: %w", id, registry.ErrNotFound)
	}
	return nil
}

// ListQueue returns the queue, head first.
func (s *Store) ListQueue(ctx context.Context) ([]registry.QueueEntry, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, engine, owner, request, enqueued_at
		FROM queue ORDER BY seq`)
	if err != nil {
		return nil, fmt.Errorf("list queue: %w", err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (registry.QueueEntry, error) {
		var e registry.QueueEntry
		var req []byte
		err := r.Scan(&e.ID, &e.Engine, &e.Owner, &req, &e.EnqueuedAt)
		e.EnqueuedAt = e.EnqueuedAt.UTC()
		if req != nil {
			e.Request = json.RawMessage(req)
		}
		return e, err
	})
	if err != nil {
		return nil, fmt.Errorf("list queue: %w", err)
	}
	for i := range list {
		list[i].Position = i + 1
	}
	return list, nil
}
