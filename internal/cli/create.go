package cli

import (
	"context"
	"fmt"
	"time"

	"github.com/camo-fleet/camo-fleet/internal/api"
	"github.com/camo-fleet/camo-fleet/internal/client"
)

// The bounds of the requests the commands send. createTimeout covers a
// browser start; callTimeout a request that only reads.
const (
	createTimeout = 3 * time.Minute
	callTimeout   = time.Minute
)

const createAbout = `Starts a browser session and prints it once it is ready. A direct session
comes with its wsEndpoint: pass it to your Playwright client's connect()
(chromium.connect for chromium, firefox.connect for firefox and camoufox)
within the worker's WS_TOKEN_TTL_SEC; it works once. A managed session waits
for steps (use "camofleet session run" to create one and run a file of them).`

// createFlags are the flags of "session create" beyond the common ones.
type createFlags struct {
	mode, engine, idleTTL, maxDuration, record, viewport string
	headless                                             bool
	labels                                               labelsFlag
}

func runCreate(ctx context.Context, e *Env, args []string) int {
	fs := newFlagSet(e, "create", "[flags]", createAbout)
	f := createFlags{labels: labelsFlag{}}
	fs.StringVar(&f.mode, "mode", "direct",
		"the session `mode`: direct (your Playwright client connects) or managed (steps)")
	fs.StringVar(&f.engine, "engine", "chromium",
		"the browser `engine`: chromium, firefox or camoufox")
	fs.BoolVar(&f.headless, "headless", true, "run without a window (--headless=false for one)")
	fs.StringVar(&f.idleTTL, "idle-ttl", "",
		"end the session after this `duration` without traffic (300, 90s, 5m); unset: "+
			"the server's IDLE_TTL_SEC")
	fs.StringVar(&f.maxDuration, "max-duration", "",
		"end the session after this `duration`, busy or not; unset: the server's "+
			"MAX_DURATION_SEC")
	fs.StringVar(&f.record, "record", "", "the artifacts to record, a comma-separated `list` of "+
		"har, video and screenshots")
	fs.StringVar(&f.viewport, "viewport", "", "the page size in CSS pixels, `WxH` (e.g. 1280x720)")
	fs.Var(f.labels, "label", "add the label `key=value`; repeat for more")

	if _, err := fs.parse(e, args, 0); err != nil {
		return fs.fail(e, err)
	}
	req, err := f.request()
	if err != nil {
		return fs.fail(e, err)
	}
	c, err := fs.client()
	if err != nil {
		return fs.fail(e, err)
	}
	return create(ctx, e, fs, c, req)
}

func create(ctx context.Context, e *Env, fs *flagSet, c *client.Client,
	req api.CreateSessionRequest) int {
	var raw []byte
	ctx = client.WithResponseBody(ctx, func(b []byte) { raw = b })
	ctx, cancel := context.WithTimeout(ctx, createTimeout)
	defer cancel()
	s, err := c.CreateSession(ctx, req)
	if err != nil {
		return exitFor(ctx, e, fs.cmd, err)
	}

	if fs.output == outputJSON {
		writeRaw(e.Stdout, raw)
		return ExitOK
	}
	printSession(e.Stdout, s, time.Now())
	if s.WSEndpoint != "" {
		fmt.Fprintf(e.Stdout, "\nwsEndpoint (for one connection, within the server's "+
			"WS_TOKEN_TTL_SEC):\n%s\n", s.WSEndpoint)
	}
	return ExitOK
}

// request builds the create request from the flags, checking their form;
// the values themselves are the API's to judge.
func (f *createFlags) request() (api.CreateSessionRequest, error) {
	req := api.CreateSessionRequest{Mode: api.Mode(f.mode), Engine: f.engine, Labels: f.labels}
	if f.mode != string(api.ModeDirect) && f.mode != string(api.ModeManaged) {
		return req, usagef("--mode must be direct or managed, not %q", f.mode)
	}
	if !f.headless {
		req.Headless = &f.headless
	}
	var err error
	if req.IdleTTLSec, err = parseSeconds(f.idleTTL); err != nil {
		return req, usagef("--idle-ttl: %v", err)
	}
	if req.MaxDurationSec, err = parseSeconds(f.maxDuration); err != nil {
		return req, usagef("--max-duration: %v", err)
	}
	if req.Record, err = parseRecord(f.record); err != nil {
		return req, usagef("--record: %v", err)
	}
	if f.viewport != "" {
		if req.Viewport, err = parseViewport(f.viewport); err != nil {
			return req, usagef("--viewport: %v", err)
		}
	}
	if len(f.labels) == 0 {
		req.Labels = nil
	}
	return req, nil
}
