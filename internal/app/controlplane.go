package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strconv"
	"time"

	"github.com/camo-fleet/camo-fleet/internal/config"
	"github.com/camo-fleet/camo-fleet/internal/controlplane"
	"github.com/camo-fleet/camo-fleet/internal/registry/open"
)

// ControlPlane is a running control-plane and its registry.
type ControlPlane struct {
	Service *controlplane.Service
	close   func() error
}

// NewControlPlane opens the registry and builds the control-plane; Run
// starts its loops.
func NewControlPlane(ctx context.Context, cfg *config.ControlPlane, dataDir, version string,
	maxBody int64, publicURL string, log *slog.Logger) (*ControlPlane, error) {
	store, err := open.Open(ctx, cfg.Registry(dataDir), log)
	if err != nil {
		return nil, fmt.Errorf("open registry (REGISTRY_URL): %w", err)
	}
	svc := controlplane.New(controlplane.Config{Workers: cfg.Workers, PublicURL: publicURL,
		HeartbeatInterval: cfg.HeartbeatInterval, WorkerDownAfter: cfg.WorkerDownAfter,
		QueueMax: cfg.QueueMax, QueueTimeout: cfg.QueueTimeout, MaxBodyBytes: maxBody,
		Version: version}, store, log)
	return &ControlPlane{Service: svc, close: store.Close}, nil
}

// Close closes the registry.
func (c *ControlPlane) Close() error { return c.close() }

// RunControlPlane serves the Control API until ctx is cancelled.
func RunControlPlane(ctx context.Context, cfg *config.ControlPlane, version string, log *slog.Logger) error {
	cp, err := NewControlPlane(ctx, cfg, cfg.DataDir, version, cfg.MaxBodyBytes, cfg.PublicURL, log)
	if err != nil {
		return err
	}
	defer cp.Close()
	loops, stop := context.WithCancel(context.Background())
	defer stop()
	go cp.Service.Run(loops)
	addr := net.JoinHostPort(cfg.Listen, strconv.Itoa(cfg.Port))
	return serve(ctx, addr, cp.Service.Handler(), log, func() error { stop(); return nil })
}

// settleTimeout bounds the wait, at the end of camofleet serve, for the
// embedded worker's last events to reach the registry.
const settleTimeout = 10 * time.Second

// RunServe is the embedded default: a control-plane on PORT with one worker
// in the same process, reachable only on loopback, and a SQLite registry
// under RUNNER_DATA.
func RunServe(ctx context.Context, wcfg *config.Worker, cpcfg *config.ControlPlane, version string,
	log *slog.Logger) error {
	wk, err := NewWorker(ctx, wcfg, version, log.With("role", "worker"))
	if err != nil {
		return err
	}
	loops, stopLoops := context.WithCancel(context.Background())
	defer stopLoops()
	go wk.RunReaper(loops)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("listen for the embedded worker: %w", err)
	}
	wsrv := &http.Server{Handler: wk.Handler, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = wsrv.Serve(ln) }()
	cpcfg.Workers = append([]string{"http://" + ln.Addr().String()}, cpcfg.Workers...)
	cp, err := NewControlPlane(ctx, cpcfg, wcfg.DataDir, version, wcfg.MaxBodyBytes, wcfg.PublicURL,
		log.With("role", "control-plane"))
	if err != nil {
		return err
	}
	defer cp.Close()
	go cp.Service.Run(loops)
	stop := func() error {
		werr := wk.Shutdown() // sessions end
		settle, cancel := context.WithTimeout(context.Background(), settleTimeout)
		defer cancel()
		if err := cp.Service.Settle(settle, wcfg.WorkerID); err != nil {
			log.Warn("the registry may show sessions of the embedded worker as running", "err", err)
		}
		stopLoops()
		return errors.Join(werr, wsrv.Close())
	}
	addr := net.JoinHostPort(wcfg.Listen, strconv.Itoa(wcfg.Port))
	return serve(ctx, addr, cp.Service.Handler(), log, stop)
}
