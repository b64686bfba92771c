package sqlite

import (
	"context"
	"fmt"
	"strings"

	"github.com/camo-fleet/camo-fleet/internal/registry"
)

// AppendAudit stores a and returns it with its ID and Time.
func (s *Store) AppendAudit(ctx context.Context, a registry.Audit) (registry.Audit, error) {
	if err := a.Validate(); err != nil {
		return a, fmt.Errorf("append audit: %w", err)
	}
	a.Time = orNow(a.Time)
	err := s.write.QueryRowContext(ctx, `INSERT INTO audit
		(time, actor, role, action, target, detail, remote_addr)
		VALUES (?, ?, ?, ?, ?, ?, ?) RETURNING id`,
		micros(a.Time), a.Actor, a.Role, a.Action, a.Target, a.Detail, a.RemoteAddr).Scan(&a.ID)
	if err != nil {
		return a, fmt.Errorf("append audit %s: %w", a.Action, err)
	}
	return a, nil
}

// ListAudit returns matching audit records, newest first.
func (s *Store) ListAudit(ctx context.Context, f registry.AuditFilter) ([]registry.Audit, error) {
	where, args := auditWhere(f)
	rows, err := s.read.QueryContext(ctx, `SELECT id, time, actor, role, action, target,
		detail, remote_addr FROM audit`+where+` ORDER BY id DESC LIMIT ?`,
		append(args, registry.PageLimit(f.Limit))...)
	if err != nil {
		return nil, fmt.Errorf("list audit: %w", err)
	}
	defer rows.Close()
	var out []registry.Audit
	for rows.Next() {
		var a registry.Audit
		var t int64
		err := rows.Scan(&a.ID, &t, &a.Actor, &a.Role, &a.Action, &a.Target, &a.Detail, &a.RemoteAddr)
		if err != nil {
			return nil, fmt.Errorf("list audit: %w", err)
		}
		a.Time = fromMicros(t)
		out = append(out, a)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list audit: %w", err)
	}
	return out, nil
}

func auditWhere(f registry.AuditFilter) (string, []any) {
	var conds []string
	var args []any
	for _, eq := range [][2]string{{"actor", f.Actor}, {"action", f.Action}, {"target", f.Target}} {
		if eq[1] != "" {
			conds = append(conds, eq[0]+" = ?")
			args = append(args, eq[1])
		}
	}
	if !f.Since.IsZero() {
		conds = append(conds, "time >= ?")
		args = append(args, micros(f.Since))
	}
	if f.BeforeID > 0 {
		conds = append(conds, "id < ?")
		args = append(args, f.BeforeID)
	}
	if len(conds) == 0 {
		return "", nil
	}
	return " WHERE " + strings.Join(conds, " AND "), args
}
