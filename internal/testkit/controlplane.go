package testkit

import (
	"context"
	"crypto/rand"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/camo-fleet/camo-fleet/internal/app"
	"github.com/camo-fleet/camo-fleet/internal/config"
	"github.com/camo-fleet/camo-fleet/internal/launcher"
	"github.com/camo-fleet/camo-fleet/internal/procs"
)

// Waits of the control-plane helpers.
const (
	// ProcessStartWait bounds how long a camofleet process may take to
	// answer /health after it was started.
	ProcessStartWait = time.Minute
	// processKillWait bounds the wait for a killed process to be reaped.
	processKillWait = 10 * time.Second
)

// EnvPostgresURL names the PostgreSQL server tests may use; see
// scripts/postgres-test.sh.
const EnvPostgresURL = "CAMOFLEET_TEST_POSTGRES_URL"

// ControlPlane is an in-process control-plane serving on 127.0.0.1.
type ControlPlane struct {
	*Client
	App     *app.ControlPlane
	DataDir string
	Config  *config.ControlPlane
	server  *httptest.Server
	cancel  context.CancelFunc
}

// StartControlPlane starts a control-plane with a fresh data folder and,
// unless env sets REGISTRY_URL, a SQLite registry in it. Workers come from
// env's WORKERS or are added later with AddWorker. Probes run every second
// and a worker is down after 6 s of silence unless env says otherwise (more
// than a probe's own 5 s timeout, so a worker slowed down by a busy machine
// is not taken for a dead one). It stops when the test ends.
func StartControlPlane(t testing.TB, env Env) *ControlPlane {
	t.Helper()
	data := DataDir(t)
	vars := map[string]string{"RUNNER_DATA": data, "HEARTBEAT_SEC": "1",
		"WORKER_DOWN_AFTER_SEC": "6", "LOG_LEVEL": "debug"}
	for k, v := range env {
		vars[k] = v
	}
	fs := flag.NewFlagSet("control-plane", flag.ContinueOnError)
	lookup := func(k string) (string, bool) { v, ok := vars[k]; return v, ok }
	load := config.ControlPlaneFlags(fs, lookup, false)
	cfg, err := load()
	if err != nil {
		t.Fatalf("control-plane config: %v", err)
	}
	log := slog.New(slog.NewJSONHandler(fileSink(t, data, "control-plane.log"),
		&slog.HandlerOptions{Level: slog.LevelDebug}))
	ctx, cancel := context.WithCancel(context.Background())
	cp, err := app.NewControlPlane(ctx, cfg, cfg.DataDir, "test", cfg.MaxBodyBytes, cfg.PublicURL,
		log)
	if err != nil {
		cancel()
		t.Fatalf("new control-plane: %v", err)
	}
	go cp.Service.Run(ctx)
	srv := httptest.NewServer(cp.Service.Handler())
	c := &ControlPlane{Client: NewClient(t, srv.URL), App: cp, DataDir: data, Config: cfg,
		server: srv, cancel: cancel}
	t.Cleanup(c.stop)
	return c
}

func (c *ControlPlane) stop() {
	c.server.CloseClientConnections()
	c.server.Close()
	c.cancel()
	if err := c.App.Close(); err != nil {
		c.t.Errorf("close registry: %v", err)
	}
	if c.t.Failed() {
		c.t.Logf("log of the control-plane:\n%s", tail(c.Log(), 300))
	}
}

// AddWorker registers a worker by URL through POST /workers.
func (c *ControlPlane) AddWorker(workerURL string) {
	c.t.Helper()
	c.JSON("POST", "/workers", map[string]string{"url": workerURL}, nil)
}

// Log returns what the control-plane logged so far.
func (c *ControlPlane) Log() string {
	b, _ := os.ReadFile(filepath.Join(c.DataDir, "control-plane.log"))
	return string(b)
}

// fileSink writes a log to name in dir, and to stderr when
// CAMOFLEET_TEST_LOG=1.
func fileSink(t testing.TB, dir, name string) io.Writer {
	f, err := os.Create(filepath.Join(dir, name))
	if err != nil {
		t.Fatalf("log file: %v", err)
	}
	t.Cleanup(func() { f.Close() })
	if os.Getenv("CAMOFLEET_TEST_LOG") == "1" {
		return io.MultiWriter(f, os.Stderr)
	}
	return f
}

// Process is the camofleet binary running one role (worker, control-plane
// or serve) on a loopback port.
type Process struct {
	*Client
	Role    string
	Port    int
	DataDir string
	env     Env
	logPath string
	cmd     *exec.Cmd
	done    chan struct{}
	err     error
}

// StartProcess runs `camofleet <role>` on a free loopback port with a fresh
// RUNNER_DATA (unless env sets one) and waits until it answers /health.
// Workers get MAX_SESSIONS=2 and a WORKER_ID of their own unless env says
// otherwise. Its output goes to a log file (Log). If the test ends with it
// still running, it is killed, and so is every browser process of its
// data folder.
//
// Do not run it beside an in-process worker (StartWorker): that worker's
// reaper reaps the exited children of the test process that it does not
// own, and then the exit code is lost (Wait fails the test saying so).
func StartProcess(t testing.TB, role string, env Env) *Process {
	t.Helper()
	vars := Env{"LISTEN_ADDR": "127.0.0.1", "LOG_LEVEL": "debug"}
	if role != "control-plane" {
		vars["CAMOFLEET_DRIVER_DIR"] = DriverDir()
		vars["MAX_SESSIONS"] = "2"
	}
	for k, v := range env {
		vars[k] = v
	}
	if vars["RUNNER_DATA"] == "" {
		vars["RUNNER_DATA"] = DataDir(t)
	}
	port := FreePort(t)
	if role == "worker" && vars["WORKER_ID"] == "" {
		vars["WORKER_ID"] = fmt.Sprintf("worker-%d", port)
	}
	p := &Process{Client: NewClient(t, fmt.Sprintf("http://127.0.0.1:%d", port)), Role: role,
		Port: port, DataDir: vars["RUNNER_DATA"], env: vars,
		logPath: filepath.Join(t.TempDir(), role+".log")}
	t.Cleanup(p.cleanup)
	p.Start()
	return p
}

