package migrate

import (
	"errors"
	"io/fs"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/camo-fleet/camo-fleet/internal/registry"
)

func TestLoad(t *testing.T) {
	tests := []struct {
		name     string
		files    []string
		versions []int
		wantErr  string
	}{
		{name: "gap", files: []string{"0002_b.sql", "0001_a.sql", "0010_j.sql"},
			wantErr: "expected version 3"},
		{name: "sorted by version", files: []string{"0002_b.sql", "0001_a.sql", "README.md"},
			versions: []int{1, 2}},
		{name: "none", files: nil, versions: nil},
		{name: "repeated version", files: []string{"0001_a.sql", "0001_b.sql"},
			wantErr: "expected version 2"},
		{name: "no name", files: []string{"0001.sql"}, wantErr: "<version>_<name>.sql"},
		{name: "not a number", files: []string{"one_a.sql"}, wantErr: "<version>_<name>.sql"},
		{name: "zero", files: []string{"0000_a.sql"}, wantErr: "<version>_<name>.sql"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fsys := fstest.MapFS{"m": &fstest.MapFile{Mode: fs.ModeDir | 0o755}}
			for _, f := range tt.files {
				fsys["m/"+f] = &fstest.MapFile{Data: []byte("-- " + f)}
			}
			all, err := Load(fsys, "m")
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var versions []int
			for _, m := range all {
				versions = append(versions, m.Version)
				if m.SQL == "" || m.Name == "" {
					t.Errorf("migration %+v has no name or SQL", m)
				}
			}
			if len(versions) != len(tt.versions) {
				t.Fatalf("versions = %v, want %v", versions, tt.versions)
			}
			for i := range versions {
				if versions[i] != tt.versions[i] {
					t.Fatalf("versions = %v, want %v", versions, tt.versions)
				}
			}
		})
	}
}

func TestPending(t *testing.T) {
	all := []Migration{{Version: 1, Name: "a"}, {Version: 2, Name: "b"}, {Version: 3, Name: "c"}}
	tests := []struct {
		current int
		want    int // how many pending
		tooNew  bool
	}{
		{current: 0, want: 3},
		{current: 2, want: 1},
		{current: 3, want: 0},
		{current: 4, tooNew: true},
	}
	for _, tt := range tests {
		got, err := Pending(all, tt.current)
		if tt.tooNew {
			if !errors.Is(err, registry.ErrSchemaTooNew) {
				t.Errorf("Pending(%d) error = %v, want ErrSchemaTooNew", tt.current, err)
			}
			continue
		}
		if err != nil || len(got) != tt.want || (len(got) > 0 && got[0].Version != tt.current+1) {
			t.Errorf("Pending(%d) = %v, %v; want %d starting at %d",
				tt.current, got, err, tt.want, tt.current+1)
		}
	}
	if Latest(nil) != 0 || Latest(all) != 3 {
		t.Errorf("Latest = %d, %d; want 0, 3", Latest(nil), Latest(all))
	}
}
