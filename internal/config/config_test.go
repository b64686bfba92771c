package config

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func driverDir(t *testing.T) string {
	d := t.TempDir()
	if err := os.WriteFile(filepath.Join(d, "launcher.cjs"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	cli := filepath.Join(d, "node_modules", "playwright-core")
	if err := os.MkdirAll(cli, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(cli, "cli.js"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	return d
}

func load(t *testing.T, env map[string]string, args ...string) (*Worker, error) {
	t.Helper()
	fs := flag.NewFlagSet("worker", flag.ContinueOnError)
	get := WorkerFlags(fs, func(k string) (string, bool) { v, ok := env[k]; return v, ok })
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	return get()
}

func TestDefaultsAndEnvironment(t *testing.T) {
	d := driverDir(t)
	c, err := load(t, map[string]string{"CAMOFLEET_DRIVER_DIR": d, "RUNNER_DATA": "rel",
		"IDLE_TTL_SEC": "7", "ALLOW_DIRECT": "false"})
	if err != nil {
		t.Fatal(err)
	}
	if c.Port != 8080 || c.IdleTTL != 7*time.Second || c.AllowDirect || !filepath.IsAbs(c.DataDir) {
		t.Fatalf("unexpected config %+v", c)
	}
	if c.Driver.BrowsersPath != filepath.Join(c.DataDir, ".playwright") {
		t.Fatalf("browsers path %q", c.Driver.BrowsersPath)
	}
}

func TestFlagBeatsEnvironment(t *testing.T) {
	c, err := load(t, map[string]string{"CAMOFLEET_DRIVER_DIR": driverDir(t), "PORT": "9000"}, "-port", "9100")
	if err != nil {
		t.Fatal(err)
	}
	if c.Port != 9100 {
		t.Fatalf("port %d, want the flag's 9100", c.Port)
	}
}

func TestBadValuesNameTheVariable(t *testing.T) {
	tests := []struct {
		name string
		env  map[string]string
		want string
	}{
		{"port not a number", map[string]string{"PORT": "eighty"}, "PORT"},
		{"port out of range", map[string]string{"PORT": "70000"}, "PORT"},
		{"bool", map[string]string{"ALLOW_DIRECT": "maybe"}, "ALLOW_DIRECT"},
		{"zero sessions", map[string]string{"MAX_SESSIONS": "0"}, "MAX_SESSIONS"},
		{"zero idle", map[string]string{"IDLE_TTL_SEC": "0"}, "IDLE_TTL_SEC"},
		{"log level", map[string]string{"LOG_LEVEL": "loud"}, "LOG_LEVEL"},
		{"no driver", map[string]string{"CAMOFLEET_DRIVER_DIR": "/nonexistent"}, "CAMOFLEET_DRIVER_DIR"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			env := map[string]string{"CAMOFLEET_DRIVER_DIR": driverDir(t)}
			for k, v := range tc.env {
				env[k] = v
			}
			_, err := load(t, env)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("want an error naming %s, got %v", tc.want, err)
			}
		})
	}
}
