package engine

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/camo-fleet/camo-fleet/internal/camoufox"
)

func TestProbeReportsWhyUnavailable(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "no-such-browser")
	broken := filepath.Join(t.TempDir(), "broken")
	if err := os.WriteFile(broken, []byte("#!/bin/sh\nexit 3\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	fake := filepath.Join(t.TempDir(), "fake")
	if err := os.WriteFile(fake, []byte("#!/bin/sh\necho 'Mozilla Firefox 153.8.0esr'\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name      string
		set       *Set
		engine    string
		available bool
		reason    string
		version   string
	}{
		{"missing path", New(missing, "", ""), "chromium", false, "does not exist", ""},
		{"failing version", New("", broken, ""), "firefox", false, "--version", ""},
		{"camoufox unset", New("", "", ""), "camoufox", false, "CAMOUFOX_PATH is not set", ""},
		{"version parsed", New("", fake, ""), "firefox", true, "", "153.8.0esr"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.set.Probe(context.Background())
			_, a, ok := tc.set.Get(tc.engine)
			if !ok {
				t.Fatalf("engine %s unknown", tc.engine)
			}
			if a.Available != tc.available || !strings.Contains(a.Reason, tc.reason) || a.Version != tc.version {
				t.Fatalf("got available=%v version=%q reason=%q", a.Available, a.Version, a.Reason)
			}
		})
	}
}

func TestEveryEngineListed(t *testing.T) {
	s := New("", "", "")
	want := []string{"camoufox", "chromium", "firefox"}
	if got := strings.Join(s.Names(), ","); got != strings.Join(want, ",") {
		t.Fatalf("names %s, want %v", got, want)
	}
	if s.Known("webkit") {
		t.Fatal("webkit is not an engine")
	}
}

func TestFirefoxSpecUsesBiDiChannel(t *testing.T) {
	e, _, _ := New("", "", "").Get("firefox")
	spec, err := e.Spec("/usr/bin/firefox-esr", Options{})
	if err != nil {
		t.Fatal(err)
	}
	if spec.BrowserType != "firefox" || spec.Channel != "moz-firefox" {
		t.Fatalf("spec %+v: stock Firefox needs the moz-firefox channel (no Juggler)", spec)
	}
}

func TestCamoufoxSpecPassesChunkedConfig(t *testing.T) {
	e, _, _ := New("", "", "/opt/camoufox/camoufox").Get("camoufox")
	long := strings.Repeat("x", 70000)
	spec, err := e.Spec("/opt/camoufox/camoufox", Options{Camoufox: map[string]any{
		"navigator.userAgent": long, "screen.width": 1920,
	}})
	if err != nil {
		t.Fatal(err)
	}
	if spec.BrowserType != "firefox" || spec.Channel != "" {
		t.Fatalf("camoufox speaks Juggler through the plain firefox type: %+v", spec)
	}
	var env []string
	for k, v := range spec.Env {
		if len([]rune(v)) > camoufox.ChunkSize {
			t.Fatalf("%s has %d characters, over %d", k, len([]rune(v)), camoufox.ChunkSize)
		}
		env = append(env, k+"="+v)
	}
	if len(env) != 3 {
		t.Fatalf("want 3 chunks for a ~70 kB config, got %d", len(env))
	}
	back, err := camoufox.Join(env)
	if err != nil {
		t.Fatal(err)
	}
	if back["navigator.userAgent"] != long {
		t.Fatal("config did not survive chunking")
	}
}

func TestCamoufoxSpecRefusesUnknownKeys(t *testing.T) {
	e, _, _ := New("", "", "/x").Get("camoufox")
	_, err := e.Spec("/x", Options{Camoufox: map[string]any{"navigator.notAThing": "1"}})
	if err == nil || !strings.Contains(err.Error(), "navigator.notAThing") {
		t.Fatalf("want an error naming the unknown key, got %v", err)
	}
}
