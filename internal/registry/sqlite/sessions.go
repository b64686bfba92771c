package sqlite

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

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
	var ended any
	if sess.EndedAt != nil {
		ended = micros(*sess.EndedAt)
	}
	_, err = s.write.ExecContext(ctx, `INSERT INTO sessions (`+sessionColumns+`)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
		ON CONFLICT (id) DO UPDATE SET
			worker_id = excluded.worker_id, engine = excluded.engine,
			mode = excluded.mode, state = excluded.state, reason = excluded.reason,
			owner = excluded.owner, labels = excluded.labels,
			updated_at = excluded.updated_at, ended_at = excluded.ended_at,
			data = excluded.data`,
		sess.ID, sess.WorkerID, sess.Engine, sess.Mode, sess.State, sess.Reason, sess.Owner,
		string(labels), micros(orNow(sess.CreatedAt)), micros(now()), ended, nullJSON(sess.Data))
	if err != nil {
		return fmt.Errorf("put session %s: %w", sess.ID, err)
	}
	return nil
}

// GetSession returns one session or registry.ErrNotFound.
func (s *Store) GetSession(ctx context.Context, id string) (registry.Session, error) {
	row := s.read.QueryRowContext(ctx, `SELECT `+sessionColumns+` FROM sessions WHERE id = ?`, id)
	sess, err := scanSession(row)
	if errors.Is(err, sql.ErrNoRows) {
		err = registry.ErrNotFound
	}
	if err != nil {
		return registry.Session{}, fmt.Errorf("get session %s: %w", id, err)
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
	rows, err := s.read.QueryContext(ctx, `SELECT `+sessionColumns+` FROM sessions`+where+`
		ORDER BY created_at DESC, id DESC LIMIT ?`, append(args, limit+1)...)
	if err != nil {
		return nil, "", fmt.Errorf("list sessions: %w", err)
	}
	defer rows.Close()
	var out []registry.Session
	for rows.Next() {
		sess, err := scanSession(rows)
		if err != nil {
			return nil, "", fmt.Errorf("list sessions: %w", err)
		}
		out = append(out, sess)
	}
	if err := rows.Err(); err != nil {
		return nil, "", fmt.Errorf("list sessions: %w", err)
	}
	return page(out, limit)
}

// page cuts the extra row ListSessions reads to learn whether a next page
// exists, and returns the cursor of that page.
func page(list []registry.Session, limit int) ([]registry.Session, string, error) {
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
	add := func(cond string, vals ...any) {
		conds = append(conds, cond)
		args = append(args, vals...)
	}
	if len(f.States) > 0 {
		marks := strings.TrimSuffix(strings.Repeat("?, ", len(f.States)), ", ")
		vals := make([]any, len(f.States))
		for i, st := range f.States {
			vals[i] = string(st)
		}
		add("state IN ("+marks+")", vals...)
	}
	equals := [][2]string{{"engine", f.Engine}, {"worker_id", f.WorkerID}, {"owner", f.Owner}}
	for _, eq := range equals {
		if eq[1] != "" {
			add(eq[0]+" = ?", eq[1])
		}
	}
	for _, k := range sortedKeys(f.Labels) {
		add(`EXISTS (SELECT 1 FROM json_each(sessions.labels) AS l
			WHERE l.key = ? AND l.value = ?)`, k, f.Labels[k])
	}
	if f.Cursor != "" {
		c, err := registry.ParseSessionCursor(f.Cursor)
		if err != nil {
			return "", nil, err
		}
		add("(created_at, id) < (?, ?)", micros(c.CreatedAt), c.ID)
	}
	if len(conds) == 0 {
		return "", nil, nil
	}
	return " WHERE " + strings.Join(conds, " AND "), args, nil
}

// CountSessions returns the number of sessions in each state.
func (s *Store) CountSessions(ctx context.Context) (map[api.State]int, error) {
	rows, err := s.read.QueryContext(ctx, `SELECT state, COUNT(*) FROM sessions GROUP BY state`)
	if err != nil {
		return nil, fmt.Errorf("count sessions: %w", err)
	}
	defer rows.Close()
	out := make(map[api.State]int)
	for rows.Next() {
		var st api.State
		var n int
		if err := rows.Scan(&st, &n); err != nil {
			return nil, fmt.Errorf("count sessions: %w", err)
		}
		out[st] = n
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("count sessions: %w", err)
	}
	return out, nil
}

// scanner is a *sql.Row or *sql.Rows.
type scanner interface{ Scan(dest ...any) error }

func scanSession(sc scanner) (registry.Session, error) {
	var sess registry.Session
	var labels string
	var created, updated int64
	var ended sql.NullInt64
	var data sql.NullString
	err := sc.Scan(&sess.ID, &sess.WorkerID, &sess.Engine, &sess.Mode, &sess.State,
		&sess.Reason, &sess.Owner, &labels, &created, &updated, &ended, &data)
	if err != nil {
		return sess, err
	}
	if err := json.Unmarshal([]byte(labels), &sess.Labels); err != nil {
		return sess, fmt.Errorf("session %s labels: %w", sess.ID, err)
	}
	if len(sess.Labels) == 0 {
		sess.Labels = nil
	}
	sess.CreatedAt, sess.UpdatedAt = fromMicros(created), fromMicros(updated)
	if ended.Valid {
		t := fromMicros(ended.Int64)
		sess.EndedAt = &t
	}
	if data.Valid {
		sess.Data = json.RawMessage(data.String)
	}
	return sess, nil
}

func orEmpty(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
