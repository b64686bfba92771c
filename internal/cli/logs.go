package cli

import (
	"context"
	"fmt"
	"time"

	"github.com/camo-fleet/camo-fleet/internal/client"
)

const logsAbout = `Prints a page of a session's console log (messages, page errors, dialogs)
and network log (a record per request), while it runs or after it has ended.
Page on with --offset.`

func runLogs(ctx context.Context, e *Env, args []string) int {
	fs := newFlagSet(e, "logs", "ID [flags]", logsAbout)
	var opts client.LogOptions
	var kind string
	fs.StringVar(&kind, "kind", "", "only this `log`: console or network (both when unset)")
	fs.IntVar(&opts.Offset, "offset", 0, "skip the first `n` records of each log")
	fs.IntVar(&opts.Limit, "limit", 0, "show at most `n` records of each log (unset: the API's "+
		"default, 1000)")
	pos, err := fs.parse(e, args, 1)
	if err != nil {
		return fs.fail(e, err)
	}
	opts.Kind = client.LogKind(kind)
	if kind != "" && opts.Kind != client.LogConsole && opts.Kind != client.LogNetwork {
		return fs.fail(e, usagef("--kind must be console or network, not %q", kind))
	}
	c, err := fs.client()
	if err != nil {
		return fs.fail(e, err)
	}

	var raw []byte
	ctx = client.WithResponseBody(ctx, func(b []byte) { raw = b })
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	logs, err := c.Logs(ctx, pos[0], opts)
	if err != nil {
		return exitFor(ctx, e, fs.cmd, err)
	}
	if fs.output == outputJSON {
		writeRaw(e.Stdout, raw)
		return ExitOK
	}
	if opts.Kind != client.LogNetwork {
		printConsole(e, logs.Console, opts.Kind == "")
	}
	if opts.Kind != client.LogConsole {
		if opts.Kind == "" {
			fmt.Fprintln(e.Stdout)
		}
		printNetwork(e, logs.Network, opts.Kind == "")
	}
	return ExitOK
}

func printConsole(e *Env, recs []client.ConsoleRecord, titled bool) {
	if titled {
		fmt.Fprintf(e.Stdout, "Console: %s\n", count(len(recs), "record"))
	}
	if len(recs) == 0 {
		return
	}
	t := newTable(e.Stdout, "TIME", "PAGE", "TYPE", "TEXT", "SOURCE")
	for _, r := range recs {
		src := "-"
		if r.URL != "" {
			src = shorten(r.URL, 60)
		}
		if r.URL != "" && r.Line > 0 {
			src += fmt.Sprintf(":%d", r.Line)
		}
		t.row(clock(r.Time), r.Page, r.Type, shorten(r.Text, 120), src)
	}
	t.flush()
}

func printNetwork(e *Env, recs []client.NetworkRecord, titled bool) {
	if titled {
		fmt.Fprintf(e.Stdout, "Network: %s\n", count(len(recs), "record"))
	}
	if len(recs) == 0 {
		return
	}
	t := newTable(e.Stdout, "TIME", "METHOD", "STATUS", "TYPE", "SIZE", "DURATION", "URL")
	for _, r := range recs {
		status := fmt.Sprint(r.Status)
		if r.Failure != "" {
			status = "failed: " + shorten(r.Failure, 40)
		}
		t.row(clock(r.Time), r.Method, status, r.ResourceType, size(r.Bytes),
			duration(time.Duration(r.DurationMs*float64(time.Millisecond))), shorten(r.URL, 120))
	}
	t.flush()
}

// clock formats a record's time of day in UTC to the millisecond.
func clock(t time.Time) string { return t.UTC().Format("15:04:05.000") }
