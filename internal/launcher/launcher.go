// Package launcher supervises the per-session Node launcher (driver/
// launcher.cjs): it starts it in its own process group with the session's
// configuration, waits for its "ready" event, passes its events on, and ends
// it politely, then by force, so that nothing of the session outlives it.
package launcher

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"sync"
	"time"

	"github.com/camo-fleet/camo-fleet/internal/api"
	"github.com/camo-fleet/camo-fleet/internal/engine"
	"github.com/camo-fleet/camo-fleet/internal/procs"
)

// Marker environment variables carried by every process of a session; they
// let a restarted worker find what a crashed one left behind.
const (
	EnvSession = "CAMOFLEET_SESSION"
	EnvData    = "CAMOFLEET_DATA"
)

// stderrKeep is how much of the launcher's stderr is kept for error messages.
const stderrKeep = 8 << 10

// exitBrowserLost is launcher.cjs's exit status when the browser went away
// without being asked to close.
const exitBrowserLost = 4

// Driver locates Node.js, the launcher script and Playwright's browsers path.
type Driver struct {
	NodePath     string
	Script       string
	BrowsersPath string
	DataDir      string
}

// Spec is one session's launch.
type Spec struct {
	SessionID  string
	SessionDir string // artifacts
	TmpDir     string // profiles and Playwright's temporary files
	Launch     engine.LaunchSpec
	Headless   bool
	Record     api.Record
	Viewport   api.Viewport
	AllowData  bool
	WSPath     string
	Timeout    time.Duration
}

// Event is one line the launcher printed.
type Event struct {
	Event          string `json:"event"`
	Time           string `json:"time"`
	WSEndpoint     string `json:"wsEndpoint,omitempty"`
	BrowserPid     int    `json:"browserPid,omitempty"`
	BrowserVersion string `json:"browserVersion,omitempty"`
	URL            string `json:"url,omitempty"`
	Via            string `json:"via,omitempty"`
	Message        string `json:"message,omitempty"`
	Stage          string `json:"stage,omitempty"`
	ID             string `json:"id,omitempty"`
	SuggestedName  string `json:"suggestedName,omitempty"`
	Context        string `json:"context,omitempty"`
	Page           string `json:"page,omitempty"`
	DialogType     string `json:"dialogType,omitempty"`
	File           string `json:"file,omitempty"`
	Reason         string `json:"reason,omitempty"`
}

// Process is a running launcher.
type Process struct {
	cmd     *exec.Cmd
	stdin   io.WriteCloser
	ready   Event
	done    chan struct{}
	waitErr error
	stderr  *tail
	reaper  *procs.Reaper
	log     *slog.Logger

	sessionID string

	closeOnce sync.Once
}

// config is what launcher.cjs reads from its first line of stdin.
type config struct {
	Engine           string            `json:"engine"`
	ExecutablePath   string            `json:"executablePath"`
	Channel          string            `json:"channel,omitempty"`
	Headless         bool              `json:"headless"`
	Args             []string          `json:"args,omitempty"`
	Env              map[string]string `json:"env,omitempty"`
	FirefoxUserPrefs map[string]any    `json:"firefoxUserPrefs,omitempty"`
	WSPath           string            `json:"wsPath"`
	SessionDir       string            `json:"sessionDir"`
	ArtifactsDir     string            `json:"artifactsDir"`
	Record           api.Record        `json:"record"`
	Viewport         api.Viewport      `json:"viewport"`
	URLPolicy        struct {
		AllowData bool `json:"allowData"`
	} `json:"urlPolicy"`
	LaunchTimeoutMs int64 `json:"launchTimeoutMs"`
}

// Start runs the launcher and waits until the browser is ready, the launcher
// fails, ctx ends or spec.Timeout passes. onEvent gets every event after
// "ready", from one goroutine, in order. On failure nothing is left running.
func Start(ctx context.Context, d Driver, spec Spec, reaper *procs.Reaper,
	log *slog.Logger, onEvent func(Event)) (*Process, error) {
	cmd := exec.Command(d.NodePath, d.Script)
	cmd.Env = append(os.Environ(),
		"TMPDIR="+spec.TmpDir,
		"PLAYWRIGHT_BROWSERS_PATH="+d.BrowsersPath,
		EnvSession+"="+spec.SessionID,
		EnvData+"="+d.DataDir,
	)
	cmd.SysProcAttr = procs.SysProcAttr()
	p := &Process{cmd: cmd, done: make(chan struct{}), stderr: newTail(stderrKeep),
		reaper: reaper, log: log}
	cmd.Stderr = p.stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("launcher stdout: %w", err)
	}
	if p.stdin, err = cmd.StdinPipe(); err != nil {
		return nil, fmt.Errorf("launcher stdin: %w", err)
	}
	if err := reaper.Start(cmd); err != nil {
		return nil, fmt.Errorf("start launcher %s: %w", d.Script, err)
	}
	p.sessionID = spec.SessionID
	go p.wait()
	if err := p.sendConfig(spec); err != nil {
		p.Kill()
		return nil, err
	}
	readyCh := make(chan Event, 1)
	go p.readEvents(stdout, readyCh, onEvent)
	return p, p.awaitReady(ctx, spec.Timeout, readyCh)
}

