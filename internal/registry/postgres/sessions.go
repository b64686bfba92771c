package postgres

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/camo-fleet/camo-fleet/internal/api"
	"github.com/camo-fleet/camo-fleet/internal/registry"
)

const sessionColumns = `id, worker_id, engine, mode, state, reason, owner, labels,
	created_at, updated_at, ended_at, data`

// PutSession inserts or replaces a session, keeping its first CreatedAt.
func (s *Store) PutSession(ctx context.Context, sess registry.Session) error {
	if err := sess.Validate(); err != nil {
		return fmt.Errorf("put session: %w", err)
	}
	labels, err := json.Marshal(orEmpty(sess.Labels))
	if err != nil {
		return fmt.Errorf("put session %s: %w", sess.ID, err)
	}
	_, err = s.pool.Exec(ctx, `INSERT INTO sessions (`+sessionColumns+`)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb, $9, $10, $11, $12::json)
		ON CONFLICT (id) DO UPDATE SET
			worker_id = EXCLUDED.worker_id, engine = EXCLUDED.engine,
			mode = EXCLUDED.mode, state = EXCLUDED.state, reason = EXCLUDED.reason,
			owner = EXCLUDED.owner, labels = EXCLUDED.labels,
			updated_at = EXCLUDED.updated_at, ended_at = EXCLUDED.ended_at,
			data = EXCLUDED.data`,
		sess.ID, sess.WorkerID, sess.Engine, string(sess.Mode), string(sess.State),
		string(sess.Reason), sess.Owner, string(labels), orNow(sess.CreatedAt), now(),
		sess.EndedAt, nullJSON(sess.Data))
	if err != nil {
		return fmt.Errorf("put session %s: %w", sess.ID, err)
	}
	return nil
}

// GetSession returns one session or registry.ErrNotFound.
func (s *Store) GetSession(ctx context.Context, id string) (registry.Session, error) {
	row := s.pool.QueryRow(ctx, `SELECT `+sessionColumns+` FROM sessions WHERE id = $1`, id)
	sess, err := scanSession(row)
	if err != nil {
		return registry.Session{}, fmt.Errorf("get session %s: %w", id, notFound(err))
	}
	return sess, nil
}

// ListSessions returns one page of matching sessions, newest first.
func (s *Store) ListSessions(
	ctx context.Context, f registry.SessionFilter,
) ([]registry.Session, string, error) {
	where, args, err := sessionWhere(f)
	if err != nil {
		return nil, "", fmt.Errorf("list sessions: %w", err)
	}
	limit := registry.PageLimit(f.Limit)
	args = append(args, limit+1)
	rows, err := s.pool.Query(ctx, `SELECT `+sessionColumns+` FROM sessions`+where+`
		ORDER BY created_at DESC, id DESC LIMIT $`+strconv.Itoa(len(args)), args...)
	if err != nil {
		return nil, "", fmt.Errorf("list sessions: %w", err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (registry.Session, error) {
		return scanSession(r)
	})
	if err != nil {
		return nil, "", fmt.Errorf("list sessions: %w", err)
	}
	if len(list) <= limit {
		return list, "", nil
	}
	last := list[limit-1]
	cursor := registry.SessionCursor{CreatedAt: last.CreatedAt, ID: last.ID}
	return list[:limit], cursor.String(), nil
}

// sessionWhere returns the WHERE clause of f and its arguments.
func sessionWhere(f registry.SessionFilter) (string, []any, error) {
	var conds []string
	var args []any
	// add appends a condition whose $? placeholders take vals in order.
	add := func(cond string, vals ...any) {
		for _, v := range vals {
			args = append(args, v)
			cond = strings.Replace(cond, "$?", "$"+strconv.Itoa(len(args)), 1)
		}
		conds = append(conds, cond)
	}
	if len(f.States) > 0 {
		states := make([]string, len(f.States))
		for i, st := range f.States {
			states[i] = string(st)
		}
		add("state = ANY($?::text[])", states)
	}
	equals := [][2]string{{"engine", f.Engine}, {"worker_id", f.WorkerID}, {"owner", f.Owner}}
	for _, eq := range equals {
		if eq[1] != "" {
			add(eq[0]+" = $?", eq[1])
		}
	}
	if len(f.Labels) > 0 {
		labels, err := json.Marshal(f.Labels)
		if err != nil {
			return "", nil, err
		}
		add("labels @> $?::jsonb", string(labels))
	}
	if f.Cursor != "" {
		c, err := registry.ParseSessionCursor(f.Cursor)
		if err != nil {
			return "", nil, err
		}
		add("(created_at, id) < ($?, $?)", c.CreatedAt, c.ID)
	}
	if len(conds) == 0 {
		return "", nil, nil
	}
	return " WHERE " + strings.Join(conds, " AND "), args, nil
}

// CountSessions returns the number of sessions in each state.
func (s *Store) CountSessions(ctx context.Context) (map[api.State]int, error) {
	rows, err := s.pool.Query(ctx, `SELECT state, COUNT(*) FROM sessions GROUP BY state`)
	if err != nil {
		return nil, fmt.Errorf("count sessions: %w", err)
	}
	out := make(map[api.State]int)
	var st string
	var n int
	_, err = pgx.ForEachRow(rows, []any{&st, &n}, func() error {
		out[api.State(st)] = n
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("count sessions: %w", err)
	}
	return out, nil
}

func scanSession(row pgx.Row) (registry.Session, error) {
	var sess registry.Session
	var mode, state, reason string
	var data []byte
	err := row.Scan(&sess.ID, &sess.WorkerID, &sess.Engine, &mode, &state, &reason,
		&sess.Owner, &sess.Labels, &sess.CreatedAt, &sess.UpdatedAt, &sess.EndedAt, &data)
	if err != nil {
		return sess, err
	}
	sess.Mode, sess.State, sess.Reason = api.Mode(mode), api.State(state), api.Reason(reason)
	if len(sess.Labels) == 0 {
		sess.Labels = nil
	}
	sess.CreatedAt, sess.UpdatedAt = sess.CreatedAt.UTC(), sess.UpdatedAt.UTC()
	if sess.EndedAt != nil {
		t := sess.EndedAt.UTC()
		sess.EndedAt = &t
	}
	if data != nil {
		sess.Data = json.RawMessage(data)
	}
	return sess, nil
}

func orEmpty(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}
