package artifact

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

func TestManifestRoundTrip(t *testing.T) {
	dir := t.TempDir()
	at := time.Date(2025, 3, 4, 5, 6, 7, 8, time.UTC)
	list := []Artifact{
		{Kind: KindHAR, Name: HARName, Size: 10, SHA256: "ab", ContentType: "application/json",
			CreatedAt: at},
		{Kind: KindDownload, Name: "downloads/report.pdf", Size: 3, SHA256: "cd",
			ContentType: "application/pdf", OriginalName: "отчёт📄.pdf", CreatedAt: at},
	}
	if err := WriteManifest(dir, list); err != nil {
		t.Fatal(err)
	}
	got, err := ReadManifest(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, list) {
		t.Errorf("ReadManifest = %+v, want %+v", got, list)
	}
	checkNoTemp(t, dir)
}

func TestManifestEmpty(t *testing.T) {
	dir := t.TempDir()
	if err := WriteManifest(dir, nil); err != nil {
		t.Fatal(err)
	}
	got, err := ReadManifest(dir)
	if err != nil || got == nil || len(got) != 0 {
		t.Errorf("ReadManifest = %v, %v; want an empty list", got, err)
	}
}

func TestReadManifestErrors(t *testing.T) {
	broken := t.TempDir()
	err := os.WriteFile(filepath.Join(broken, ManifestName), []byte(`{"artifacts":[`), 0o644)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		dir      string
		notExist bool
	}{
		{"absent", t.TempDir(), true},
		{"broken", broken, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := ReadManifest(tc.dir)
			if err == nil || errors.Is(err, os.ErrNotExist) != tc.notExist {
				t.Errorf("ReadManifest err = %v, want not-exist %v", err, tc.notExist)
			}
		})
	}
}
