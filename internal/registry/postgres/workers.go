package postgres

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/jackc/pgx/v5"

	"github.com/camo-fleet/camo-fleet/internal/registry"
)

const workerColumns = `id, url, version, state, engines, capacity, active,
	last_seen, registered_at, static, data`

// PutWorker inserts or replaces a worker, keeping its first RegisteredAt.
func (s *Store) PutWorker(ctx context.Context, w registry.Worker) error {
	if err := w.Validate(); err != nil {
		return fmt.Errorf("put worker: %w", err)
	}
	engines := w.Engines
	if engines == nil {
		engines = []string{}
	}
	_, err := s.pool.Exec(ctx, `INSERT INTO workers (`+workerColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11::json)
		ON CONFLICT (id) DO UPDATE SET
			url = EXCLUDED.url, version = EXCLUDED.version, state = EXCLUDED.state,
			engines = EXCLUDED.engines, capacity = EXCLUDED.capacity,
			active = EXCLUDED.active, last_seen = EXCLUDED.last_seen,
			static = EXCLUDED.static, data = EXCLUDED.data`,
		w.ID, w.URL, w.Version, string(w.State), engines, w.Capacity, w.Active,
		orNow(w.LastSeen), orNow(w.RegisteredAt), w.Static, nullJSON(w.Data))
	if err != nil {
		return fmt.Errorf("put worker %s: %w", w.ID, err)
	}
	return nil
}

// GetWorker returns one worker or registry.ErrNotFound.
func (s *Store) GetWorker(ctx context.Context, id string) (registry.Worker, error) {
	row := s.pool.QueryRow(ctx, `SELECT `+workerColumns+` FROM workers WHERE id = $1`, id)
	w, err := scanWorker(row)
	if err != nil {
		return registry.Worker{}, fmt.Errorf("get worker %s: %w", id, notFound(err))
	}
	return w, nil
}

// ListWorkers returns every worker, ordered by ID.
func (s *Store) ListWorkers(ctx context.Context) ([]registry.Worker, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+workerColumns+` FROM workers ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("list workers: %w", err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (registry.Worker, error) {
		return scanWorker(r)
	})
	if err != nil {
		return nil, fmt.Errorf("list workers: %w", err)
	}
	return list, nil
}

// DeleteWorker removes a worker, or returns registry.ErrNotFound.
func (s *Store) DeleteWorker(ctx context.Context, id string) error {
	tag, err := s.pool.Exec(ctx, `DELETE FROM workers WHERE id = $1`, id)
	if err != nil {
		return fmt.Errorf("delete worker %s: %w", id, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("delete worker %s: %w", id, registry.ErrNotFound)
	}
	return nil
}

func scanWorker(row pgx.Row) (registry.Worker, error) {
	var w registry.Worker
	var state string
	var data []byte
	err := row.Scan(&w.ID, &w.URL, &w.Version, &state, &w.Engines, &w.Capacity, &w.Active,
		&w.LastSeen, &w.RegisteredAt, &w.Static, &data)
	if err != nil {
		return w, err
	}
	w.State = registry.WorkerState(state)
	if len(w.Engines) == 0 {
		w.Engines = nil
	}
	w.LastSeen, w.RegisteredAt = w.LastSeen.UTC(), w.RegisteredAt.UTC()
	if data != nil {
		w.Data = json.RawMessage(data)
	}
	return w, nil
}
