package controlplane

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/camo-fleet/camo-fleet/internal/api"
	"github.com/camo-fleet/camo-fleet/internal/httpx"
	"github.com/camo-fleet/camo-fleet/internal/registry"
)

// Status is the body of GET /status.
type Status struct {
	Version     string            `json:"version"`
	Workers     []WorkerStatus    `json:"workers"`
	Sessions    map[api.State]int `json:"sessions"`
	Queue       int               `json:"queue"`
	Capacity    int               `json:"capacity"`
	Running     int               `json:"running"`
	Subscribers int               `json:"eventSubscribers"`
	LastEventID int64             `json:"lastEventId"`
}

func (s *Service) status(w http.ResponseWriter, r *http.Request) {
	counts, err := s.store.CountSessions(r.Context())
	if err != nil {
		s.fail(w, r, err)
		return
	}
	st := Status{Version: s.cfg.Version, Workers: s.pool.Workers(), Sessions: counts,
		Queue: s.sched.Len(), Subscribers: s.hub.Subscribers(), LastEventID: s.hub.LastID()}
	for _, wk := range st.Workers {
		if wk.State == "up" {
			st.Capacity += wk.Capacity
			st.Running += wk.Active
		}
	}
	httpx.WriteJSON(w, http.StatusOK, st)
}

func (s *Service) health(w http.ResponseWriter, r *http.Request) {
	if _, err := s.store.LatestEventID(r.Context()); err != nil {
		httpx.WriteJSON(w, http.StatusServiceUnavailable,
			httpx.ErrorBody("registry_unavailable", err.Error(), ""))
		return
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"status": "ok", "version": s.cfg.Version,
		"workers": len(s.pool.Workers())})
}

func (s *Service) listWorkers(w http.ResponseWriter, _ *http.Request) {
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"workers": s.pool.Workers()})
}

// registerRequest is the body of POST /workers.
type registerRequest struct {
	URL string `json:"url"`
}

// registerWorker adds (or refreshes) a worker that announced itself.
func (s *Service) registerWorker(w http.ResponseWriter, r *http.Request) {
	var req registerRequest
	if err := httpx.Decode(w, r, s.cfg.MaxBodyBytes, &req); err != nil {
		s.fail(w, r, err)
		return
	}
	if !strings.HasPrefix(req.URL, "http://") && !strings.HasPrefix(req.URL, "https://") {
		s.fail(w, r, &httpx.FieldError{Field: "url", Reason: "must be an http(s) URL of the worker"})
		return
	}
	st, err := s.pool.Add(r.Context(), req.URL, false)
	if errors.Is(err, ErrWorkerIDTaken) {
		httpx.WriteJSON(w, http.StatusConflict,
			httpx.ErrorBody("worker_id_taken", err.Error(), "url"))
		return
	}
	if err != nil {
		httpx.WriteJSON(w, http.StatusBadGateway, httpx.ErrorBody("worker_unreachable", err.Error(), "url"))
		return
	}
	s.audit(r, "worker.register", st.ID, req.URL)
	httpx.WriteJSON(w, http.StatusOK, st)
}

func (s *Service) listAudit(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	f := registry.AuditFilter{Actor: q.Get("actor"), Action: q.Get("action"), Target: q.Get("target")}
	if v := q.Get("limit"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			s.fail(w, r, &httpx.FieldError{Field: "limit", Reason: "must be a whole number ≥ 1"})
			return
		}
		f.Limit = n
	}
	list, err := s.store.ListAudit(r.Context(), f)
	if err != nil {
		s.fail(w, r, err)
		return
	}
	out := make([]map[string]any, 0, len(list))
	for _, a := range list {
		out = append(out, map[string]any{"id": a.ID, "time": a.Time, "actor": a.Actor, "role": a.Role,
			"action": a.Action, "target": a.Target, "detail": a.Detail, "remoteAddr": a.RemoteAddr})
	}
	httpx.WriteJSON(w, http.StatusOK, map[string]any{"audit": out})
}

// audit records who did what; until authentication lands every caller is
// "anonymous".
func (s *Service) audit(r *http.Request, action, target, detail string) {
	_, err := s.store.AppendAudit(r.Context(), registry.Audit{Time: time.Now().UTC(), Actor: "anonymous",
		Action: action, Target: target, Detail: detail, RemoteAddr: r.RemoteAddr})
	if err != nil {
		s.log.Warn("audit write failed", "action", action, "target", target, "err", err)
	}
}
