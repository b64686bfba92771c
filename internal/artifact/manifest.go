package artifact

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// ManifestName is the file, in the session folder, that lists the artifacts
// of a finished session.
const ManifestName = "artifacts.json"

// manifest is the JSON shape of the manifest file.
type manifest struct {
	Artifacts []Artifact `json:"artifacts"`
}

// WriteManifest writes list as the manifest of the session in sessionDir,
// atomically: a reader sees the old manifest or the new one, never a part.
func WriteManifest(sessionDir string, list []Artifact) error {
	if list == nil {
		list = []Artifact{}
	}
	err := writeAtomic(filepath.Join(sessionDir, ManifestName), func(w io.Writer) error {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(manifest{Artifacts: list})
	})
	if err != nil {
		return fmt.Errorf("write manifest: %w", err)
	}
	return nil
}

// ReadManifest returns the artifacts listed in the manifest of the session in
// sessionDir. When there is no manifest the error wraps os.ErrNotExist.
func ReadManifest(sessionDir string) ([]Artifact, error) {
	data, err := os.ReadFile(filepath.Join(sessionDir, ManifestName))
	if err != nil {
		return nil, fmt.Errorf("read manifest: %w", err)
	}
	var m manifest
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("read manifest: decode: %w", err)
	}
	if m.Artifacts == nil {
		m.Artifacts = []Artifact{}
	}
	return m.Artifacts, nil
}
