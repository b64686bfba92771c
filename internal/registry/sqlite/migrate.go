package sqlite

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/camo-fleet/camo-fleet/internal/registry/internal/migrate"
)

// migrate brings the schema to the last embedded migration, one
// transaction per migration. Transactions begin IMMEDIATE, so two processes
// opening the same new file apply each migration once.
func (s *Store) migrate(ctx context.Context) error {
	all, err := migrate.Load(migrations, "migrations")
	if err != nil {
		return err
	}
	for {
		applied, err := s.migrateOne(ctx, all)
		if err != nil {
			return err
		}
		if applied == nil {
			return nil
		}
		s.log.Info("registry schema migrated", "version", applied.Version, "name", applied.Name)
	}
}

// migrateOne applies the next pending migration and returns it, or nil
// when the schema is current.
func (s *Store) migrateOne(
	ctx context.Context, all []migrate.Migration,
) (*migrate.Migration, error) {
	var next *migrate.Migration
	err := s.inTx(ctx, func(tx *sql.Tx) error {
		current, err := schemaVersion(ctx, tx)
		if err != nil {
			return err
		}
		pending, err := migrate.Pending(all, current)
		if err != nil || len(pending) == 0 {
			return err
		}
		next = &pending[0]
		if _, err := tx.ExecContext(ctx, next.SQL); err != nil {
			return fmt.Errorf("migration %d_%s: %w", next.Version, next.Name, err)
		}
		_, err = tx.ExecContext(ctx,
			`INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`,
			next.Version, next.Name, micros(now()))
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("migrate: %w", err)
	}
	return next, nil
}

// schemaVersion returns the version of the last migration applied, creating
// the table that records them when missing.
func schemaVersion(ctx context.Context, tx *sql.Tx) (int, error) {
	_, err := tx.ExecContext(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
		version    INTEGER PRIMARY KEY,
		name       TEXT NOT NULL,
		applied_at INTEGER NOT NULL
	) STRICT`)
	if err != nil {
		return 0, err
	}
	var v int
	err = tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`).Scan(&v)
	return v, err
}
