package engine

import "context"

// chromium is Debian's Chromium, driven over CDP.
type chromium struct{ path string }

func (chromium) Name() string { return "chromium" }

func (c chromium) Probe(ctx context.Context, hasFFmpeg bool) Availability {
	a := Availability{Name: "chromium", Protocol: "cdp", Capabilities: Capabilities{
		HAR: true, Video: hasFFmpeg, Screenshots: true, PDF: true, Console: true, Network: true,
	}}
	if !hasFFmpeg {
		a.Capabilities.Notes = "video needs ffmpeg on PATH"
	}
	return probe(ctx, a, c.path, "chromium", "chromium-browser")
}

// chromiumArgs keep a headless Chromium quiet on a closed network: no
// background fetches, no component updates, no sync, no first-run UI.
var chromiumArgs = []string{
	"--disable-background-networking",
	"--disable-component-update",
	"--disable-sync",
	"--no-first-run",
	"--disable-gpu",
	"--disable-quic",
	"--disable-dev-shm-usage",
}

func (c chromium) Spec(path string, _ Options) (LaunchSpec, error) {
	return LaunchSpec{BrowserType: "chromium", ExecutablePath: path, Args: chromiumArgs}, nil
}
