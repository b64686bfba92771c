package worker

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"

	"github.com/camo-fleet/camo-fleet/internal/artifact"
	"github.com/camo-fleet/camo-fleet/internal/session"
)

// maxLogLines bounds one page of logs.
const maxLogLines = 5000

// Logs is the body of GET /logs.
type Logs struct {
	SessionID string            `json:"sessionId"`
	Console   []json.RawMessage `json:"console"`
	Network   []json.RawMessage `json:"network"`
}

func (s *Server) logs(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	id := q.Get("session")
	if id == "" {
		writeError(w, r, s.log, &session.FieldError{Field: "session", Reason: "is required: a session id"})
		return
	}
	kind := q.Get("kind")
	if kind != "" && kind != "console" && kind != "network" {
		writeError(w, r, s.log, &session.FieldError{Field: "kind", Reason: "must be console or network"})
		return
	}
	offset, limit, err := logPaging(q.Get("offset"), q.Get("limit"))
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	dir, _, ok := s.sessionDir(id)
	if !ok {
		writeError(w, r, s.log, fmt.Errorf("%w: %s", session.ErrNotFound, id))
		return
	}
	out := Logs{SessionID: id, Console: []json.RawMessage{}, Network: []json.RawMessage{}}
	for _, k := range []struct {
		name string
		dst  *[]json.RawMessage
	}{{"console", &out.Console}, {"network", &out.Network}} {
		if kind != "" && kind != k.name {
			continue
		}
		lines, err := artifact.TailJSONL(filepath.Join(dir, k.name+".jsonl"), offset, limit)
		if err != nil && !errors.Is(err, os.ErrNotExist) {
			writeError(w, r, s.log, err)
			return
		}
		if lines != nil {
			*k.dst = lines
		}
	}
	writeJSON(w, http.StatusOK, out)
}

func logPaging(offsetS, limitS string) (offset, limit int, err error) {
	limit = 1000
	if offsetS != "" {
		if offset, err = strconv.Atoi(offsetS); err != nil || offset < 0 {
			return 0, 0, &session.FieldError{Field: "offset", Reason: "must be a whole number ≥ 0"}
		}
	}
	if limitS != "" {
		if limit, err = strconv.Atoi(limitS); err != nil || limit < 1 || limit > maxLogLines {
			return 0, 0, &session.FieldError{Field: "limit", Reason: fmt.Sprintf("must be 1..%d", maxLogLines)}
		}
	}
	return offset, limit, nil
}
