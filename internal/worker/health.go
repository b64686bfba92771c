package worker

import (
	"net/http"
	"time"

	"github.com/camo-fleet/camo-fleet/internal/engine"
)

// Health is the body of GET /health.
type Health struct {
	Status    string                `json:"status"`
	WorkerID  string                `json:"workerId"`
	Version   string                `json:"version"`
	BootID    string                `json:"bootId"`
	UptimeSec int64                 `json:"uptimeSec"`
	Engines   []engine.Availability `json:"engines"`
	Capacity  int                   `json:"capacity"`
	Active    int                   `json:"active"`
}

func (s *Server) health(w http.ResponseWriter, _ *http.Request) {
	max, active := s.mgr.Capacity()
	status := "ok"
	available := 0
	for _, e := range s.engines.List() {
		if e.Available {
			available++
		}
	}
	if available == 0 {
		status = "degraded"
	}
	writeJSON(w, http.StatusOK, Health{Status: status, WorkerID: s.cfg.WorkerID,
		Version: s.cfg.Version, BootID: s.bootID, UptimeSec: int64(time.Since(s.started).Seconds()),
		Engines: s.engines.List(), Capacity: max, Active: active})
}
