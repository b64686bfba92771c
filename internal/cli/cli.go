// Package cli implements "camofleet session": the client commands that
// create, list, inspect and end sessions, run a file of Managed steps, and
// fetch artifacts and logs from a worker or the control-plane.
//
// Each command lives in a file of its own. Commands print human tables by
// default and the API's own JSON with --output json. Exit codes: 0 when all
// went well, 1 when a step of "run" failed, 2 for a usage error (bad flag,
// bad run file), 3 when the API refused a request or could not be reached,
// and 130 when interrupted.
package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"
)

// The exit codes.
const (
	ExitOK          = 0
	ExitStepFailed  = 1
	ExitUsage       = 2
	ExitAPI         = 3
	ExitInterrupted = 130
)

// Env is what a command reads and writes besides its arguments.
type Env struct {
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	// Getenv reads an environment variable (CAMOFLEET_URL, CAMOFLEET_TOKEN).
	Getenv func(string) string
	// Terminal is true when Stdout is a terminal: "run" then shows a spinner
	// with the elapsed time of the running step.
	Terminal bool
}

// command is one "camofleet session" subcommand.
type command struct {
	name    string
	args    string // the positional arguments, for the usage line
	summary string
	run     func(ctx context.Context, e *Env, args []string) int
}

var commands = []command{
	{"create", "[flags]", "start a session and print it", runCreate},
	{"list", "[flags]", "list sessions", runList},
	{"get", "ID [flags]", "show a session with its steps and history", runGet},
	{"kill", "ID [flags]", "end a session", runKill},
	{"run", "FILE [flags]", "run a file of Managed steps, one at a time", runRun},
	{"artifacts", "ID [flags]", "list a session's artifacts, or download them", runArtifacts},
	{"logs", "ID [flags]", "print a session's console and network logs", runLogs},
}

// Main runs "camofleet session" with the process's arguments (those after
// "session"), standard streams and environment, and returns the exit code.
// Ctrl-C or SIGTERM cancels the command's context once; a second one stops
// the process at once.
func Main(args []string) int {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		stop()
	}()
	e := &Env{Stdin: os.Stdin, Stdout: os.Stdout, Stderr: os.Stderr, Getenv: os.Getenv,
		Terminal: isTerminal(os.Stdout)}
	return Run(ctx, e, args)
}

// Run runs a session subcommand and returns its exit code.
func Run(ctx context.Context, e *Env, args []string) int {
	if len(args) == 0 {
		fmt.Fprint(e.Stderr, usage())
		return ExitUsage
	}
	name := args[0]
	switch name {
	case "help", "-h", "-help", "--help":
		fmt.Fprint(e.Stdout, usage())
		return ExitOK
	}
	for _, c := range commands {
		if c.name == name {
			return c.run(ctx, e, args[1:])
		}
	}
	fmt.Fprintf(e.Stderr, "camofleet session: unknown command %q\n\n%s", name, usage())
	return ExitUsage
}

func usage() string {
	var b strings.Builder
	b.WriteString(`camofleet session: drive browser sessions on a worker or the control-plane

Usage:
`)
	for _, c := range commands {
		fmt.Fprintf(&b, "  camofleet session %-20s %s\n", c.name+" "+c.args, c.summary)
	}
	b.WriteString(`
Every command takes:
  --url URL        the API (CAMOFLEET_URL; default ` + defaultURL + `)
  --token TOKEN    sent as "Authorization: Bearer TOKEN" (CAMOFLEET_TOKEN)
  --output FORMAT  text (tables, the default) or json (the API's JSON)

Exit codes: 0 ok, 1 a step failed (run), 2 usage error, 3 API or network
error, 130 interrupted.
Run "camofleet session <command> -h" for the flags of a command.
`)
	return b.String()
}

// isTerminal reports whether f is a character device, as a terminal is,
// and TERM does not say the terminal cannot move the cursor.
func isTerminal(f *os.File) bool {
	if os.Getenv("TERM") == "dumb" {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// exitFor prints err as one line and returns the exit code that fits it:
// ExitInterrupted when ctx was cancelled, ExitAPI otherwise.
func exitFor(ctx context.Context, e *Env, cmd string, err error) int {
	if ctx.Err() != nil && errors.Is(err, context.Canceled) {
		fmt.Fprintf(e.Stderr, "camofleet session %s: interrupted\n", cmd)
		return ExitInterrupted
	}
	fmt.Fprintf(e.Stderr, "camofleet session %s: %s\n", cmd, errorLine(err))
	return ExitAPI
}