// Start (re)starts the process on its port with its environment and data
// folder and waits until it answers /health. The previous run must have
// exited.
func (p *Process) Start() {
	p.t.Helper()
	logFile, err := os.OpenFile(p.logPath, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o600)
	if err != nil {
		p.t.Fatal(err)
	}
	fmt.Fprintf(logFile, "---- camofleet %s starts %s\n", p.Role,
		time.Now().Format(time.RFC3339Nano))
	cmd := exec.Command(Binary(p.t), p.Role)
	cmd.Env = append(os.Environ(), "PORT="+strconv.Itoa(p.Port))
	for k, v := range p.env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		logFile.Close()
		p.t.Fatalf("start camofleet %s: %v", p.Role, err)
	}
	done := make(chan struct{})
	p.cmd, p.done = cmd, done
	go func() { p.err = cmd.Wait(); logFile.Close(); close(done) }()
	p.awaitHealth()
}

func (p *Process) awaitHealth() {
	p.t.Helper()
	deadline := time.Now().Add(ProcessStartWait)
	for time.Now().Before(deadline) {
		select {
		case <-p.done:
			p.t.Fatalf("camofleet %s exited at start: %v\n%s", p.Role, p.err, p.Log())
		default:
		}
		resp, err := http.Get(p.Base + "/health")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return
			}
		}
		time.Sleep(100 * time.Millisecond)
	}
	p.t.Fatalf("camofleet %s did not answer /health within %s\n%s", p.Role, ProcessStartWait,
		p.Log())
}

// Pid returns the process id of the current run.
func (p *Process) Pid() int { return p.cmd.Process.Pid }

// Signal sends sig to the process.
func (p *Process) Signal(sig syscall.Signal) {
	p.t.Helper()
	if err := p.cmd.Process.Signal(sig); err != nil {
		p.t.Fatalf("signal camofleet %s: %v", p.Role, err)
	}
}

// Wait waits for the process to exit and returns its exit code; it fails
// the test after timeout.
func (p *Process) Wait(timeout time.Duration) int {
	p.t.Helper()
	select {
	case <-p.done:
	case <-time.After(timeout):
		p.t.Fatalf("camofleet %s still running %s after the signal\n%s", p.Role, timeout, p.Log())
	}
	if errors.Is(p.err, syscall.ECHILD) {
		p.t.Fatalf("camofleet %s was reaped by someone else (an in-process worker's reaper?): "+
			"its exit code is lost", p.Role)
	}
	return p.cmd.ProcessState.ExitCode()
}

// Kill SIGKILLs the process and waits until it is gone.
func (p *Process) Kill() {
	p.t.Helper()
	p.Signal(syscall.SIGKILL)
	p.Wait(processKillWait)
}

// Log returns the output of every run so far.
func (p *Process) Log() string {
	b, _ := os.ReadFile(p.logPath)
	return string(b)
}

func (p *Process) cleanup() {
	if p.cmd == nil {
		return
	}
	select {
	case <-p.done:
	default:
		_ = p.cmd.Process.Kill()
		select {
		case <-p.done:
		case <-time.After(processKillWait):
			p.t.Errorf("camofleet %s (pid %d) survived SIGKILL", p.Role, p.cmd.Process.Pid)
		}
	}
	if p.Role != "control-plane" {
		_, _ = procs.KillByEnv(launcher.EnvData, p.DataDir)
	}
	if p.t.Failed() {
		p.t.Logf("log of camofleet %s:\n%s", p.Role, tail(p.Log(), 200))
	}
}

// tail returns the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// FreePort returns a loopback TCP port nobody listens on right now.
func FreePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// PostgresDatabase creates an empty database on the server named by
// CAMOFLEET_TEST_POSTGRES_URL, dropped when the test ends, and returns its
// URL. Without that variable the test is skipped.
func PostgresDatabase(t testing.TB) string {
	t.Helper()
	admin := os.Getenv(EnvPostgresURL)
	if admin == "" {
		t.Skipf("%s is not set: run eval \"$(scripts/postgres-test.sh start)\" for a throwaway "+
			"PostgreSQL, then scripts/postgres-test.sh stop", EnvPostgresURL)
	}
	u, err := url.Parse(admin)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		t.Fatalf("%s must be a postgres:// URL", EnvPostgresURL)
	}
	name := "camofleet_e2e_" + strings.ToLower(rand.Text()[:12])
	exec := func(ctx context.Context, sql string) error {
		conn, err := pgx.Connect(ctx, admin)
		if err != nil {
			return err
		}
		defer conn.Close(context.Background())
		_, err = conn.Exec(ctx, sql)
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := exec(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("create database: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if err := exec(ctx, "DROP DATABASE "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("drop database %s: %v", name, err)
		}
	})
	u.Path = "/" + name
	return u.String()
}
