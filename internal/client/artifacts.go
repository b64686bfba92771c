package client

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// Artifact is one file a session kept, as GET /artifacts lists it.
type Artifact struct {
	// Kind is har, video, screenshot, console, network, download or pdf.
	Kind string `json:"kind"`
	// Name is the path in the session folder, with "/", e.g.
	// "screenshots/home.png". It comes from the server: treat it as untrusted
	// before using it as a local file name.
	Name string `json:"name"`
	// Size is the length in bytes.
	Size int64 `json:"size"`
	// SHA256 is the hex SHA-256 of the file.
	SHA256 string `json:"sha256"`
	// ContentType is the file's media type.
	ContentType string `json:"contentType"`
	// OriginalName is, for a download, the file name the page suggested.
	OriginalName string `json:"originalName,omitempty"`
	// CreatedAt is when the file was kept.
	CreatedAt time.Time `json:"createdAt"`
	// URL is the API path (or URL) to download the file from.
	URL string `json:"url"`
}

// ArtifactList is the body of GET /artifacts.
type ArtifactList struct {
	SessionID string     `json:"sessionId"`
	Artifacts []Artifact `json:"artifacts"`
}

// ListArtifacts returns the files a session has kept so far. The HAR and
// videos are listed once the session has ended.
func (c *Client) ListArtifacts(ctx context.Context, sessionID string) (*ArtifactList, error) {
	var list ArtifactList
	path := "/artifacts?session=" + url.QueryEscape(sessionID)
	if _, err := c.call(ctx, http.MethodGet, path, nil, &list); err != nil {
		return nil, err
	}
	return &list, nil
}

// ChecksumError is a download whose bytes do not match the listed size or
// SHA-256.
type ChecksumError struct {
	Name      string
	Want, Got string
}

// Error names the artifact and both values.
func (e *ChecksumError) Error() string {
	return fmt.Sprintf("artifact %s: got %s, listed %s", e.Name, e.Got, e.Want)
}

// Download copies an artifact's bytes to w and returns how many were copied.
// When the listing gave a SHA-256 and a size, the bytes are checked against
// them and a mismatch returns a *ChecksumError (after the bytes were written:
// the caller discards them).
func (c *Client) Download(ctx context.Context, a Artifact, w io.Writer) (int64, error) {
	if a.URL == "" {
		return 0, fmt.Errorf("artifact %s: no URL to download it from", a.Name)
	}
	resp, err := c.send(ctx, http.MethodGet, a.URL, nil)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()

	h := sha256.New()
	n, err := io.Copy(io.MultiWriter(w, h), resp.Body)
	if err != nil {
		return n, fmt.Errorf("download %s: %w", a.Name, err)
	}
	if a.SHA256 != "" {
		if got := hex.EncodeToString(h.Sum(nil)); got != a.SHA256 {
			return n, &ChecksumError{Name: a.Name, Want: "sha256 " + a.SHA256, Got: "sha256 " + got}
		}
	}
	if a.SHA256 != "" && n != a.Size {
		return n, &ChecksumError{Name: a.Name, Want: strconv.FormatInt(a.Size, 10) + " bytes",
			Got: strconv.FormatInt(n, 10) + " bytes"}
	}
	return n, nil
}

// LogKind selects one of a session's logs.
type LogKind string

// The logs of a session.
const (
	LogConsole LogKind = "console"
	LogNetwork LogKind = "network"
)

// LogOptions selects a page of GET /logs; zero fields take the API's default.
type LogOptions struct {
	// Kind is one log, or both when empty.
	Kind LogKind
	// Offset skips this many records of each log.
	Offset int
	// Limit is at most this many records of each log.
	Limit int
}

// Logs is the body of GET /logs.
type Logs struct {
	SessionID string          `json:"sessionId"`
	Console   []ConsoleRecord `json:"console"`
	Network   []NetworkRecord `json:"network"`
}

// ConsoleRecord is a console message, page error ("pageerror") or dialog.
type ConsoleRecord struct {
	Time time.Time `json:"time"`
	Type string    `json:"type"`
	Text string    `json:"text"`
	URL  string    `json:"url"`
	Line int       `json:"line"`
	Page string    `json:"page"`
}

// NetworkRecord is one request a session's pages made.
type NetworkRecord struct {
	Time         time.Time `json:"time"`
	Method       string    `json:"method"`
	URL          string    `json:"url"`
	Status       int       `json:"status"`
	ResourceType string    `json:"resourceType"`
	Bytes        int64     `json:"bytes"`
	DurationMs   float64   `json:"durationMs"`
	Failure      string    `json:"failure"`
}

// Logs returns a page of a session's console and network logs.
func (c *Client) Logs(ctx context.Context, sessionID string, opts LogOptions) (*Logs, error) {
	q := url.Values{"session": {sessionID}}
	if opts.Kind != "" {
		q.Set("kind", string(opts.Kind))
	}
	if opts.Offset > 0 {
		q.Set("offset", strconv.Itoa(opts.Offset))
	}
	if opts.Limit > 0 {
		q.Set("limit", strconv.Itoa(opts.Limit))
	}
	var logs Logs
	if _, err := c.call(ctx, http.MethodGet, "/logs?"+q.Encode(), nil, &logs); err != nil {
		return nil, err
	}
	return &logs, nil
}
