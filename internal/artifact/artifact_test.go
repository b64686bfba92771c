package artifact

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestContentType(t *testing.T) {
	tests := []struct {
		name, in, want string
	}{
		{"har", "session.har", "application/json"},
		{"json", "artifacts.json", "application/json"},
		{"jsonl", "console.jsonl", "application/x-ndjson"},
		{"webm", "video/abc.webm", "video/webm"},
		{"png", "screenshots/home.PNG", "image/png"},
		{"pdf", "pdf/page.pdf", "application/pdf"},
		{"zip by mime", "downloads/a.zip", "application/zip"},
		{"no extension", "downloads/blob", "application/octet-stream"},
		{"unknown extension", "downloads/a.qqqzz", "application/octet-stream"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := ContentType(tc.in); got != tc.want {
				t.Errorf("ContentType(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}

func TestKindOf(t *testing.T) {
	tests := []struct {
		name, in string
		want     Kind
		ok       bool
	}{
		{"har", "session.har", KindHAR, true},
		{"console", "console.jsonl", KindConsole, true},
		{"network", "network.jsonl", KindNetwork, true},
		{"video", "video/a.webm", KindVideo, true},
		{"screenshot", "screenshots/home.png", KindScreenshot, true},
		{"pdf", "pdf/a.pdf", KindPDF, true},
		{"download", "downloads/report.pdf", KindDownload, true},
		{"incoming", "downloads/.incoming/0f1e", "", false},
		{"har entries", ".har-entries.jsonl", "", false},
		{"manifest", "artifacts.json", "", false},
		{"temporary", "screenshots/.a.png.tmp-1", "", false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := KindOf(tc.in)
			if got != tc.want || ok != tc.ok {
				t.Errorf("KindOf(%q) = %q, %v; want %q, %v", tc.in, got, ok, tc.want, tc.ok)
			}
		})
	}
}

func TestDescribe(t *testing.T) {
	dir := t.TempDir()
	data := []byte("not really a png")
	if err := os.MkdirAll(filepath.Join(dir, "screenshots"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "screenshots", "home.png"), data, 0o644); err != nil {
		t.Fatal(err)
	}

	a, err := Describe(dir, "screenshots/home.png", KindScreenshot)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(data)
	if a.Kind != KindScreenshot || a.Name != "screenshots/home.png" ||
		a.Size != int64(len(data)) || a.SHA256 != hex.EncodeToString(sum[:]) ||
		a.ContentType != "image/png" || time.Since(a.CreatedAt) > time.Minute {
		t.Errorf("Describe = %+v", a)
	}
}

func TestDescribeRefuses(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "video"), 0o755); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name, in string
		want     error // nil: any error
	}{
		{"outside", "../x", ErrOutside},
		{"missing", "nope.png", os.ErrNotExist},
		{"session folder", ".", ErrOutside},
		{"folder", "video", nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Describe(dir, tc.in, KindScreenshot)
			if err == nil || (tc.want != nil && !errors.Is(err, tc.want)) {
				t.Errorf("Describe(%q) err = %v, want %v", tc.in, err, tc.want)
			}
		})
	}
}
