// Package testkit starts real camofleet parts for tests: an in-process
// worker on 127.0.0.1 with its own data folder, loopback sites, the built
// binary, and Node scripts run with the pinned playwright-core. Nothing in
// it is a fake.
package testkit

import (
	"context"
	"flag"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/camo-fleet/camo-fleet/internal/app"
	"github.com/camo-fleet/camo-fleet/internal/config"
	"github.com/camo-fleet/camo-fleet/internal/launcher"
	"github.com/camo-fleet/camo-fleet/internal/procs"
)

// RepoRoot is the folder holding go.mod.
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// DriverDir is the repository's driver folder.
func DriverDir() string { return filepath.Join(RepoRoot(), "driver") }

// Worker is an in-process worker serving on 127.0.0.1.
type Worker struct {
	*Client
	App     *app.Worker
	DataDir string
	Config  *config.Worker
	server  *httptest.Server
	cancel  context.CancelFunc
}

// Env sets worker settings by their environment variable names, e.g.
// {"IDLE_TTL_SEC": "3"}.
type Env map[string]string

// StartWorker starts a worker with a fresh data folder; it is shut down (all
// sessions ended) when the test ends, and the test fails if any process of
// the worker's sessions is left afterwards.
func StartWorker(t testing.TB, env Env) *Worker {
	t.Helper()
	data := DataDir(t)
	vars := map[string]string{"RUNNER_DATA": data, "CAMOFLEET_DRIVER_DIR": DriverDir(),
		"LOG_LEVEL": "debug", "MAX_SESSIONS": "4"}
	for k, v := range env {
		vars[k] = v
	}
	fs := flag.NewFlagSet("worker", flag.ContinueOnError)
	load := config.WorkerFlags(fs, func(k string) (string, bool) { v, ok := vars[k]; return v, ok })
	cfg, err := load()
	if err != nil {
		t.Fatalf("worker config: %v", err)
	}
	log := slog.New(slog.NewJSONHandler(logSink(t, data), &slog.HandlerOptions{Level: slog.LevelDebug}))
	ctx, cancel := context.WithCancel(context.Background())
	w, err := app.NewWorker(ctx, cfg, "test", log)
	if err != nil {
		cancel()
		t.Fatalf("new worker: %v", err)
	}
	go w.RunReaper(ctx)
	srv := httptest.NewServer(w.Handler)
	tw := &Worker{Client: NewClient(t, srv.URL), App: w, DataDir: data, Config: cfg, server: srv,
		cancel: cancel}
	t.Cleanup(tw.stop)
	return tw
}

// DataDir returns a fresh folder for RUNNER_DATA, removed when the test
// ends.
func DataDir(t testing.TB) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "cf")
	if err != nil {
		t.Fatalf("data folder: %v", err)
	}
	t.Cleanup(func() {
		if err := os.RemoveAll(dir); err != nil {
			t.Errorf("remove data folder: %v", err)
		}
	})
	return dir
}

// logSink writes the worker's log to worker.log in its data folder, and to
// stderr when CAMOFLEET_TEST_LOG=1.
func logSink(t testing.TB, dir string) io.Writer {
	f, err := os.Create(filepath.Join(dir, "worker.log"))
	if err != nil {
		t.Fatalf("worker log: %v", err)
	}
	t.Cleanup(func() { f.Close() })
	if os.Getenv("CAMOFLEET_TEST_LOG") == "1" {
		return io.MultiWriter(f, os.Stderr)
	}
	return f
}

func (w *Worker) stop() {
	if err := w.App.Shutdown(); err != nil {
		w.t.Errorf("worker shutdown: %v", err)
	}
	w.server.CloseClientConnections()
	w.server.Close()
	w.cancel()
	AssertNoLeftovers(w.t, w.DataDir)
}

// Log returns what the worker logged so far.
func (w *Worker) Log() string {
	b, _ := os.ReadFile(filepath.Join(w.DataDir, "worker.log"))
	return string(b)
}

// Leftovers returns the pids of live processes started for this data folder.
func Leftovers(dataDir string) []int {
	pids, _ := procs.FindByEnv(launcher.EnvData, dataDir)
	return pids
}

// AssertNoLeftovers fails the test if any process of the data folder's
// sessions is still alive a few seconds from now.
func AssertNoLeftovers(t testing.TB, dataDir string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		pids := Leftovers(dataDir)
		if len(pids) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("processes left behind for %s: %v", dataDir, pids)
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
}
