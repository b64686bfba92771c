package app

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/camo-fleet/camo-fleet/internal/config"
	"github.com/camo-fleet/camo-fleet/internal/engine"
	"github.com/camo-fleet/camo-fleet/internal/events"
	"github.com/camo-fleet/camo-fleet/internal/launcher"
	"github.com/camo-fleet/camo-fleet/internal/metrics"
	"github.com/camo-fleet/camo-fleet/internal/procs"
	"github.com/camo-fleet/camo-fleet/internal/registry"
	"github.com/camo-fleet/camo-fleet/internal/session"
	"github.com/camo-fleet/camo-fleet/internal/worker"
)

// Shutdown budget of a worker after SIGTERM: sessions get CLOSE_GRACE_SEC
// each (in parallel) plus this much for artifacts and HTTP.
const shutdownExtra = 30 * time.Second

// Worker is a running worker: its session manager and HTTP handler.
type Worker struct {
	Manager *session.Manager
	Handler http.Handler
	reaper  *procs.Reaper
	cfg     *config.Worker
	log     *slog.Logger
}

// NewWorker prepares a worker: it links ffmpeg, probes the engines, cleans
// what a crashed predecessor left and builds the handler. It starts nothing
// that needs stopping except through Shutdown.
func NewWorker(ctx context.Context, cfg *config.Worker, version string, log *slog.Logger) (*Worker, error) {
	if err := launcher.LinkFFmpeg(cfg.Driver.DriverDir, cfg.Driver.BrowsersPath); err != nil {
		log.Warn("video recording unavailable", "err", err)
	}
	engines := engine.New(cfg.Browsers.Chromium, cfg.Browsers.Firefox, cfg.Browsers.Camoufox)
	engines.Probe(ctx)
	for _, e := range engines.List() {
		log.Info("engine probed", "engine", e.Name, "available", e.Available, "version", e.Version,
			"reason", e.Reason)
	}
	if err := procs.EnableSubreaper(); err != nil {
		log.Warn("cannot become child subreaper; orphans go to init", "err", err)
	}
	reaper := procs.NewReaper(log)
	m := metrics.NewWorker()
	mgr := session.NewManager(session.Config{
		DataDir: cfg.DataDir, WorkerID: cfg.WorkerID, Version: version,
		IdleTTL: cfg.IdleTTL, MaxDuration: cfg.MaxDuration, MaxSessions: cfg.MaxSessions,
		AllowDirect: cfg.AllowDirect, AllowEvaluate: cfg.AllowEvaluate, AllowData: cfg.AllowData,
		StartTimeout: cfg.StartTimeout, CloseGrace: cfg.CloseGrace, WSTokenTTL: cfg.WSTokenTTL,
		StepTimeout: cfg.StepTimeout, CLIPath: cfg.Driver.CLIPath(),
		Driver: launcher.Driver{NodePath: cfg.Driver.NodePath, Script: cfg.Driver.LauncherScript(),
			BrowsersPath: cfg.Driver.BrowsersPath, DataDir: cfg.DataDir},
	}, engines, reaper, m, log)
	if n, err := mgr.Recover(); n > 0 || err != nil {
		log.Warn("cleaned up after a previous worker", "sessions", n, "err", err)
	}
	hub := workerEvents(ctx, mgr, cfg.WorkerID, log)
	srv := worker.New(worker.Config{WorkerID: cfg.WorkerID, Version: version, DataDir: cfg.DataDir,
		PublicURL: cfg.PublicURL, MaxBodyBytes: cfg.MaxBodyBytes}, mgr, engines, m, hub, log)
	return &Worker{Manager: mgr, Handler: srv.Handler(), reaper: reaper, cfg: cfg, log: log}, nil
}

// workerEventsKept is how many events a worker keeps for Last-Event-ID replay.
const workerEventsKept = 10000

// workerEvents streams the manager's session events on the worker's /events
// until ctx ends.
func workerEvents(ctx context.Context, mgr *session.Manager, workerID string,
	log *slog.Logger) *events.Hub {
	mem := events.NewMemory(workerEventsKept)
	hub := events.New(mem, events.Options{}, log)
	mgr.Subscribe(func(ev session.Event) {
		data, err := json.Marshal(ev)
		if err != nil {
			log.Error("encode event", "err", err)
			return
		}
		_, _ = mem.AppendEvent(ctx, registry.Event{Type: string(ev.Type), SessionID: ev.Session.ID,
			WorkerID: workerID, Data: data})
	})
	go hub.Run(ctx)
	return hub
}

// RunReaper reaps orphaned children until ctx ends.
func (w *Worker) RunReaper(ctx context.Context) { w.reaper.Run(ctx) }

// Shutdown ends every session (artifacts finalised) within the budget.
func (w *Worker) Shutdown() error {
	ctx, cancel := context.WithTimeout(context.Background(), w.cfg.CloseGrace+shutdownExtra)
	defer cancel()
	return w.Manager.Shutdown(ctx)
}

// RunWorker serves the Worker API until ctx is cancelled (SIGTERM), then
// stops taking requests, ends every session and returns.
func RunWorker(ctx context.Context, cfg *config.Worker, version string, log *slog.Logger) error {
	w, err := NewWorker(ctx, cfg, version, log)
	if err != nil {
		return err
	}
	reapCtx, stopReaper := context.WithCancel(context.Background())
	defer stopReaper()
	go w.RunReaper(reapCtx)
	addr := net.JoinHostPort(cfg.Listen, strconv.Itoa(cfg.Port))
	return serve(ctx, addr, w.Handler, log, w.Shutdown)
}

// serve runs an HTTP server until ctx ends, then calls stop (sessions end,
// which also ends their websockets) and shuts the server down.
func serve(ctx context.Context, addr string, h http.Handler, log *slog.Logger, stop func() error) error {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("listen on %s (PORT): %w", addr, err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	errCh := make(chan error, 1)
	go func() { errCh <- srv.Serve(ln) }()
	log.Info("listening", "addr", ln.Addr().String())
	select {
	case err := <-errCh:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	log.Info("shutting down")
	stopErr := stop()
	sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		_ = srv.Close()
	}
	if stopErr != nil {
		return stopErr
	}
	log.Info("stopped")
	return nil
}
