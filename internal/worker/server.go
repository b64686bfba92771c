// Package worker serves the Worker API over HTTP: sessions, Managed actions,
// the Direct websocket relay, artifacts, logs, health and metrics. Handlers
// parse, act through session.Manager and encode; errors are mapped to
// statuses in one table (errors.go).
package worker

import (
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"strconv"
	"time"

	"github.com/camo-fleet/camo-fleet/internal/engine"
	"github.com/camo-fleet/camo-fleet/internal/metrics"
	"github.com/camo-fleet/camo-fleet/internal/session"
)

// Config holds what the HTTP layer needs beyond the Manager.
type Config struct {
	WorkerID     string
	Version      string
	DataDir      string
	PublicURL    string
	MaxBodyBytes int64
}

// Server is the Worker API.
type Server struct {
	cfg     Config
	mgr     *session.Manager
	engines *engine.Set
	metrics *metrics.Worker
	events  http.Handler
	log     *slog.Logger
	started time.Time
	bootID  string // changes with every start: event ids start over then
}

// New returns the Worker API server.
// events serves GET /events (the session changes as Server-Sent Events).
func New(cfg Config, mgr *session.Manager, engines *engine.Set, m *metrics.Worker,
	events http.Handler, log *slog.Logger) *Server {
	return &Server{cfg: cfg, mgr: mgr, engines: engines, metrics: m, events: events, log: log,
		started: time.Now(), bootID: strconv.FormatInt(time.Now().UnixNano(), 36)}
}

// Handler returns the routes of the Worker API.
func (s *Server) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /health", s.health)
	mux.Handle("GET /metrics", s.metrics.Handler())
	mux.Handle("GET /events", s.events)
	mux.HandleFunc("POST /sessions", s.createSession)
	mux.HandleFunc("GET /sessions", s.listSessions)
	mux.HandleFunc("GET /sessions/{id}", s.getSession)
	mux.HandleFunc("DELETE /sessions/{id}", s.deleteSession)
	mux.HandleFunc("POST /sessions/{id}/actions", s.runActions)
	mux.HandleFunc("GET /sessions/{id}/ws", s.relay)
	mux.HandleFunc("GET /artifacts", s.listArtifacts)
	mux.HandleFunc("GET /artifacts/{id}/{name...}", s.downloadArtifact)
	mux.HandleFunc("GET /logs", s.logs)
	mux.HandleFunc("/", s.notFound)
	return s.recoverPanics(mux)
}

func (s *Server) notFound(w http.ResponseWriter, r *http.Request) {
	writeError(w, r, s.log, errRoute(r))
}

// recoverPanics turns a handler panic into a 500 with a JSON body and a log
// line with the stack, so one bad request cannot take the worker down.
func (s *Server) recoverPanics(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			if v := recover(); v != nil {
				if v == http.ErrAbortHandler {
					panic(v)
				}
				s.log.Error("handler panic", "path", r.URL.Path, "panic", v, "stack", string(debug.Stack()))
				writeJSON(w, http.StatusInternalServerError,
					errorBody("internal", "internal error; see the worker log", ""))
			}
		}()
		next.ServeHTTP(w, r)
	})
}

var idRE = regexp.MustCompile(`^[0-9a-f]{20}$`)

// sessionDir finds the folder of a session, running or left on disk by an
// earlier run; ok is false for ids that name no session.
func (s *Server) sessionDir(id string) (dir string, live *session.Session, ok bool) {
	if sess, err := s.mgr.Get(id); err == nil {
		return sess.Dir(), sess, true
	}
	if !idRE.MatchString(id) {
		return "", nil, false
	}
	dir = filepath.Join(s.cfg.DataDir, "sessions", id)
	if _, err := os.Stat(filepath.Join(dir, "session.json")); err != nil {
		return "", nil, false
	}
	return dir, nil, true
}