func (p *Process) sendConfig(spec Spec) error {
	c := config{
		Engine: spec.Launch.BrowserType, ExecutablePath: spec.Launch.ExecutablePath,
		Channel: spec.Launch.Channel, Headless: spec.Headless, Args: spec.Launch.Args,
		Env: spec.Launch.Env, FirefoxUserPrefs: spec.Launch.FirefoxUserPrefs,
		WSPath: spec.WSPath, SessionDir: spec.SessionDir, ArtifactsDir: spec.TmpDir,
		Record: spec.Record, Viewport: spec.Viewport,
		LaunchTimeoutMs: spec.Timeout.Milliseconds(),
	}
	c.URLPolicy.AllowData = spec.AllowData
	line, err := json.Marshal(c)
	if err != nil {
		return fmt.Errorf("encode launcher config: %w", err)
	}
	if _, err := p.stdin.Write(append(line, '\n')); err != nil {
		return fmt.Errorf("send launcher config: %w", err)
	}
	return nil
}

func (p *Process) awaitReady(ctx context.Context, timeout time.Duration, readyCh <-chan Event) error {
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	var err error
	select {
	case ev := <-readyCh:
		if ev.Event == "ready" {
			p.ready = ev
			return nil
		}
		err = fmt.Errorf("browser did not start: %s", ev.Message)
	case <-p.done:
		err = fmt.Errorf("launcher exited before the browser was ready: %v", p.waitErr)
	case <-timer.C:
		err = fmt.Errorf("browser not ready after %s (START_TIMEOUT_SEC)", timeout)
	case <-ctx.Done():
		err = fmt.Errorf("start cancelled: %w", ctx.Err())
	}
	p.Kill()
	if out := p.stderr.String(); out != "" {
		err = fmt.Errorf("%w; launcher output: %s", err, out)
	}
	return err
}

// readEvents forwards the launcher's stdout events. The first "ready" or
// "error" goes to readyCh; later events go to onEvent.
func (p *Process) readEvents(r io.Reader, readyCh chan<- Event, onEvent func(Event)) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	started := false
	for sc.Scan() {
		var ev Event
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			p.log.Debug("launcher printed a non-event line", "line", sc.Text())
			continue
		}
		if !started && (ev.Event == "ready" || ev.Event == "error") {
			started = true
			readyCh <- ev
			continue
		}
		if onEvent != nil {
			onEvent(ev)
		}
	}
}

func (p *Process) wait() {
	p.waitErr = p.reaper.Wait(p.cmd)
	close(p.done)
}

// Ready returns the "ready" event: wsEndpoint, browser pid and version.
func (p *Process) Ready() Event { return p.ready }

// Done is closed when the launcher process has exited.
func (p *Process) Done() <-chan struct{} { return p.done }

// ExitErr is the launcher's exit status, valid after Done.
func (p *Process) ExitErr() error { return p.waitErr }

// BrowserLost reports, once Done is closed, whether the launcher exited
// because the browser went away on its own (it crashed or was killed), not
// because the launcher was asked to close it.
func (p *Process) BrowserLost() bool {
	var ee *exec.ExitError
	return errors.As(p.waitErr, &ee) && ee.ExitCode() == exitBrowserLost
}

// Stderr returns the last bytes the launcher wrote to stderr.
func (p *Process) Stderr() string { return p.stderr.String() }

// Close asks the launcher to close contexts and the browser, waits up to
// grace for it to exit, then kills every process of the session. It is safe
// to call more than once.
func (p *Process) Close(grace time.Duration) error {
	var err error
	p.closeOnce.Do(func() {
		_, werr := io.WriteString(p.stdin, "{\"cmd\":\"close\"}\n")
		_ = p.stdin.Close()
		timer := time.NewTimer(grace)
		defer timer.Stop()
		select {
		case <-p.done:
		case <-timer.C:
			err = fmt.Errorf("launcher did not exit within %s (CLOSE_GRACE_SEC); killed", grace)
		}
		if werr != nil && !errors.Is(werr, os.ErrClosed) {
			p.log.Debug("launcher stdin already closed", "err", werr)
		}
		p.Kill()
	})
	return err
}

// Kill ends every process of the session at once: the launcher's tree
// (its pid is ours until Wait returns, so it cannot have been reused) and
// every process carrying the session's marker, which covers the browser's
// detached process group even after the launcher died.
func (p *Process) Kill() {
	select {
	case <-p.done:
	default:
		_ = procs.KillTree(p.cmd.Process.Pid)
	}
	_, _ = procs.KillByEnv(EnvSession, p.sessionID)
	<-p.done
}
