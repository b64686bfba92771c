// Package metrics defines the Prometheus metrics of a worker. Every metric
// lives on one registry that the worker serves at /metrics.
package metrics

import (
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Worker holds a worker's metrics.
type Worker struct {
	Registry      *prometheus.Registry
	Active        *prometheus.GaugeVec
	Started       *prometheus.CounterVec
	Ended         *prometheus.CounterVec
	StartLatency  *prometheus.HistogramVec
	Navigation    *prometheus.HistogramVec
	Steps         *prometheus.CounterVec
	ArtifactBytes *prometheus.CounterVec
	Errors        *prometheus.CounterVec
	PolicyBlocks  prometheus.Counter
	Capacity      prometheus.Gauge
}

// NewWorker registers the worker metrics on a fresh registry.
func NewWorker() *Worker {
	m := &Worker{
		Registry: prometheus.NewRegistry(),
		Active: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "camofleet_sessions_active", Help: "Sessions not yet ended, by engine and mode.",
		}, []string{"engine", "mode"}),
		Started: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "camofleet_sessions_started_total", Help: "Sessions whose browser became ready.",
		}, []string{"engine", "mode"}),
		Ended: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "camofleet_sessions_ended_total", Help: "Sessions ended, by end reason.",
		}, []string{"engine", "mode", "reason"}),
		StartLatency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "camofleet_session_start_seconds", Help: "Time from create to ready.",
			Buckets: []float64{.25, .5, 1, 2, 3, 5, 8, 13, 21, 34, 60},
		}, []string{"engine"}),
		Navigation: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "camofleet_navigation_seconds", Help: "Duration of Managed goto steps.",
			Buckets: prometheus.ExponentialBuckets(0.01, 2.5, 10),
		}, []string{"engine"}),
		Steps: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "camofleet_steps_total", Help: "Managed steps run, by action and status.",
		}, []string{"action", "status"}),
		ArtifactBytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "camofleet_artifact_bytes_total", Help: "Bytes of artifacts kept, by kind.",
		}, []string{"kind"}),
		Errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "camofleet_errors_total", Help: "Errors, by code.",
		}, []string{"code"}),
		PolicyBlocks: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "camofleet_url_policy_blocks_total", Help: "Navigations blocked by the URL policy.",
		}),
		Capacity: prometheus.NewGauge(prometheus.GaugeOpts{
			Name: "camofleet_worker_capacity", Help: "Sessions this worker runs at once (MAX_SESSIONS).",
		}),
	}
	m.Registry.MustRegister(m.Active, m.Started, m.Ended, m.StartLatency, m.Navigation,
		m.Steps, m.ArtifactBytes, m.Errors, m.PolicyBlocks, m.Capacity,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Handler serves the registry in the Prometheus text format.
func (m *Worker) Handler() http.Handler {
	return promhttp.HandlerFor(m.Registry, promhttp.HandlerOpts{})
}

// Since is a small helper for histogram observations.
func Since(t time.Time) float64 { return time.Since(t).Seconds() }
