package postgres

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/camo-fleet/camo-fleet/internal/registry"
)

// AppendAudit stores a and returns it with its ID and Time.
func (s *Store) AppendAudit(ctx context.Context, a registry.Audit) (registry.Audit, error) {
	if err := a.Validate(); err != nil {
		return a, fmt.Errorf("append audit: %w", err)
	}
	a.Time = orNow(a.Time).UTC()
	err := s.pool.QueryRow(ctx, `INSERT INTO audit
		(time, actor, role, action, target, detail, remote_addr)
		VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id`,
		a.Time, a.Actor, a.Role, a.Action, a.Target, a.Detail, a.RemoteAddr).Scan(&a.ID)
	if err != nil {
		return a, fmt.Errorf("append audit %s: %w", a.Action, err)
	}
	return a, nil
}

// ListAudit returns matching audit records, newest first.
func (s *Store) ListAudit(ctx context.Context, f registry.AuditFilter) ([]registry.Audit, error) {
	where, args := auditWhere(f)
	args = append(args, registry.PageLimit(f.Limit))
	rows, err := s.pool.Query(ctx, `SELECT id, time, actor, role, action, target, detail,
		remote_addr FROM audit`+where+` ORDER BY id DESC LIMIT $`+strconv.Itoa(len(args)), args...)
	if err != nil {
		return nil, fmt.Errorf("list audit: %w", err)
	}
	list, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (registry.Audit, error) {
		var a registry.Audit
		err := r.Scan(&a.ID, &a.Time, &a.Actor, &a.Role, &a.Action, &a.Target, &a.Detail,
			&a.RemoteAddr)
		a.Time = a.Time.UTC()
		return a, err
	})
	if err != nil {
		return nil, fmt.Errorf("list audit: %w", err)
	}
	return list, nil
}

func auditWhere(f registry.AuditFilter) (string, []any) {
	var conds []string
	var args []any
	add := func(cond string, val any) {
		args = append(args, val)
		conds = append(conds, cond+" $"+strconv.Itoa(len(args)))
	}
	for _, eq := range [][2]string{{"actor", f.Actor}, {"action", f.Action}, {"target", f.Target}} {
		if eq[1] != "" {
			add(eq[0]+" =", eq[1])
		}
	}
	if !f.Since.IsZero() {
		add("time >=", f.Since)
	}
	if f.BeforeID > 0 {
		add("id <", f.BeforeID)
	}
	if len(conds) == 0 {
		return "", nil
	}
	return " WHERE " + strings.Join(conds, " AND "), args
}
