package cli

import (
	"context"
	"fmt"
	"time"

	"github.com/camo-fleet/camo-fleet/internal/api"
	"github.com/camo-fleet/camo-fleet/internal/client"
)

const listAbout = `Lists sessions, newest first: running ones and the most recent that have
ended. Filters combine with AND.`

func runList(ctx context.Context, e *Env, args []string) int {
	fs := newFlagSet(e, "list", "[flags]", listAbout)
	var opts client.ListOptions
	var state, mode string
	fs.StringVar(&state, "state", "", "only sessions in this `state` (starting, ready, running, "+
		"closing, closed, failed, expired, killed, lost, queued)")
	fs.StringVar(&opts.Engine, "engine", "", "only sessions of this `engine`")
	fs.StringVar(&mode, "mode", "", "only sessions of this `mode` (direct or managed)")
	fs.StringVar(&opts.Label, "label", "", "only sessions with this label: `key` or key=value")
	fs.IntVar(&opts.Limit, "limit", 0, "show at most `n` sessions (unset: the API's default, 100)")
	fs.IntVar(&opts.Offset, "offset", 0, "skip the first `n` matching sessions")
	if _, err := fs.parse(e, args, 0); err != nil {
		return fs.fail(e, err)
	}
	opts.State, opts.Mode = api.State(state), api.Mode(mode)
	c, err := fs.client()
	if err != nil {
		return fs.fail(e, err)
	}

	var raw []byte
	ctx = client.WithResponseBody(ctx, func(b []byte) { raw = b })
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	list, err := c.ListSessions(ctx, opts)
	if err != nil {
		return exitFor(ctx, e, fs.cmd, err)
	}
	if fs.output == outputJSON {
		writeRaw(e.Stdout, raw)
		return ExitOK
	}
	if len(list) == 0 {
		fmt.Fprintln(e.Stdout, "no sessions")
		return ExitOK
	}
	now := time.Now()
	t := newTable(e.Stdout, "ID", "STATE", "REASON", "ENGINE", "MODE", "CREATED", "LABELS")
	for _, s := range list {
		reason := string(s.Reason)
		if reason == "" {
			reason = "-"
		}
		t.row(s.ID, string(s.State), reason, s.Engine, string(s.Mode), ago(s.CreatedAt, now),
			labels(s.Labels))
	}
	t.flush()
	return ExitOK
}
