package engine

import (
	"context"
	"fmt"
	"strings"

	"github.com/camo-fleet/camo-fleet/internal/camoufox"
)

// camoufox is the Camoufox build of Firefox, driven over Playwright's
// Firefox protocol (Juggler). Its fingerprint is fixed at launch through the
// CAMOU_CONFIG_1..N environment variables.
type camoufoxEngine struct{ path string }

func (camoufoxEngine) Name() string { return "camoufox" }

func (c camoufoxEngine) Probe(ctx context.Context, hasFFmpeg bool) Availability {
	a := Availability{Name: "camoufox", Protocol: "juggler", Capabilities: Capabilities{
		HAR: true, Video: hasFFmpeg, Screenshots: true, Console: true, Network: true,
		Notes: "no pdf step (Firefox family)",
	}}
	if c.path == "" {
		a.Reason = "CAMOUFOX_PATH is not set; install Camoufox and point CAMOUFOX_PATH at its binary"
		return a
	}
	return probe(ctx, a, c.path)
}

func (c camoufoxEngine) Spec(path string, opts Options) (LaunchSpec, error) {
	spec := LaunchSpec{BrowserType: "firefox", ExecutablePath: path, Env: map[string]string{}}
	if len(opts.Camoufox) == 0 {
		return spec, nil
	}
	env, err := camoufox.Config(opts.Camoufox).Env()
	if err != nil {
		return LaunchSpec{}, fmt.Errorf("camoufox config: %w", err)
	}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		spec.Env[k] = v
	}
	return spec, nil
}
