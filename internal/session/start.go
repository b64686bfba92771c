package session

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/camo-fleet/camo-fleet/internal/api"
	"github.com/camo-fleet/camo-fleet/internal/engine"
	"github.com/camo-fleet/camo-fleet/internal/launcher"
	"github.com/camo-fleet/camo-fleet/internal/metrics"
)

func sessionDir(data, id string) string { return filepath.Join(data, "sessions", id) }
func tmpDir(data, id string) string     { return filepath.Join(TmpRoot(data), id) }

// TmpRoot is the folder of the browsers' temporary files (profiles,
// Playwright's scratch space) for the worker with data folder data. It is
// short and outside RUNNER_DATA on purpose: Chromium puts a unix socket in
// it, and a socket path holds at most 107 bytes, so a long RUNNER_DATA would
// make Chromium abort at start. Its name carries a hash of the data folder,
// so several workers on one host never clean each other's.
func TmpRoot(data string) string {
	sum := sha256.Sum256([]byte(data))
	return filepath.Join(os.TempDir(), "camofleet-"+hex.EncodeToString(sum[:4]))
}

// meta is the session.json kept in a session folder, so that a restarted
// worker knows what a folder held.
type meta struct {
	ID        string    `json:"id"`
	Engine    string    `json:"engine"`
	Mode      api.Mode  `json:"mode"`
	State     api.State `json:"state"`
	Reason    string    `json:"reason,omitempty"`
	CreatedAt time.Time `json:"createdAt"`
}

// start prepares the folders, launches the browser and, for Managed
// sessions, opens the worker's own context and page.
func (s *Session) start(ctx context.Context) error {
	began := time.Now()
	if err := s.prepareDirs(); err != nil {
		return err
	}
	spec, err := s.engine.Spec(s.avail.Path, engine.Options{Headless: s.plan.headless,
		Camoufox: s.plan.req.CamoufoxConfig})
	if err != nil {
		return fmt.Errorf("engine %s: %w", s.plan.req.Engine, err)
	}
	s.wsToken, s.tokenExpires = randomToken(), time.Now().Add(s.m.cfg.WSTokenTTL)
	proc, err := launcher.Start(ctx, s.m.cfg.Driver, launcher.Spec{
		SessionID: s.id, SessionDir: s.dir, TmpDir: s.tmpDir, Launch: spec,
		Headless: s.plan.headless, Record: s.plan.record, Viewport: s.plan.viewport,
		AllowData: s.m.cfg.AllowData, WSPath: "/" + randomToken(), Timeout: s.m.cfg.StartTimeout,
	}, s.m.reaper, s.log, s.onLauncherEvent)
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.proc, s.version = proc, proc.Ready().BrowserVersion
	s.mu.Unlock()
	if s.plan.req.Mode == api.ModeManaged {
		if err := s.openManaged(ctx); err != nil {
			return err
		}
	}
	s.mu.Lock()
	s.readyAt = time.Now().UTC()
	s.mu.Unlock()
	s.Touch()
	s.m.metrics.Started.WithLabelValues(s.plan.req.Engine, string(s.plan.req.Mode)).Inc()
	s.m.metrics.StartLatency.WithLabelValues(s.plan.req.Engine).Observe(metrics.Since(began))
	s.log.Info("browser ready", "duration", time.Since(began).String(), "version", s.version)
	s.setState(api.StateReady)
	return nil
}

// prepareDirs creates the artifact and temporary folders and writes
// session.json; an unwritable artifact folder fails the start here.
func (s *Session) prepareDirs() error {
	if err := os.MkdirAll(s.dir, 0o750); err != nil {
		return fmt.Errorf("create artifact folder (RUNNER_DATA): %w", err)
	}
	if err := os.MkdirAll(s.tmpDir, 0o700); err != nil {
		return fmt.Errorf("create temporary folder (RUNNER_DATA): %w", err)
	}
	return s.writeMeta()
}

func (s *Session) writeMeta() error {
	s.mu.Lock()
	m := meta{ID: s.id, Engine: s.plan.req.Engine, Mode: s.plan.req.Mode, State: s.state,
		Reason: string(s.reason), CreatedAt: s.createdAt}
	s.mu.Unlock()
	b, _ := json.Marshal(m)
	tmp := filepath.Join(s.dir, ".session.json.tmp")
	if err := os.WriteFile(tmp, b, 0o640); err != nil {
		return fmt.Errorf("write session.json: %w", err)
	}
	if err := os.Rename(tmp, filepath.Join(s.dir, "session.json")); err != nil {
		return fmt.Errorf("write session.json: %w", err)
	}
	return nil
}
