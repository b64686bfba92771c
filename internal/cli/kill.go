package cli

import (
	"context"
	"fmt"
	"time"

	"github.com/camo-fleet/camo-fleet/internal/client"
)

// killTimeout bounds DELETE /sessions/{id}: the API answers within 60 s,
// with 202 when the session is still closing by then.
const killTimeout = 90 * time.Second

const killAbout = `Ends a session (DELETE): running steps are cancelled, the browser is closed
and the artifacts are finalised. Prints the state and reason it ended with.`

func runKill(ctx context.Context, e *Env, args []string) int {
	fs := newFlagSet(e, "kill", "ID [flags]", killAbout)
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
	ctx, cancel := context.WithTimeout(ctx, killTimeout)
	defer cancel()
	s, closing, err := c.DeleteSession(ctx, pos[0])
	if err != nil {
		return exitFor(ctx, e, fs.cmd, err)
	}
	if fs.output == outputJSON {
		writeRaw(e.Stdout, raw)
		return ExitOK
	}
	if closing {
		fmt.Fprintf(e.Stdout, "session %s is still closing (%s); it ends on its own\n",
			s.ID, s.State)
		return ExitOK
	}
	fmt.Fprintf(e.Stdout, "session %s ended: %s\n", s.ID, endState(s))
	return ExitOK
}
