package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"

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
	enc, err := json.Marshal(engines)
	if err != nil {
		return fmt.Errorf("put worker %s: %w", w.ID, err)
	}
	_, err = s.write.ExecContext(ctx, `INSERT INTO workers (`+workerColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET
			url = excluded.url, version = excluded.version, state = excluded.state,
			engines = excluded.engines, capacity = excluded.capacity,
			active = excluded.active, last_seen = excluded.last_seen,
			static = excluded.static, data = excluded.data`,
		w.ID, w.URL, w.Version, w.State, string(enc), w.Capacity, w.Active,
		micros(orNow(w.LastSeen)), micros(orNow(w.RegisteredAt)), w.Static, nullJSON(w.Data))
	if err != nil {
		return fmt.Errorf("put worker %s: %w", w.ID, err)
	}
	return nil
}

// GetWorker returns one worker or registry.ErrNotFound.
func (s *Store) GetWorker(ctx context.Context, id string) (registry.Worker, error) {
	row := s.read.QueryRowContext(ctx, `SELECT `+workerColumns+` FROM workers WHERE id = ?`, id)
	w, err := scanWorker(row)
	if errors.Is(err, sql.ErrNoRows) {
		err = registry.ErrNotFound
	}
	if err != nil {
		return registry.Worker{}, fmt.Errorf("get worker %s: %w", id, err)
	}
	return w, nil
}

// ListWorkers returns every worker, ordered by ID.
func (s *Store) ListWorkers(ctx context.Context) ([]registry.Worker, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT `+workerColumns+` FROM workers ORDER BY id`)
	if err != nil {
		return nil, fmt.Errorf("list workers: %w", err)
	}
	defer rows.Close()
	var out []registry.Worker
	for rows.Next() {
		w, err := scanWorker(rows)
		if err != nil {
			return nil, fmt.Errorf("list workers: %w", err)
		}
		out = append(out, w)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list workers: %w", err)
	}
	return out, nil
}

// DeleteWorker removes a worker, or returns registry.ErrNotFound.
func (s *Store) DeleteWorker(ctx context.Context, id string) error {
	res, err := s.write.ExecContext(ctx, `DELETE FROM workers WHERE id = ?`, id)
	if err != nil {
		return fmt.Errorf("delete worker %s: %w", id, err)
	}
	return mustAffect(res, fmt.Sprintf("delete worker %s", id))
}

// mustAffect turns a statement that changed no row into registry.ErrNotFound.
func mustAffect(res sql.Result, op string) error {
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	if n == 0 {
		return fmt.Errorf("%s: %w", op, registry.ErrNotFound)
	}
	return nil
}

func scanWorker(sc scanner) (registry.Worker, error) {
	var w registry.Worker
	var engines string
	var seen, registered int64
	var data sql.NullString
	err := sc.Scan(&w.ID, &w.URL, &w.Version, &w.State, &engines, &w.Capacity, &w.Active,
		&seen, &registered, &w.Static, &data)
	if err != nil {
		return w, err
	}
	if err := json.Unmarshal([]byte(engines), &w.Engines); err != nil {
		return w, fmt.Errorf("worker %s engines: %w", w.ID, err)
	}
	if len(w.Engines) == 0 {
		w.Engines = nil
	}
	w.LastSeen, w.RegisteredAt = fromMicros(seen), fromMicros(registered)
	if data.Valid {
		w.Data = json.RawMessage(data.String)
	}
	return w, nil
}
