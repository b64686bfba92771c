// Package migrate reads the versioned schema migrations the registry
// adapters embed and decides which of them a database still needs. It runs
// no SQL: each adapter applies the plan in its own transactions.
package migrate

import (
	"fmt"
	"io/fs"
	"path"
	"sort"
	"strconv"
	"strings"

	"github.com/camo-fleet/camo-fleet/internal/registry"
)

// Migration is one schema change, read from a file named
// <version>_<name>.sql, such as 0001_init.sql.
type Migration struct {
	Version int
	Name    string
	SQL     string
}

// Load reads the migrations in dir of fsys, in version order. Versions must
// run 1, 2, 3, ... without gaps or repeats.
func Load(fsys fs.FS, dir string) ([]Migration, error) {
	entries, err := fs.ReadDir(fsys, dir)
	if err != nil {
		return nil, fmt.Errorf("read migrations: %w", err)
	}
	var out []Migration
	for _, e := range entries {
		if e.IsDir() || !strings.HasSuffix(e.Name(), ".sql") {
			continue
		}
		m, err := parse(fsys, path.Join(dir, e.Name()))
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Version < out[j].Version })
	for i, m := range out {
		if m.Version != i+1 {
			return nil, fmt.Errorf("migration %d_%s: expected version %d", m.Version, m.Name, i+1)
		}
	}
	return out, nil
}

func parse(fsys fs.FS, file string) (Migration, error) {
	base := strings.TrimSuffix(path.Base(file), ".sql")
	num, name, ok := strings.Cut(base, "_")
	version, err := strconv.Atoi(num)
	if !ok || err != nil || version <= 0 || name == "" {
		return Migration{}, fmt.Errorf("migration %s: name is not <version>_<name>.sql", file)
	}
	sql, err := fs.ReadFile(fsys, file)
	if err != nil {
		return Migration{}, fmt.Errorf("read migration %s: %w", file, err)
	}
	return Migration{Version: version, Name: name, SQL: string(sql)}, nil
}

// Pending returns the migrations above current, the version a database is
// at. A database above the last migration gives registry.ErrSchemaTooNew.
func Pending(all []Migration, current int) ([]Migration, error) {
	latest := Latest(all)
	if current > latest {
		return nil, fmt.Errorf("%w: database at version %d, this camofleet knows up to %d",
			registry.ErrSchemaTooNew, current, latest)
	}
	return all[current:], nil
}

// Latest returns the version of the last migration, 0 when there is none.
func Latest(all []Migration) int {
	if len(all) == 0 {
		return 0
	}
	return all[len(all)-1].Version
}
