package cli

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/camo-fleet/camo-fleet/internal/client"
)

const getAbout = `Shows a session: its state, settings, the results of its Managed steps and
its state history.`

func runGet(ctx context.Context, e *Env, args []string) int {
	fs := newFlagSet(e, "get", "ID [flags]", getAbout)
	pos, err := fs.parse(e, args, 1)
	if err != nil {
		return fs.fail(e, err)
	}
	c, err := fs.client()
	if err != nil {
		return fs.fail(e, err)
	}

	var raw []byte
	ctx = client.WithResponseBody(ctx, func(b []byte) { raw = b })
	ctx, cancel := context.WithTimeout(ctx, callTimeout)
	defer cancel()
	s, err := c.GetSession(ctx, pos[0])
	if err != nil {
		return exitFor(ctx, e, fs.cmd, err)
	}
	if fs.output == outputJSON {
		writeRaw(e.Stdout, raw)
		return ExitOK
	}

	printSession(e.Stdout, s, time.Now())
	if len(s.History) > 0 {
		var h []string
		for _, ch := range s.History {
			h = append(h, string(ch.State)+" "+ch.At.UTC().Format("15:04:05.000"))
		}
		fmt.Fprintf(e.Stdout, "\nHistory: %s\n", strings.Join(h, " → "))
	}
	if len(s.Steps) > 0 {
		fmt.Fprintln(e.Stdout)
		printSteps(e.Stdout, s.Steps)
	}
	return ExitOK
}
