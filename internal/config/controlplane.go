package config

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// ControlPlane holds the settings of a control-plane.
type ControlPlane struct {
	Port              int
	Listen            string
	DataDir           string
	RegistryURL       string
	Workers           []string
	PublicURL         string
	HeartbeatInterval time.Duration
	WorkerDownAfter   time.Duration
	QueueMax          int
	QueueTimeout      time.Duration
	MaxBodyBytes      int64
	LogLevel          string
}

// ControlPlaneFlags registers the control-plane's flags on fs with defaults
// from the environment and returns the validating loader. With embedded set
// (camofleet serve) the worker's flags own PORT, RUNNER_DATA and the rest
// they share, so only the control-plane's own settings are registered.
func ControlPlaneFlags(fs *flag.FlagSet, lookup func(string) (string, bool),
	embedded bool) func() (*ControlPlane, error) {
	if lookup == nil {
		lookup = os.LookupEnv
	}
	e := env(lookup)
	c := &ControlPlane{}
	var errs []error
	var workers string
	if !embedded {
		fs.IntVar(&c.Port, "port", e.intv("PORT", 8080, &errs),
			"TCP port of the Control API (PORT)")
		fs.StringVar(&c.Listen, "listen", e.str("LISTEN_ADDR", ""),
			"address to bind; empty = all (LISTEN_ADDR)")
		fs.StringVar(&c.DataDir, "data", e.str("RUNNER_DATA", defaultDataDir()),
			"folder for the SQLite registry and keys (RUNNER_DATA)")
		fs.StringVar(&c.PublicURL, "public-url", e.str("PUBLIC_URL", ""),
			"base URL clients use; empty = from the request (PUBLIC_URL)")
		fs.Int64Var(&c.MaxBodyBytes, "max-body-bytes", int64(e.intv("MAX_BODY_BYTES", 1<<20, &errs)),
			"largest request body accepted (MAX_BODY_BYTES)")
		fs.StringVar(&c.LogLevel, "log-level", e.str("LOG_LEVEL", "info"),
			"debug, info, warn or error (LOG_LEVEL)")
	}
	fs.StringVar(&c.RegistryURL, "registry", e.str("REGISTRY_URL", ""),
		"registry: a postgres:// URL, or a SQLite file; empty = <data>/registry.db (REGISTRY_URL)")
	fs.StringVar(&workers, "workers", e.str("WORKERS", ""),
		"comma-separated worker URLs known at start (WORKERS); workers may also register themselves")
	fs.DurationVar(&c.HeartbeatInterval, "heartbeat", e.secs("HEARTBEAT_SEC", 5, &errs),
		"worker health probe interval (HEARTBEAT_SEC, seconds)")
	fs.DurationVar(&c.WorkerDownAfter, "worker-down-after", e.secs("WORKER_DOWN_AFTER_SEC", 15, &errs),
		"silence after which a worker is down and its sessions lost (WORKER_DOWN_AFTER_SEC, seconds)")
	fs.IntVar(&c.QueueMax, "queue-max", e.intv("QUEUE_MAX", 100, &errs),
		"create requests that may wait for a slot; past it 429 (QUEUE_MAX)")
	fs.DurationVar(&c.QueueTimeout, "queue-timeout", e.secs("QUEUE_TIMEOUT", 60, &errs),
		"longest wait for a slot before 429 (QUEUE_TIMEOUT, seconds)")
	return func() (*ControlPlane, error) {
		for _, u := range strings.Split(workers, ",") {
			if u = strings.TrimSpace(u); u != "" {
				c.Workers = append(c.Workers, u)
			}
		}
		if err := errors.Join(errs...); err != nil {
			return nil, err
		}
		return c, c.validate(embedded)
	}
}

func (c *ControlPlane) validate(embedded bool) error {
	var errs []error
	check := func(ok bool, name, format string, args ...any) {
		if !ok {
			errs = append(errs, fmt.Errorf("%s: "+format, append([]any{name}, args...)...))
		}
	}
	if !embedded {
		check(c.Port > 0 && c.Port < 65536, "PORT", "must be 1..65535, got %d", c.Port)
		check(c.MaxBodyBytes >= 1024, "MAX_BODY_BYTES", "must be at least 1024")
	}
	check(c.HeartbeatInterval >= 100*time.Millisecond, "HEARTBEAT_SEC", "must be at least 1")
	check(c.WorkerDownAfter >= c.HeartbeatInterval, "WORKER_DOWN_AFTER_SEC", "must be at least HEARTBEAT_SEC")
	check(c.QueueMax >= 0, "QUEUE_MAX", "must be ≥ 0")
	check(c.QueueTimeout >= time.Second, "QUEUE_TIMEOUT", "must be at least 1")
	for _, u := range c.Workers {
		check(strings.HasPrefix(u, "http://") || strings.HasPrefix(u, "https://"), "WORKERS",
			"%q is not an http(s) URL", u)
	}
	if c.DataDir != "" {
		if abs, err := filepath.Abs(c.DataDir); err == nil {
			c.DataDir = abs
		}
	}
	return errors.Join(errs...)
}

// Registry returns the registry URL, defaulting to a SQLite file under the
// data folder.
func (c *ControlPlane) Registry(dataDir string) string {
	if c.RegistryURL != "" {
		return c.RegistryURL
	}
	return filepath.Join(dataDir, "registry.db")
}
