package signedurl

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// KeyFileName is the name of the key file in the folder given to
// LoadOrCreateKeys and RotateKey.
const KeyFileName = "signedurl.key"

// keySize is the size of the keys this package makes.
const keySize = 32

// keyFileMode is the only permission a key file may have: the owner's alone.
const keyFileMode = 0o600

// LoadOrCreateKeys returns the keys in dir/signedurl.key, creating the folder
// (0700) and the file (0600) with one fresh random key when they are missing.
// The file holds one key per line, base64url-encoded; blank lines and lines
// starting with # are skipped. The first key signs; the others still verify,
// which is how a key is rotated out (see RotateKey). A file that others may
// read, or that holds a key too short, is refused.
func LoadOrCreateKeys(dir string) ([][]byte, error) {
	p := filepath.Join(dir, KeyFileName)
	keys, err := loadKeys(p)
	if !errors.Is(err, fs.ErrNotExist) {
		return keys, err
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("create key folder: %w", err)
	}
	key, err := newKey()
	if err != nil {
		return nil, err
	}
	// Another process may create the file at the same time: whoever links
	// first wins and the other reads the winner's key.
	if err := writeKeys(p, [][]byte{key}, false); err != nil &&
		!errors.Is(err, fs.ErrExist) {
		return nil, err
	}
	return loadKeys(p)
}

// RotateKey puts a fresh key first in dir/signedurl.key and keeps at most
// keep of the keys that were there (keep >= 1 lets links signed before the
// rotation live out their expiry). The file is replaced atomically.
func RotateKey(dir string, keep int) error {
	p := filepath.Join(dir, KeyFileName)
	old, err := loadKeys(p)
	if err != nil {
		return err
	}
	key, err := newKey()
	if err != nil {
		return err
	}
	keep = max(0, min(keep, len(old)))
	return writeKeys(p, append([][]byte{key}, old[:keep]...), true)
}

func newKey() ([]byte, error) {
	key := make([]byte, keySize)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("make signing key: %w", err)
	}
	return key, nil
}

func loadKeys(p string) ([][]byte, error) {
	f, err := os.Open(p)
	if err != nil {
		return nil, fmt.Errorf("read key file: %w", err)
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("read key file: %w", err)
	}
	if !info.Mode().IsRegular() || info.Mode().Perm()&0o077 != 0 {
		return nil, fmt.Errorf("key file %s has mode %s; want a regular file with mode 0600",
			p, info.Mode())
	}

	var keys [][]byte
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		key, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(line, "="))
		if err != nil || len(key) < MinKeySize {
			return nil, fmt.Errorf("key file %s line %d: want base64url of at least %d bytes",
				p, n, MinKeySize)
		}
		keys = append(keys, key)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read key file %s: %w", p, err)
	}
	if len(keys) == 0 {
		return nil, fmt.Errorf("key file %s holds no key", p)
	}
	return keys, nil
}

// writeKeys writes keys to p through a temporary file in the same folder, so
// nobody ever reads half a key file. With replace false it fails with
// fs.ErrExist when p is already there.
func writeKeys(p string, keys [][]byte, replace bool) (err error) {
	var b bytes.Buffer
	b.WriteString("# camofleet signed-url keys: the first signs, all verify.\n")
	for _, k := range keys {
		b.WriteString(base64.RawURLEncoding.EncodeToString(k) + "\n")
	}

	tmp, err := os.CreateTemp(filepath.Dir(p), "."+KeyFileName+".tmp-*")
	if err != nil {
		return fmt.Errorf("write key file: %w", err)
	}
	defer os.Remove(tmp.Name())
	if err := writeSync(tmp, b.Bytes()); err != nil {
		return fmt.Errorf("write key file: %w", err)
	}
	if replace {
		err = os.Rename(tmp.Name(), p)
	} else {
		err = os.Link(tmp.Name(), p)
	}
	if err != nil {
		return fmt.Errorf("write key file: %w", err)
	}
	return nil
}

func writeSync(f *os.File, data []byte) error {
	err := f.Chmod(keyFileMode)
	if err == nil {
		_, err = f.Write(data)
	}
	if err == nil {
		err = f.Sync()
	}
	return errors.Join(err, f.Close())
}
