package controlplane

import (
	"errors"
	"fmt"
	"net/http"
	"runtime/debug"
	"strconv"
	"strings"

	"github.com/camo-fleet/camo-fleet/internal/httpx"
	"github.com/camo-fleet/camo-fleet/internal/registry"
	"github.com/camo-fleet/camo-fleet/internal/steps"
)

// Routing errors.
var (
	errNotFound      = errors.New("not found")
	errWorkerGone    = errors.New("the session's worker is not reachable")
	errNoRoute       = errors.New("no such endpoint")
	errWorkerRefused = errors.New("worker refused the request")
	errWorkersFull   = errors.New("the workers had no room after all")
	errEnded         = errors.New("the session has ended")
	errWrongMode     = errors.New("the session is of the other mode")
)

// Handler returns the Control API.
func (s *Service) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /health", s.health)
	mux.Handle("GET /metrics", s.metricsHandler())
	mux.HandleFunc("GET /status", s.status)
	mux.Handle("GET /events", s.hub)
	mux.HandleFunc("POST /sessions", s.createSession)
	mux.HandleFunc("GET /sessions", s.listSessions)
	mux.HandleFunc("GET /sessions/{id}", s.getSession)
	mux.HandleFunc("DELETE /sessions/{id}", s.deleteSession)
	mux.HandleFunc("POST /sessions/{id}/actions", s.proxySession)
	mux.HandleFunc("GET /sessions/{id}/ws", s.proxyWS)
	mux.HandleFunc("GET /artifacts", s.listArtifacts)
	mux.HandleFunc("GET /artifacts/{id}/{name...}", s.downloadArtifact)
	mux.HandleFunc("GET /logs", s.logs)
	mux.HandleFunc("GET /workers", s.listWorkers)
	mux.HandleFunc("POST /workers", s.registerWorker)
	mux.HandleFunc("GET /audit", s.listAudit)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.fail(w, r, fmt.Errorf("%w: %s %s", errNoRoute, r.Method, r.URL.Path))
	})
	return s.recoverPanics(mux)
}

// statusOf maps errors to statuses and codes, in one table.
var statusOf = []struct {
	err    error
	status int
	code   string
}{
	{errNotFound, http.StatusNotFound, "not_found"},
	{registry.ErrNotFound, http.StatusNotFound, "not_found"},
	{errNoRoute, http.StatusNotFound, "no_route"},
	{errEnded, http.StatusConflict, "session_ended"},
	{errWrongMode, http.StatusConflict, "wrong_mode"},
	{ErrNoEngine, http.StatusServiceUnavailable, "engine_unavailable"},
	{errWorkerGone, http.StatusServiceUnavailable, "worker_unavailable"},
	{ErrQueueFull, http.StatusTooManyRequests, "queue_full"},
	{ErrQueueTimeout, http.StatusTooManyRequests, "queue_timeout"},
	{errWorkersFull, http.StatusTooManyRequests, "capacity"},
	{registry.ErrInvalidCursor, http.StatusBadRequest, "invalid_field"},
	{httpx.ErrBadRequest, http.StatusBadRequest, "bad_request"},
	{httpx.ErrTooLarge, http.StatusRequestEntityTooLarge, "body_too_large"},
}

// fail answers with the status and JSON body that fit err.
func (s *Service) fail(w http.ResponseWriter, r *http.Request, err error) {
	if r.Context().Err() != nil {
		s.log.Debug("client went away", "path", r.URL.Path, "err", err)
		return
	}
	var fe *httpx.FieldError
	if errors.As(err, &fe) {
		httpx.WriteJSON(w, http.StatusBadRequest, httpx.ErrorBody("invalid_field", fe.Error(), fe.Field))
		return
	}
	var se *steps.FieldError
	if errors.As(err, &se) {
		field, code := "steps", "invalid_field"
		if se.Field != "" {
			field = se.Field
		}
		if se.Code != "" {
			code = strings.ToLower(se.Code) // the worker's codes, e.g. unsupported_by_engine
		}
		httpx.WriteJSON(w, http.StatusBadRequest, httpx.ErrorBody(code, se.Error(), field))
		return
	}
	for _, m := range statusOf {
		if errors.Is(err, m.err) {
			if m.status == http.StatusTooManyRequests {
				w.Header().Set("Retry-After", strconv.Itoa(s.sched.RetryAfter()))
				s.metrics.rejected.WithLabelValues(m.code).Inc()
			}
			s.log.Debug("request refused", "path", r.URL.Path, "status", m.status, "err", err)
			httpx.WriteJSON(w, m.status, httpx.ErrorBody(m.code, err.Error(), ""))
			return
		}
	}
	s.log.Error("request failed", "path", r.URL.Path, "err", err)
	httpx.WriteJSON(w, http.StatusInternalServerError,
		httpx.ErrorBody("internal", "internal error; see the control-plane log", ""))
}

func (s *Service) recoverPanics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.log.Error("handler panic", "path", r.URL.Path, "panic", v, "stack", string(debug.Stack()))
				httpx.WriteJSON(w, http.StatusInternalServerError,
					httpx.ErrorBody("internal", "internal error; see the control-plane log", ""))
			}
		}()
		next.ServeHTTP(w, r)
	})
}
