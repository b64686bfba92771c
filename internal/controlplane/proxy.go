package controlplane

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/camo-fleet/camo-fleet/internal/httpx"
	"github.com/camo-fleet/camo-fleet/internal/relay"
)

// forward sends a request to a worker and returns its status and body.
func (s *Service) forward(r *http.Request, wk *worker, method, path string,
	body []byte) (int, []byte, error) {
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(r.Context(), method, s.pool.baseOf(wk)+path, rd)
	if err != nil {
		return 0, nil, err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := s.pool.http.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	return resp.StatusCode, out, err
}

// proxySession passes POST /sessions/{id}/actions to the session's worker.
func (s *Service) proxySession(w http.ResponseWriter, r *http.Request) {
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		s.fail(w, r, &httpx.FieldError{Field: "Content-Type", Reason: "must be application/json"})
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.cfg.MaxBodyBytes))
	if err != nil {
		s.fail(w, r, fmt.Errorf("%w: %v", httpx.ErrTooLarge, err))
		return
	}
	wk, id, ok := s.liveSessionWorker(w, r, r.PathValue("id"))
	if !ok {
		return
	}
	status, out, err := s.forward(r, wk, "POST", "/sessions/"+id+"/actions", body)
	if err != nil {
		s.fail(w, r, fmt.Errorf("%w: %v", errWorkerGone, err))
		return
	}
	s.audit(r, "session.actions", id, "")
	writeRaw(w, status, out)
}

// proxyWS relays a Direct client to the session's worker, which checks the
// token and relays on to the browser.
func (s *Service) proxyWS(w http.ResponseWriter, r *http.Request) {
	if err := relay.CheckUpgrade(r); err != nil {
		httpx.WriteJSON(w, http.StatusBadRequest, httpx.ErrorBody("bad_upgrade", err.Error(), ""))
		return
	}
	wk, id, ok := s.directSessionWorker(w, r, r.PathValue("id"))
	if !ok {
		return
	}
	// TODO: the worker's refusals of the handshake (401 token_invalid, 409
	// client_connected) reach the client as relay.Serve's 502: it does not
	// pass the backend's answer on. A relay option to return it would let
	// them through.
	target := strings.Replace(s.pool.baseOf(wk), "http", "ws", 1) + "/sessions/" + id + "/ws?" +
		r.URL.RawQuery
	res, err := relay.Serve(context.Background(), w, r, target, relay.Options{
		Logger: s.log.With("session_id", id, "worker_id", wk.id)})
	s.log.Debug("client relay ended", "session_id", id, "closed_by", res.ClosedBy, "err", err)
}

// listArtifacts passes GET /artifacts to the session's worker and points the
// download URLs at this control-plane.
func (s *Service) listArtifacts(w http.ResponseWriter, r *http.Request) {
	id := r.URL.Query().Get("session")
	if id == "" {
		s.fail(w, r, &httpx.FieldError{Field: "session", Reason: "is required: a session id"})
		return
	}
	wk, id, ok := s.sessionWorker(w, r, id)
	if !ok {
		return
	}
	status, body, err := s.forward(r, wk, "GET", "/artifacts?session="+id, nil)
	if err != nil {
		s.fail(w, r, fmt.Errorf("%w: %v", errWorkerGone, err))
		return
	}
	writeRaw(w, status, body)
}

// downloadArtifact streams an artifact from the session's worker.
func (s *Service) downloadArtifact(w http.ResponseWriter, r *http.Request) {
	wk, id, ok := s.sessionWorker(w, r, r.PathValue("id"))
	if !ok {
		return
	}
	req, err := http.NewRequestWithContext(r.Context(), "GET",
		s.pool.baseOf(wk)+"/artifacts/"+id+"/"+r.PathValue("name"), nil)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	for _, h := range []string{"Range", "If-Range", "If-Modified-Since", "If-Unmodified-Since",
		"If-Match", "If-None-Match"} {
		if v := r.Header.Get(h); v != "" {
			req.Header.Set(h, v)
		}
	}
	resp, err := s.pool.http.Do(req)
	if err != nil {
		s.fail(w, r, fmt.Errorf("%w: %v", errWorkerGone, err))
		return
	}
	defer resp.Body.Close()
	for _, h := range []string{"Content-Type", "Content-Length", "Content-Disposition", "Content-Range",
		"Accept-Ranges", "Digest", "X-Content-Type-Options", "Last-Modified", "ETag"} {
		if v := resp.Header.Get(h); v != "" {
			w.Header().Set(h, v)
		}
	}
	w.WriteHeader(resp.StatusCode)
	_, _ = io.Copy(w, resp.Body)
	if resp.StatusCode == http.StatusOK {
		s.audit(r, "artifact.download", id, r.PathValue("name"))
	}
}

// logs passes GET /logs to the session's worker.
func (s *Service) logs(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	id := q.Get("session")
	if id == "" {
		s.fail(w, r, &httpx.FieldError{Field: "session", Reason: "is required: a session id"})
		return
	}
	wk, _, ok := s.sessionWorker(w, r, id)
	if !ok {
		return
	}
	status, body, err := s.forward(r, wk, "GET", "/logs?"+q.Encode(), nil)
	if err != nil {
		s.fail(w, r, fmt.Errorf("%w: %v", errWorkerGone, err))
		return
	}
	writeRaw(w, status, body)
}
