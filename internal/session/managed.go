package session

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/mxschmitt/playwright-go"

	"github.com/camo-fleet/camo-fleet/internal/procs"
)

// managedCloseTimeout bounds closing the Managed context and connection.
const managedCloseTimeout = 10 * time.Second

// managedConn is the worker's own Playwright connection to a Managed
// session's browser server.
type managedConn struct {
	browser playwright.Browser
	context playwright.BrowserContext
	page    playwright.Page
}

// pwDriver starts the playwright-go driver (one Node process for the whole
// worker) on first use.
type pwDriver struct {
	nodePath, cliPath string
	reaper            *procs.Reaper
	log               *slog.Logger

	mu  sync.Mutex
	pw  *playwright.Playwright
	pid int
}

func newPWDriver(nodePath, cliPath string, reaper *procs.Reaper, log *slog.Logger) *pwDriver {
	return &pwDriver{nodePath: nodePath, cliPath: cliPath, reaper: reaper, log: log}
}

// Get returns the running driver, starting it if needed.
func (d *pwDriver) Get() (*playwright.Playwright, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.pw != nil {
		return d.pw, nil
	}
	// playwright-go reads these two variables; they make it use the pinned
	// driver and the system Node.js instead of downloading its own.
	if err := setDriverEnv(d.nodePath, d.cliPath); err != nil {
		return nil, err
	}
	pw, err := playwright.Run(&playwright.RunOptions{SkipInstallBrowsers: true, Verbose: false,
		Logger: d.log})
	if err != nil {
		return nil, fmt.Errorf("start playwright driver: %w", err)
	}
	// playwright-go waits for its driver process itself when it stops; the
	// reaper must leave that exit to it. The driver does not exit on its
	// own between its start and here.
	d.pw, d.pid = pw, pw.Pid()
	d.reaper.Own(d.pid)
	d.log.Info("playwright driver started")
	return pw, nil
}

// Stop ends the driver if it runs.
func (d *pwDriver) Stop() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.pw == nil {
		return nil
	}
	err := d.pw.Stop()
	d.reaper.Disown(d.pid)
	d.pw = nil
	if err != nil {
		return fmt.Errorf("stop playwright driver: %w", err)
	}
	return nil
}

// openManaged connects to the session's browser server and opens the
// context and page that steps run in.
func (s *Session) openManaged(ctx context.Context) error {
	pw, err := s.m.pw.Get()
	if err != nil {
		return err
	}
	bt := pw.Chromium
	if s.plan.req.Engine != "chromium" {
		bt = pw.Firefox
	}
	timeout := float64(s.m.cfg.StartTimeout.Milliseconds())
	browser, err := bt.Connect(s.proc.Ready().WSEndpoint, playwright.BrowserTypeConnectOptions{
		Timeout: &timeout})
	if err != nil {
		return fmt.Errorf("connect to browser: %w", err)
	}
	vp := s.plan.viewport
	bctx, err := browser.NewContext(playwright.BrowserNewContextOptions{
		Viewport:        &playwright.Size{Width: vp.Width, Height: vp.Height},
		AcceptDownloads: playwright.Bool(true),
	})
	if err != nil {
		_ = browser.Close()
		return fmt.Errorf("open context: %w", err)
	}
	page, err := bctx.NewPage()
	if err != nil {
		_ = browser.Close()
		return fmt.Errorf("open page: %w", err)
	}
	s.mu.Lock()
	s.managed = &managedConn{browser: browser, context: bctx, page: page}
	s.mu.Unlock()
	return ctx.Err()
}

// closeManaged closes the worker's context (videos and HAR entries are
// flushed) and drops the connection, each bounded by managedCloseTimeout.
func (s *Session) closeManaged() error {
	s.mu.Lock()
	mc := s.managed
	s.mu.Unlock()
	if mc == nil {
		return nil
	}
	done := make(chan error, 1)
	go func() {
		done <- errors.Join(mc.context.Close(), mc.browser.Close())
	}()
	select {
	case err := <-done:
		return err
	case <-time.After(managedCloseTimeout):
		return fmt.Errorf("close managed context: no answer within %s", managedCloseTimeout)
	}
}
