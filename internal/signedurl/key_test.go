package signedurl

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestLoadOrCreateKeysCreatesPrivateFile(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state", "keys")
	keys, err := LoadOrCreateKeys(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 1 || len(keys[0]) != keySize {
		t.Fatalf("keys = %d of %d bytes, want 1 of %d", len(keys), len(keys[0]), keySize)
	}
	info, err := os.Stat(filepath.Join(dir, KeyFileName))
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Fatalf("key file mode = %v, want 0600", info.Mode().Perm())
	}
	again, err := LoadOrCreateKeys(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again[0], keys[0]) {
		t.Fatal("second load returned another key")
	}
	assertNoTempFiles(t, dir)
}

func TestLoadOrCreateKeysConcurrentAgree(t *testing.T) {
	dir := t.TempDir()
	const n = 8
	got := make([][]byte, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			keys, err := LoadOrCreateKeys(dir)
			errs[i] = err
			if err == nil {
				got[i] = keys[0]
			}
		})
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("loader %d: %v", i, errs[i])
		}
		if !bytes.Equal(got[i], got[0]) {
			t.Fatalf("loader %d got another key", i)
		}
	}
	assertNoTempFiles(t, dir)
}

func TestLoadOrCreateKeysRefuses(t *testing.T) {
	good := "# comment\n\n" + strings.Repeat("A", 43) + "\n"
	tests := []struct {
		name    string
		content string
		mode    os.FileMode
		want    string
	}{
		{"readable by others", good, 0o644, "mode"},
		{"readable by group", good, 0o640, "mode"},
		{"no key", "# nothing here\n", 0o600, "no key"},
		{"short key", "AAAA\n", 0o600, "line 1"},
		{"not base64", strings.Repeat("!", 43) + "\n", 0o600, "line 1"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			p := filepath.Join(dir, KeyFileName)
			if err := os.WriteFile(p, []byte(tc.content), tc.mode); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(p, tc.mode); err != nil {
				t.Fatal(err)
			}
			_, err := LoadOrCreateKeys(dir)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("LoadOrCreateKeys = %v, want an error about %q", err, tc.want)
			}
		})
	}
}

func TestRotateKey(t *testing.T) {
	dir := t.TempDir()
	first, err := LoadOrCreateKeys(dir)
	if err != nil {
		t.Fatal(err)
	}
	old := mustSigner(t, first...)
	link := old.Sign(artifactPath, now.Add(time.Minute))

	if err := RotateKey(dir, 1); err != nil {
		t.Fatal(err)
	}
	keys, err := LoadOrCreateKeys(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 2 || bytes.Equal(keys[0], first[0]) || !bytes.Equal(keys[1], first[0]) {
		t.Fatalf("after rotation: %d keys, new first = %v", len(keys),
			!bytes.Equal(keys[0], first[0]))
	}
	rotated := mustSigner(t, keys...)
	p, q := split(t, link)
	if err := rotated.Verify(p, q, now); err != nil {
		t.Fatalf("link signed before rotation: %v", err)
	}
	if rotated.Sign(artifactPath, now.Add(time.Minute)) == link {
		t.Fatal("still signing with the old key")
	}

	if err := RotateKey(dir, 0); err != nil {
		t.Fatal(err)
	}
	keys, err = LoadOrCreateKeys(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(keys) != 1 {
		t.Fatalf("keep 0 left %d keys", len(keys))
	}
	if err := mustSigner(t, keys...).Verify(p, q, now); err == nil {
		t.Fatal("a dropped key still verifies")
	}
	info, err := os.Stat(filepath.Join(dir, KeyFileName))
	if err != nil {
		t.Fatal(err)
	}
	if info.Mode().Perm() != 0o600 {
		t.Fatalf("rotated key file mode = %v", info.Mode().Perm())
	}
	assertNoTempFiles(t, dir)
}

func assertNoTempFiles(t *testing.T, dir string) {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if e.Name() != KeyFileName {
			t.Errorf("left behind in the key folder: %s", e.Name())
		}
	}
}
