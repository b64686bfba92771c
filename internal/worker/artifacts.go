package worker

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"

	"github.com/camo-fleet/camo-fleet/internal/artifact"
	"github.com/camo-fleet/camo-fleet/internal/session"
)

// ArtifactList is the body of GET /artifacts.
type ArtifactList struct {
	SessionID string              `json:"sessionId"`
	Artifacts []artifact.Artifact `json:"artifacts"`
}

func (s *Server) listArtifacts(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Query().Get("session")
	if id == "" {
		writeError(w, r, s.log, &session.FieldError{Field: "session", Reason: "is required: a session id"})
		return
	}
	dir, live, ok := s.sessionDir(id)
	if !ok {
		writeError(w, r, s.log, fmt.Errorf("%w: %s", session.ErrNotFound, id))
		return
	}
	var list []artifact.Artifact
	if live != nil {
		list = live.Artifacts()
	} else {
		var err error
		if list, err = artifact.ReadManifest(dir); err != nil && !errors.Is(err, os.ErrNotExist) {
			writeError(w, r, s.log, err)
			return
		}
	}
	if list == nil {
		list = []artifact.Artifact{}
	}
	for i := range list {
		list[i].URL = "/artifacts/" + id + "/" + escapePath(list[i].Name)
	}
	writeJSON(w, http.StatusOK, ArtifactList{SessionID: id, Artifacts: list})
}

func escapePath(name string) string {
	parts := strings.Split(name, "/")
	for i, p := range parts {
		parts[i] = url.PathEscape(p)
	}
	return strings.Join(parts, "/")
}

// downloadArtifact serves one listed artifact; names that are not listed, or
// that would leave the session folder, are 404.
func (s *Server) downloadArtifact(w http.ResponseWriter, r *http.Request) {
	id, name := r.PathValue("id"), r.PathValue("name")
	dir, live, ok := s.sessionDir(id)
	if !ok {
		writeError(w, r, s.log, fmt.Errorf("%w: %s", session.ErrNotFound, id))
		return
	}
	a, found := s.findArtifact(dir, live, name)
	if !found {
		writeError(w, r, s.log, fmt.Errorf("%w: no artifact %q in session %s", session.ErrNotFound, name, id))
		return
	}
	path, err := artifact.Resolve(dir, a.Name)
	if err != nil {
		writeError(w, r, s.log, fmt.Errorf("%w: %v", session.ErrNotFound, err))
		return
	}
	f, err := os.Open(path)
	if err != nil {
		writeError(w, r, s.log, fmt.Errorf("%w: artifact file is gone: %v", session.ErrNotFound, err))
		return
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	w.Header().Set("Content-Type", a.ContentType)
	w.Header().Set("Content-Disposition", fmt.Sprintf("attachment; filename=%q", filepath.Base(a.Name)))
	w.Header().Set("X-Content-Type-Options", "nosniff")
	w.Header().Set("Digest", "sha-256="+a.SHA256)
	http.ServeContent(w, r, "", st.ModTime(), f)
}

func (s *Server) findArtifact(dir string, live *session.Session, name string) (artifact.Artifact, bool) {
	var list []artifact.Artifact
	if live != nil {
		list = live.Artifacts()
	} else {
		list, _ = artifact.ReadManifest(dir)
	}
	for _, a := range list {
		if a.Name == name {
			return a, true
		}
	}
	return artifact.Artifact{}, false
}
