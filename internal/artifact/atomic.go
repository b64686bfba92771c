package artifact

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// fileMode is the permission of the files this package writes.
const fileMode = 0o644

// writeAtomic writes a file at path through write, which should buffer: into a temporary file in
// the same folder, synced, then renamed over path, so readers see either the
// old file or the whole new one. The temporary file is removed on failure.
func writeAtomic(path string, write func(io.Writer) error) (err error) {
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	tmp, err := os.CreateTemp(dir, "."+base+".tmp-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", base, err)
	}
	defer func() {
		if err != nil {
			err = errors.Join(err, removeTemp(tmp))
		}
	}()

	if err := write(tmp); err != nil {
		return fmt.Errorf("write %s: %w", base, err)
	}
	if err := finishTemp(tmp); err != nil {
		return fmt.Errorf("write %s: %w", base, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", base, err)
	}
	return nil
}

// finishTemp sets the mode of a written temporary file, syncs and closes it.
func finishTemp(f *os.File) error {
	if err := f.Chmod(fileMode); err != nil {
		return fmt.Errorf("chmod: %w", err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("sync: %w", err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("close: %w", err)
	}
	return nil
}

// removeTemp closes and removes a temporary file that will not be used; a
// file already closed or gone is no error.
func removeTemp(f *os.File) error {
	_ = f.Close()
	if err := os.Remove(f.Name()); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove temporary file: %w", err)
	}
	return nil
}
