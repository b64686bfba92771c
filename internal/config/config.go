// Package config reads the settings of every camofleet role from flags, with
// the specification's environment variables as fallbacks, and validates them
// at start so a bad value fails fast with a message that names the variable.
package config

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Worker holds the settings of a worker.
type Worker struct {
	Port          int
	Listen        string
	DataDir       string
	WorkerID      string
	PublicURL     string
	IdleTTL       time.Duration
	MaxDuration   time.Duration
	MaxSessions   int
	AllowDirect   bool
	AllowEvaluate bool
	AllowData     bool
	StartTimeout  time.Duration
	CloseGrace    time.Duration
	WSTokenTTL    time.Duration
	StepTimeout   time.Duration
	MaxBodyBytes  int64
	LogLevel      string
	Browsers      BrowserPaths
	Driver        Driver
}

// BrowserPaths are the browser executables; empty means "look it up".
type BrowserPaths struct {
	Chromium string
	Firefox  string
	Camoufox string
}

// Driver locates the pinned Playwright driver.
type Driver struct {
	NodePath     string
	DriverDir    string // the folder holding launcher.cjs and node_modules
	BrowsersPath string // PLAYWRIGHT_BROWSERS_PATH, where the ffmpeg link lives
}

// LauncherScript is the path of the per-session launcher.
func (d Driver) LauncherScript() string { return filepath.Join(d.DriverDir, "launcher.cjs") }

// CLIPath is the cli.js of the pinned playwright-core package.
func (d Driver) CLIPath() string {
	return filepath.Join(d.DriverDir, "node_modules", "playwright-core", "cli.js")
}

// env reads the environment through a function so tests can pass a map.
type env func(string) (string, bool)

// WorkerFlags registers the worker's flags on fs with defaults taken from the
// environment, and returns a function that validates them after fs.Parse.
func WorkerFlags(fs *flag.FlagSet, lookup func(string) (string, bool)) func() (*Worker, error) {
	if lookup == nil {
		lookup = os.LookupEnv
	}
	e := env(lookup)
	c := &Worker{}
	var errs []error
	fs.IntVar(&c.Port, "port", e.intv("PORT", 8080, &errs), "TCP port of the API (PORT)")
	fs.StringVar(&c.Listen, "listen", e.str("LISTEN_ADDR", ""),
		"address to bind; empty = all (LISTEN_ADDR)")
	fs.StringVar(&c.DataDir, "data", e.str("RUNNER_DATA", defaultDataDir()),
		"folder for sessions, artifacts and keys (RUNNER_DATA)")
	fs.StringVar(&c.WorkerID, "worker-id", e.str("WORKER_ID", hostname()),
		"this worker's name (WORKER_ID)")
	fs.StringVar(&c.PublicURL, "public-url", e.str("PUBLIC_URL", ""),
		"base URL clients use to reach this worker; empty = from the request (PUBLIC_URL)")
	fs.DurationVar(&c.IdleTTL, "idle-ttl", e.secs("IDLE_TTL_SEC", 300, &errs),
		"end a session after this much silence (IDLE_TTL_SEC, seconds)")
	fs.DurationVar(&c.MaxDuration, "max-duration", e.secs("MAX_DURATION_SEC", 3600, &errs),
		"hard maximum lifetime of a session (MAX_DURATION_SEC, seconds)")
	fs.IntVar(&c.MaxSessions, "max-sessions", e.intv("MAX_SESSIONS", 4, &errs),
		"sessions this worker runs at once (MAX_SESSIONS)")
	fs.BoolVar(&c.AllowDirect, "allow-direct", e.boolv("ALLOW_DIRECT", true, &errs),
		"allow Direct mode (ALLOW_DIRECT)")
	fs.BoolVar(&c.AllowEvaluate, "allow-evaluate", e.boolv("ALLOW_EVALUATE", true, &errs),
		"allow the evaluate step (ALLOW_EVALUATE)")
	fs.BoolVar(&c.AllowData, "allow-data-urls", e.boolv("ALLOW_DATA_URLS", false, &errs),
		"allow navigation to data: URLs (ALLOW_DATA_URLS)")
	fs.DurationVar(&c.StartTimeout, "start-timeout", e.secs("START_TIMEOUT_SEC", 60, &errs),
		"browser start deadline (START_TIMEOUT_SEC, seconds)")
	fs.DurationVar(&c.CloseGrace, "close-grace", e.secs("CLOSE_GRACE_SEC", 15, &errs),
		"time a session gets to close politely before it is killed (CLOSE_GRACE_SEC, seconds)")
	fs.DurationVar(&c.WSTokenTTL, "ws-token-ttl", e.secs("WS_TOKEN_TTL_SEC", 60, &errs),
		"time a wsEndpoint token stays valid for connecting (WS_TOKEN_TTL_SEC, seconds)")
	fs.DurationVar(&c.StepTimeout, "step-timeout", e.secs("STEP_TIMEOUT_SEC", 30, &errs),
		"default timeout of a Managed step (STEP_TIMEOUT_SEC, seconds)")
	fs.Int64Var(&c.MaxBodyBytes, "max-body-bytes", int64(e.intv("MAX_BODY_BYTES", 1<<20, &errs)),
		"largest request body accepted (MAX_BODY_BYTES)")
	fs.StringVar(&c.LogLevel, "log-level", e.str("LOG_LEVEL", "info"),
		"debug, info, warn or error (LOG_LEVEL)")
	fs.StringVar(&c.Browsers.Chromium, "chromium-path", e.str("CHROMIUM_PATH", ""),
		"chromium executable (CHROMIUM_PATH)")
	fs.StringVar(&c.Browsers.Firefox, "firefox-path", e.str("FIREFOX_PATH", ""),
		"firefox executable (FIREFOX_PATH)")
	fs.StringVar(&c.Browsers.Camoufox, "camoufox-path", e.str("CAMOUFOX_PATH", ""),
		"Camoufox executable (CAMOUFOX_PATH)")
	fs.StringVar(&c.Driver.NodePath, "node-path", e.str("PLAYWRIGHT_NODEJS_PATH", "node"),
		"Node.js that runs the driver (PLAYWRIGHT_NODEJS_PATH)")
	fs.StringVar(&c.Driver.DriverDir, "driver-dir", e.str("CAMOFLEET_DRIVER_DIR", defaultDriverDir()),
		"folder with launcher.cjs and the pinned playwright-core (CAMOFLEET_DRIVER_DIR)")
	fs.StringVar(&c.Driver.BrowsersPath, "browsers-path", e.str("PLAYWRIGHT_BROWSERS_PATH", ""),
		"Playwright's browsers folder, for the ffmpeg link; empty = <data>/.playwright (PLAYWRIGHT_BROWSERS_PATH)")
	return func() (*Worker, error) {
		if err := errors.Join(errs...); err != nil {
			return nil, err
		}
		return c, c.validate()
	}
}

