// Package controlplane is the fleet's brain: it knows every worker and every
// session (in the registry), schedules new sessions on the least-loaded
// worker with a bounded queue, streams changes on /events, and proxies
// session commands, websockets, artifacts and logs to the workers, so clients
// and the UI only ever talk to the control-plane.
package controlplane

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/camo-fleet/camo-fleet/internal/events"
	"github.com/camo-fleet/camo-fleet/internal/registry"
)

// Config holds the control-plane's settings.
type Config struct {
	Workers           []string      // static worker URLs (WORKERS)
	PublicURL         string        // base URL clients use; empty = from the request
	HeartbeatInterval time.Duration // worker health probes
	WorkerDownAfter   time.Duration // silence after which a worker is down and its sessions lost
	QueueMax          int
	QueueTimeout      time.Duration
	MaxBodyBytes      int64
	Version           string
}

// Service is a running control-plane.
type Service struct {
	cfg     Config
	store   registry.Store
	hub     *events.Hub
	pool    *Pool
	sched   *Scheduler
	metrics *cpMetrics
	log     *slog.Logger
}

// New returns a control-plane over store; call Run to start its loops.
func New(cfg Config, store registry.Store, log *slog.Logger) *Service {
	hub := events.New(store, events.Options{Origin: originOf, DedupeWindow: dedupeWindow}, log)
	pool := newPool(cfg, store, hub, log)
	return &Service{cfg: cfg, store: store, hub: hub, pool: pool,
		sched: newScheduler(pool, cfg.QueueMax, cfg.QueueTimeout), metrics: newCPMetrics(), log: log}
}

// Run starts the event fan-out and the worker pool; it returns when ctx ends.
func (s *Service) Run(ctx context.Context) {
	go s.hub.Run(ctx)
	s.pool.Run(ctx)
}

// AddWorker registers a worker by URL (as a static one when static).
func (s *Service) AddWorker(ctx context.Context, url string, static bool) (WorkerStatus, error) {
	return s.pool.Add(ctx, url, static)
}

// settlePoll is how often Settle looks at the registry.
const settlePoll = 50 * time.Millisecond

// Settle waits until the registry has no running session on workerID: the
// end events of a worker that shut down have been stored. It gives up when
// ctx ends.
func (s *Service) Settle(ctx context.Context, workerID string) error {
	for {
		list, _, err := s.store.ListSessions(ctx, registry.SessionFilter{States: runningStates,
			WorkerID: workerID, Limit: 1})
		if err == nil && len(list) == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("sessions of worker %s still running in the registry: %w", workerID,
				ctx.Err())
		case <-time.After(settlePoll):
		}
	}
}

// cpMetrics are the control-plane's Prometheus metrics.
type cpMetrics struct {
	reg      *prometheus.Registry
	created  *prometheus.CounterVec
	rejected *prometheus.CounterVec
	queued   prometheus.Gauge
	running  prometheus.Gauge
	workers  *prometheus.GaugeVec
	queueSec prometheus.Histogram
}

func newCPMetrics() *cpMetrics {
	m := &cpMetrics{
		reg: prometheus.NewRegistry(),
		created: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "camofleet_cp_sessions_created_total",
			Help: "Sessions the control-plane created on a worker."}, []string{"engine"}),
		rejected: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "camofleet_cp_sessions_rejected_total",
			Help: "Create requests refused, by reason."}, []string{"reason"}),
		queued: prometheus.NewGauge(prometheus.GaugeOpts{Name: "camofleet_cp_queue_length",
			Help: "Create requests waiting for a slot."}),
		running: prometheus.NewGauge(prometheus.GaugeOpts{Name: "camofleet_cp_sessions_running",
			Help: "Sessions holding a slot on a worker."}),
		workers: prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "camofleet_cp_workers",
			Help: "Workers by state."}, []string{"state"}),
		queueSec: prometheus.NewHistogram(prometheus.HistogramOpts{Name: "camofleet_cp_queue_wait_seconds",
			Help: "Time create requests waited for a slot.", Buckets: prometheus.ExponentialBuckets(0.01, 3, 10)}),
	}
	m.reg.MustRegister(m.created, m.rejected, m.queued, m.running, m.workers, m.queueSec,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

func (s *Service) metricsHandler() http.Handler {
	h := promhttp.HandlerFor(s.metrics.reg, promhttp.HandlerOpts{})
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s.refreshGauges()
		h.ServeHTTP(w, r)
	})
}

func (s *Service) refreshGauges() {
	s.metrics.queued.Set(float64(s.sched.Len()))
	running, up, down := 0, 0, 0
	for _, w := range s.pool.Workers() {
		running += w.Active
		if w.State == "up" {
			up++
		} else {
			down++
		}
	}
	s.metrics.running.Set(float64(running))
	s.metrics.workers.WithLabelValues("up").Set(float64(up))
	s.metrics.workers.WithLabelValues("down").Set(float64(down))
}
