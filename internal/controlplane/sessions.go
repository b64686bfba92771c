package controlplane

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/camo-fleet/camo-fleet/internal/api"
	"github.com/camo-fleet/camo-fleet/internal/engine"
	"github.com/camo-fleet/camo-fleet/internal/httpx"
	"github.com/camo-fleet/camo-fleet/internal/registry"
	"github.com/camo-fleet/camo-fleet/internal/steps"
)

// createAttempts bounds how often a create is retried on another worker
// after a worker answered "full" (its capacity changed meanwhile).
const createAttempts = 3

// SessionPage is the body of GET /sessions on the control-plane.
type SessionPage struct {
	Sessions []api.Session `json:"sessions"`
	Next     string        `json:"next,omitempty"`
}

func (s *Service) createSession(w http.ResponseWriter, r *http.Request) {
	var req api.CreateSessionRequest
	if err := httpx.Decode(w, r, s.cfg.MaxBodyBytes, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	if err := checkCreate(req); err != nil {
		s.fail(w, r, err)
		return
	}
	body, _ := json.Marshal(req)
	began := time.Now()
	for attempt := 1; ; attempt++ {
		wk, err := s.sched.Acquire(r.Context(), req.Engine)
		if err != nil {
			s.fail(w, r, err)
			return
		}
		s.metrics.queueSec.Observe(time.Since(began).Seconds())
		status, resp, err := s.forwardCreate(r.Context(), wk, body)
		if err == nil && status == http.StatusCreated {
			s.created(w, r, wk, resp, req)
			return
		}
		s.pool.release(wk, nil)
		switch {
		case err != nil:
			s.fail(w, r, fmt.Errorf("%w: %s: %v", errWorkerGone, wk.id, err))
		case status == http.StatusTooManyRequests && attempt < createAttempts:
			// The worker is fuller than this control-plane counted (sessions
			// created past it): try again, on another worker if one has room.
			s.log.Debug("worker refused a create for lack of room", "worker_id", wk.id)
			continue
		case status == http.StatusTooManyRequests:
			s.fail(w, r, fmt.Errorf("%w (worker %s)", errWorkersFull, wk.id))
		default:
			writeRaw(w, status, resp)
		}
		return
	}
}

// knownEngines are the engine names every worker knows.
var knownEngines = engine.New("", "", "")

// checkCreate refuses, before the request can wait in the queue, what every
// worker would refuse: a missing or unknown mode or engine, and steps that
// do not parse. The rest (viewport, labels, TTLs, what a worker allows)
// is left to the worker.
func checkCreate(req api.CreateSessionRequest) error {
	switch {
	case req.Mode != api.ModeDirect && req.Mode != api.ModeManaged:
		return &httpx.FieldError{Field: "mode",
			Reason: fmt.Sprintf("must be direct or managed, got %q", req.Mode)}
	case !knownEngines.Known(req.Engine):
		return &httpx.FieldError{Field: "engine", Reason: fmt.Sprintf("must be one of %v, got %q",
			knownEngines.Names(), req.Engine)}
	case len(req.Steps) > 0:
		_, err := steps.Parse(req.Steps, steps.Limits{Engine: req.Engine, AllowEvaluate: true})
		return err
	}
	return nil
}

func (s *Service) forwardCreate(ctx context.Context, wk *worker, body []byte) (int, []byte, error) {
	req, err := http.NewRequestWithContext(ctx, "POST", s.pool.baseOf(wk)+"/sessions",
		bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := s.pool.http.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	return resp.StatusCode, out, err
}

// created records a new session and answers with the worker's body, its
// wsEndpoint pointing at the control-plane.
func (s *Service) created(w http.ResponseWriter, r *http.Request, wk *worker, raw []byte,
	req api.CreateSessionRequest) {
	var sess api.Session
	if err := json.Unmarshal(raw, &sess); err != nil {
		s.pool.release(wk, nil)
		s.fail(w, r, fmt.Errorf("decode worker answer: %w", err))
		return
	}
	sess.WorkerID = wk.id
	s.pool.release(wk, &sess)
	if sess.WSEndpoint != "" {
		sess.WSEndpoint = s.rewriteWS(r, sess.ID, sess.WSEndpoint)
	}
	// Stored at once so GET /sessions/{id} works right after the 201; the
	// worker's event stream publishes the events, and may have stored a
	// later state already.
	s.pool.storeSession(r.Context(), withoutEndpoint(sess))
	s.metrics.created.WithLabelValues(req.Engine).Inc()
	s.audit(r, "session.create", sess.ID,
		fmt.Sprintf("engine=%s mode=%s worker=%s", req.Engine, req.Mode, wk.id))
	w.Header().Set("Location", "/sessions/"+sess.ID)
	httpx.WriteJSON(w, http.StatusCreated, sess)
}

func withoutEndpoint(s api.Session) api.Session { s.WSEndpoint = ""; return s }

// rewriteWS keeps the worker's token and points the endpoint at this
// control-plane, which relays to the worker.
func (s *Service) rewriteWS(r *http.Request, id, workerWS string) string {
	token := ""
	if u, err := url.Parse(workerWS); err == nil {
		token = u.Query().Get("token")
	}
	base := s.cfg.PublicURL
	if base == "" {
		scheme := "http"
		if r.TLS != nil || r.Header.Get("X-Forwarded-Proto") == "https" {
			scheme = "https"
		}
		base = scheme + "://" + r.Host
	}
	base = strings.TrimSuffix(base, "/")
	base = strings.Replace(strings.Replace(base, "https://", "wss://", 1), "http://", "ws://", 1)
	return base + "/sessions/" + id + "/ws?token=" + url.QueryEscape(token)
}

func (s *Service) listSessions(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := registry.SessionFilter{Engine: q.Get("engine"), WorkerID: q.Get("worker"),
		Owner: q.Get("owner"), Cursor: q.Get("cursor")}
	for _, st := range q["state"] {
		for _, one := range strings.Split(st, ",") {
			if !knownState(api.State(one)) {
				s.fail(w, r, &httpx.FieldError{Field: "state",
					Reason: fmt.Sprintf("unknown state %q", one)})
				return
			}
			f.States = append(f.States, api.State(one))
		}
	}
	if lbl := q["label"]; len(lbl) > 0 {
		f.Labels = map[string]string{}
		for _, kv := range lbl {
			k, v, ok := strings.Cut(kv, "=")
			if !ok || k == "" {
				s.fail(w, r, &httpx.FieldError{Field: "label", Reason: "must be key=value"})
				return
			}
			f.Labels[k] = v
		}
	}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > registry.MaxLimit {
			s.fail(w, r, &httpx.FieldError{Field: "limit", Reason: fmt.Sprintf("must be 1..%d", registry.MaxLimit)})
			return
		}
		f.Limit = n
	}
	list, next, err := s.store.ListSessions(r.Context(), f)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	page := SessionPage{Sessions: make([]api.Session, 0, len(list)), Next: next}
	for _, rec := range list {
		if v, err := rec.API(); err == nil {
			page.Sessions = append(page.Sessions, v)
		}
	}
	httpx.WriteJSON(w, http.StatusOK, page)
}

// knownState reports whether st is a session state.
func knownState(st api.State) bool {
	return st.Ended() || slices.Contains(runningStates, st)
}

func (s *Service) getSession(w http.ResponseWriter, r *http.Request) {
	rec, err := s.store.GetSession(r.Context(), r.PathValue("id"))
	if err != nil {
		s.fail(w, r, err)
		return
	}
	v, err := rec.API()
	if err != nil {
		s.fail(w, r, err)
		return
	}
	httpx.WriteJSON(w, http.StatusOK, v)
}

func (s *Service) deleteSession(w http.ResponseWriter, r *http.Request) {
	wk, id, ok := s.liveSessionWorker(w, r, r.PathValue("id"))
	if !ok {
		return
	}
	status, body, err := s.forward(r, wk, "DELETE", "/sessions/"+id, nil)
	if err != nil {
		s.fail(w, r, fmt.Errorf("%w: %v", errWorkerGone, err))
		return
	}
	if status/100 == 2 {
		// Stored, and its slot freed, so that a GET or a create right after
		// sees the end; the worker's event stream publishes it.
		var sess api.Session
		if json.Unmarshal(body, &sess) == nil {
			sess.WorkerID = wk.id
			s.pool.storeSession(r.Context(), sess)
			s.pool.note(wk, sess)
		}
		s.audit(r, "session.kill", id, "")
	}
	writeRaw(w, status, body)
}

// sessionWorker finds the worker that runs a session; it answers 404 or
// 503 itself when there is none.
func (s *Service) sessionWorker(w http.ResponseWriter, r *http.Request,
	id string) (*worker, string, bool) {
	return s.findWorker(w, r, id, false, "")
}

// liveSessionWorker is sessionWorker for commands to a running session: one
// the registry has ended gets 409 without asking its worker, which may be
// gone or may have forgotten it.
func (s *Service) liveSessionWorker(w http.ResponseWriter, r *http.Request,
	id string) (*worker, string, bool) {
	return s.findWorker(w, r, id, true, "")
}

// directSessionWorker is liveSessionWorker for the websocket of a Direct
// session.
func (s *Service) directSessionWorker(w http.ResponseWriter, r *http.Request,
	id string) (*worker, string, bool) {
	return s.findWorker(w, r, id, true, api.ModeDirect)
}

// findWorker finds the worker of a session; with live, the session must
// not have ended, and unless mode is empty it must be of that mode.
func (s *Service) findWorker(w http.ResponseWriter, r *http.Request, id string,
	live bool, mode api.Mode) (*worker, string, bool) {
	rec, err := s.store.GetSession(r.Context(), id)
	if err != nil {
		s.fail(w, r, err)
		return nil, "", false
	}
	if live && rec.State.Ended() {
		s.fail(w, r, fmt.Errorf("%w: %s is %s (%s)", errEnded, id, rec.State, rec.Reason))
		return nil, "", false
	}
	if mode != "" && rec.Mode != mode {
		s.fail(w, r, fmt.Errorf("%w: %s is a %s session", errWrongMode, id, rec.Mode))
		return nil, "", false
	}
	wk, up := s.pool.get(rec.WorkerID)
	if !up {
		s.fail(w, r, fmt.Errorf("%w: worker %s of session %s", errWorkerGone, rec.WorkerID, id))
		return nil, "", false
	}
	return wk, rec.ID, true
}

func writeRaw(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