func (c *Worker) validate() error {
	var errs []error
	check := func(ok bool, name, format string, args ...any) {
		if !ok {
			errs = append(errs, fmt.Errorf("%s: "+format, append([]any{name}, args...)...))
		}
	}
	check(c.Port > 0 && c.Port < 65536, "PORT", "must be 1..65535, got %d", c.Port)
	check(c.IdleTTL >= time.Second, "IDLE_TTL_SEC", "must be at least 1")
	check(c.MaxDuration >= time.Second, "MAX_DURATION_SEC", "must be at least 1")
	check(c.MaxSessions >= 1, "MAX_SESSIONS", "must be at least 1, got %d", c.MaxSessions)
	check(c.StartTimeout >= time.Second, "START_TIMEOUT_SEC", "must be at least 1")
	check(c.CloseGrace >= time.Second, "CLOSE_GRACE_SEC", "must be at least 1")
	check(c.WSTokenTTL >= time.Second, "WS_TOKEN_TTL_SEC", "must be at least 1")
	check(c.StepTimeout >= time.Second, "STEP_TIMEOUT_SEC", "must be at least 1")
	check(c.MaxBodyBytes >= 1024, "MAX_BODY_BYTES", "must be at least 1024")
	check(c.DataDir != "", "RUNNER_DATA", "must not be empty")
	switch c.LogLevel {
	case "debug", "info", "warn", "error":
	default:
		check(false, "LOG_LEVEL", "must be debug, info, warn or error, got %q", c.LogLevel)
	}
	if c.DataDir != "" {
		abs, err := filepath.Abs(c.DataDir)
		check(err == nil, "RUNNER_DATA", "%v", err)
		c.DataDir = abs
	}
	if c.Driver.BrowsersPath == "" {
		c.Driver.BrowsersPath = filepath.Join(c.DataDir, ".playwright")
	}
	if _, err := os.Stat(c.Driver.LauncherScript()); err != nil {
		check(false, "CAMOFLEET_DRIVER_DIR",
			"no launcher.cjs in %q (run the setup script, or point it at the driver folder)",
			c.Driver.DriverDir)
	}
	if _, err := os.Stat(c.Driver.CLIPath()); err == nil || len(errs) > 0 {
		return errors.Join(errs...)
	}
	check(false, "CAMOFLEET_DRIVER_DIR",
		"playwright-core is not installed in %q (run: npm ci --prefix %s)",
		c.Driver.DriverDir, c.Driver.DriverDir)
	return errors.Join(errs...)
}

func (e env) str(name, def string) string {
	if v, ok := e(name); ok && v != "" {
		return v
	}
	return def
}

func (e env) intv(name string, def int, errs *[]error) int {
	v, ok := e(name)
	if !ok || v == "" {
		return def
	}
	n, err := strconv.Atoi(strings.TrimSpace(v))
	if err != nil {
		*errs = append(*errs, fmt.Errorf("%s: %q is not a whole number", name, v))
		return def
	}
	return n
}

func (e env) secs(name string, def int, errs *[]error) time.Duration {
	return time.Duration(e.intv(name, def, errs)) * time.Second
}

func (e env) boolv(name string, def bool, errs *[]error) bool {
	v, ok := e(name)
	if !ok || v == "" {
		return def
	}
	b, err := strconv.ParseBool(strings.TrimSpace(v))
	if err != nil {
		*errs = append(*errs, fmt.Errorf("%s: %q is not true or false", name, v))
		return def
	}
	return b
}

func hostname() string {
	h, err := os.Hostname()
	if err != nil || h == "" {
		return "worker"
	}
	return h
}

func defaultDataDir() string {
	if d, err := os.UserHomeDir(); err == nil {
		return filepath.Join(d, ".local", "share", "camofleet")
	}
	return "/data"
}

// defaultDriverDir finds driver/ next to the binary (bin/camofleet in a
// checkout), else in the working directory.
func defaultDriverDir() string {
	if exe, err := os.Executable(); err == nil {
		for _, rel := range []string{"../driver", "driver", "../share/camofleet/driver"} {
			dir := filepath.Join(filepath.Dir(exe), rel)
			if _, err := os.Stat(filepath.Join(dir, "launcher.cjs")); err == nil {
				return filepath.Clean(dir)
			}
		}
	}
	return "driver"
}
