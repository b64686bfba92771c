// Package engine knows the browsers a worker can run: how to find each one,
// whether it works here, what it can record, and how the launcher must start
// it. Adding an engine means adding one file with one Engine implementation
// and listing it in New.
package engine

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"sort"
	"strings"
	"sync"
	"time"
)

// ProbeTimeout bounds one `--version` call of a browser.
const ProbeTimeout = 15 * time.Second

// Capabilities lists the artifacts an engine can produce.
type Capabilities struct {
	HAR         bool   `json:"har"`
	Video       bool   `json:"video"`
	Screenshots bool   `json:"screenshots"`
	PDF         bool   `json:"pdf"`
	Console     bool   `json:"console"`
	Network     bool   `json:"network"`
	Notes       string `json:"notes,omitempty"`
}

// Availability is what a probe found out about an engine.
type Availability struct {
	Name         string       `json:"name"`
	Available    bool         `json:"available"`
	Version      string       `json:"version,omitempty"`
	Path         string       `json:"path,omitempty"`
	Reason       string       `json:"reason,omitempty"`
	Protocol     string       `json:"protocol"`
	Capabilities Capabilities `json:"capabilities"`
}

// LaunchSpec tells the launcher how to start the browser.
type LaunchSpec struct {
	BrowserType      string            `json:"browserType"` // Playwright browser type
	ExecutablePath   string            `json:"executablePath"`
	Channel          string            `json:"channel,omitempty"`
	Args             []string          `json:"args,omitempty"`
	Env              map[string]string `json:"env,omitempty"`
	FirefoxUserPrefs map[string]any    `json:"firefoxUserPrefs,omitempty"`
}

// Options are the per-session choices an engine turns into a LaunchSpec.
type Options struct {
	Headless bool
	Camoufox map[string]any // the Camoufox configuration object, camoufox only
}

// Engine is one kind of browser.
type Engine interface {
	Name() string
	// Probe finds the executable and asks it for its version.
	Probe(ctx context.Context, hasFFmpeg bool) Availability
	// Spec builds the launch description for one session.
	Spec(path string, opts Options) (LaunchSpec, error)
}

// Set is the engines of one worker with the result of their probes.
type Set struct {
	engines map[string]Engine
	mu      sync.RWMutex
	found   map[string]Availability
}

// New returns the engines with their configured executables; an empty path
// means "look in the usual places".
func New(chromiumPath, firefoxPath, camoufoxPath string) *Set {
	return &Set{engines: map[string]Engine{
		"chromium": chromium{path: chromiumPath},
		"firefox":  firefox{path: firefoxPath},
		"camoufox": camoufoxEngine{path: camoufoxPath},
	}, found: map[string]Availability{}}
}

// Probe checks every engine once; the results are kept for Get and List.
func (s *Set) Probe(ctx context.Context) {
	_, err := exec.LookPath("ffmpeg")
	hasFFmpeg := err == nil
	found := map[string]Availability{}
	for name, e := range s.engines {
		found[name] = e.Probe(ctx, hasFFmpeg)
	}
	s.mu.Lock()
	s.found = found
	s.mu.Unlock()
}

// Names lists the known engine names, sorted.
func (s *Set) Names() []string {
	names := make([]string, 0, len(s.engines))
	for n := range s.engines {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Known reports whether name is an engine this worker knows of.
func (s *Set) Known(name string) bool { _, ok := s.engines[name]; return ok }

// Get returns an engine and its probe result.
func (s *Set) Get(name string) (Engine, Availability, bool) {
	e, ok := s.engines[name]
	if !ok {
		return nil, Availability{}, false
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	return e, s.found[name], true
}

// List returns every engine's availability, sorted by name.
func (s *Set) List() []Availability {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := make([]Availability, 0, len(s.found))
	for _, n := range s.Names() {
		out = append(out, s.found[n])
	}
	return out
}

// findExecutable returns the configured path if set, else the first
// candidate found on PATH.
func findExecutable(configured string, candidates ...string) (string, error) {
	if configured != "" {
		if st, err := os.Stat(configured); err != nil || st.IsDir() {
			return "", fmt.Errorf("%s does not exist or is not a file", configured)
		}
		return configured, nil
	}
	for _, c := range candidates {
		if p, err := exec.LookPath(c); err == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("none of %s found on PATH", strings.Join(candidates, ", "))
}

var versionRE = regexp.MustCompile(`\d+\.\d+(\.\d+)*([a-z]+\d*)?`)

// browserVersion runs `path --version` and extracts the version number.
func browserVersion(ctx context.Context, path string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, ProbeTimeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, path, "--version").Output()
	if err != nil {
		return "", fmt.Errorf("run %s --version: %w", path, err)
	}
	v := versionRE.FindString(string(out))
	if v == "" {
		return "", fmt.Errorf("no version in the output of %s --version: %q", path, out)
	}
	return v, nil
}

// probe is the common part of every engine's Probe.
func probe(ctx context.Context, a Availability, configured string, names ...string) Availability {
	path, err := findExecutable(configured, names...)
	if err != nil {
		a.Reason = err.Error()
		return a
	}
	a.Path = path
	v, err := browserVersion(ctx, path)
	if err != nil {
		a.Reason = err.Error()
		return a
	}
	a.Version, a.Available = v, true
	return a
}
