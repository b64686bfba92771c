// Package artifact describes, names, checks and packs the files a browser
// session leaves in its folder: the HAR document, videos, screenshots, PDFs,
// downloads and the console and network logs. It also keeps the manifest
// (artifacts.json) that lists them once the session has ended.
//
// Names are always relative to the session folder and use forward slashes;
// Resolve is the one way to turn such a name into a path on disk.
package artifact

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"mime"
	"os"
	"path"
	"path/filepath"
	"strings"
	"time"
)

// Kind is what an artifact is.
type Kind string

// The artifact kinds.
const (
	KindHAR        Kind = "har"
	KindVideo      Kind = "video"
	KindScreenshot Kind = "screenshot"
	KindConsole    Kind = "console"
	KindNetwork    Kind = "network"
	KindDownload   Kind = "download"
	KindPDF        Kind = "pdf"
)

// The layout of a session folder, as names relative to it.
const (
	HARName        = "session.har"
	HAREntriesName = ".har-entries.jsonl"
	ConsoleName    = "console.jsonl"
	NetworkName    = "network.jsonl"
	VideoDir       = "video"
	ScreenshotDir  = "screenshots"
	PDFDir         = "pdf"
	DownloadDir    = "downloads"
	IncomingDir    = "downloads/.incoming"
)

// Artifact describes one stored file of a session.
type Artifact struct {
	Kind Kind `json:"kind"`
	// Name is the path relative to the session folder, with forward slashes.
	Name        string `json:"name"`
	Size        int64  `json:"size"`
	SHA256      string `json:"sha256"`
	ContentType string `json:"contentType"`
	// OriginalName is, for a download, the name the page suggested.
	OriginalName string    `json:"originalName,omitempty"`
	CreatedAt    time.Time `json:"createdAt"`
	// URL is where the file can be fetched; the HTTP layer fills it in.
	URL string `json:"url,omitempty"`
}

// KindOf reports the kind of the file at name (relative to the session folder)
// according to the session folder layout, and false for files that are not
// artifacts, such as the internal HAR entries or raw incoming downloads.
func KindOf(name string) (Kind, bool) {
	name = path.Clean(filepath.ToSlash(name))
	dir, base := path.Split(name)
	switch {
	case name == HARName:
		return KindHAR, true
	case name == ConsoleName:
		return KindConsole, true
	case name == NetworkName:
		return KindNetwork, true
	case strings.HasPrefix(base, "."):
		return "", false
	case dir == VideoDir+"/":
		return KindVideo, true
	case dir == ScreenshotDir+"/":
		return KindScreenshot, true
	case dir == PDFDir+"/":
		return KindPDF, true
	case dir == DownloadDir+"/":
		return KindDownload, true
	}
	return "", false
}

// ContentType returns the media type of a file named name, chosen by its
// extension, and application/octet-stream when the extension says nothing.
func ContentType(name string) string {
	ext := strings.ToLower(path.Ext(filepath.ToSlash(name)))
	switch ext {
	case ".har", ".json":
		return "application/json"
	case ".jsonl":
		return "application/x-ndjson"
	case ".webm":
		return "video/webm"
	case ".png":
		return "image/png"
	case ".pdf":
		return "application/pdf"
	}
	if t := mime.TypeByExtension(ext); t != "" {
		return t
	}
	return "application/octet-stream"
}

// Describe stats and hashes the file sessionDir/name and returns its Artifact.
// The size is the number of bytes hashed, so the two always agree; CreatedAt is
// the file's modification time, as Linux keeps no portable creation time.
func Describe(sessionDir, name string, kind Kind) (Artifact, error) {
	p, err := Resolve(sessionDir, name)
	if err != nil {
		return Artifact{}, fmt.Errorf("describe %s: %w", name, err)
	}
	f, err := os.Open(p)
	if err != nil {
		return Artifact{}, fmt.Errorf("describe %s: %w", name, err)
	}
	defer f.Close()

	info, err := f.Stat()
	if err != nil {
		return Artifact{}, fmt.Errorf("describe %s: %w", name, err)
	}
	if !info.Mode().IsRegular() {
		return Artifact{}, fmt.Errorf("describe %s: not a regular file", name)
	}
	h := sha256.New()
	n, err := io.Copy(h, f)
	if err != nil {
		return Artifact{}, fmt.Errorf("describe %s: hash: %w", name, err)
	}
	return Artifact{
		Kind:        kind,
		Name:        path.Clean(filepath.ToSlash(name)),
		Size:        n,
		SHA256:      hex.EncodeToString(h.Sum(nil)),
		ContentType: ContentType(name),
		CreatedAt:   info.ModTime().UTC(),
	}, nil
}
