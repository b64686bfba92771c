package cli

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/camo-fleet/camo-fleet/internal/api"
	"github.com/camo-fleet/camo-fleet/internal/client"
)

// stepWait bounds one step's request: the API's longest step timeout
// (10 minutes) and some slack for the answer.
const stepWait = 11 * time.Minute

const runAbout = `Runs a file of Managed steps. FILE is YAML (.yaml, .yml) or JSON (.json);
"-" reads stdin, whose format is told from the content. The file is either a
list of steps, or an object:

  engine: chromium            # chromium (default), firefox or camoufox
  headless: true
  record: {har: true, video: false, screenshots: true}
  viewport: {width: 1280, height: 720}
  labels: {team: search}
  keep: false                 # true: leave the session open after the run
  steps:
    - {action: goto, url: "https://example.com/"}
    - {action: extract, selector: h1, what: text}
    - {action: screenshot, name: home, fullPage: true}

Steps are those of the API (see api/openapi.worker.yaml) and are checked
before anything starts; a bad one is reported with its line. The run creates a
managed session, sends the steps one at a time and prints a line for each
(a spinner shows the running one on a terminal), stops at the first failed
step, then ends the session (unless kept) and lists its artifacts. With
--output json it prints each API answer on a line of its own instead.
Ctrl-C ends the session before exiting.

Exit codes: 0 every step passed, 1 a step failed, 2 bad usage or run file,
3 API or network error, 130 interrupted.`

func runRun(ctx context.Context, e *Env, args []string) int {
	fs := newFlagSet(e, "run", "FILE [flags]", runAbout)
	var keep bool
	fs.BoolVar(&keep, "keep", false, "keep the session open after the run, whatever the file says")
	pos, err := fs.parse(e, args, 1)
	if err != nil {
		return fs.fail(e, err)
	}
	rf, err := readRunFile(pos[0], e.Stdin)
	if err != nil {
		fmt.Fprintf(e.Stderr, "camofleet session run: %v\n", err)
		return ExitUsage
	}
	c, err := fs.client()
	if err != nil {
		return fs.fail(e, err)
	}
	r := &runner{e: e, c: c, file: rf, keep: keep || rf.Keep, json: fs.output == outputJSON}
	r.spin = e.Terminal && !r.json
	return r.run(ctx)
}

// runner runs one run file.
type runner struct {
	e     *Env
	c     *client.Client
	file  *runFile
	keep  bool
	json  bool // print each API answer as a JSON line
	spin  bool // show a spinner while waiting
	width int  // of the longest action, for aligned progress lines
}

func (r *runner) run(ctx context.Context) int {
	start := time.Now()
	s, code := r.create(ctx)
	if s == nil {
		return code
	}
	if ctx.Err() != nil {
		return r.interrupted(ctx, s.ID)
	}

	code = r.steps(ctx, s.ID)
	if ctx.Err() != nil {
		return r.interrupted(ctx, s.ID)
	}
	if r.keep {
		r.textf("session %s kept open; end it with: camofleet session kill %s\n", s.ID, s.ID)
		return code
	}
	if err := r.end(ctx, s.ID); err != nil {
		return max(code, exitFor(ctx, r.e, "run", err))
	}
	if err := r.artifacts(ctx, s.ID); err != nil {
		return max(code, exitFor(ctx, r.e, "run", err))
	}
	r.textf("run took %s\n", duration(time.Since(start)))
	return code
}

// ctxFor returns a context for one request that prints the answer as a
// JSON line in JSON mode.
func (r *runner) ctxFor(ctx context.Context) context.Context {
	if !r.json {
		return ctx
	}
	return client.WithResponseBody(ctx, func(b []byte) { writeCompact(r.e.Stdout, b) })
}

// textf prints a progress line in text mode.
func (r *runner) textf(format string, args ...any) {
	if !r.json {
		fmt.Fprintf(r.e.Stdout, format, args...)
	}
}

// create starts the managed session. Ctrl-C does not cancel the request:
// the session might start anyway and be left behind, so the run waits for
// the answer and then ends it.
func (r *runner) create(ctx context.Context) (*api.Session, int) {
	f := r.file
	req := api.CreateSessionRequest{Mode: api.ModeManaged, Engine: f.Engine, Headless: f.Headless,
		Record: f.Record, Viewport: f.Viewport, Labels: f.Labels}
	cctx, cancel := context.WithTimeout(r.ctxFor(context.WithoutCancel(ctx)), createTimeout)
	defer cancel()

	sp := startSpinner(r.e.Stdout, r.spin, "starting "+f.Engine)
	begin := time.Now()
	s, err := r.c.CreateSession(cctx, req)
	sp.end()
	if err != nil {
		return nil, exitFor(cctx, r.e, "run", err)
	}
	version := s.EngineVersion
	if version != "" {
		version = " " + version
	}
	r.textf("session %s: %s%s ready in %s; %s to run\n", s.ID, s.Engine, version,
		duration(time.Since(begin)), count(len(f.Steps), "step"))
	return s, ExitOK
}

// steps sends the steps one at a time and prints a line for each. It stops
// at the first failed step and prints the rest as skipped.
func (r *runner) steps(ctx context.Context, id string) int {
	for _, a := range r.file.Actions {
		r.width = max(r.width, len(a))
	}
	passed := 0
	for i, raw := range r.file.Steps {
		sp := startSpinner(r.e.Stdout, r.spin, r.label(i))
		res, err := r.step(ctx, id, i, raw)
		sp.end()
		switch {
		case err != nil && ctx.Err() != nil:
			return ExitInterrupted
		case err != nil:
			r.textf("%s  refused\n", r.label(i))
			r.stopped(i, passed, "was refused")
			return exitFor(ctx, r.e, "run", err)
		}
		r.textf("%s  %-7s %7s  %s\n", r.label(i), res.Status,
			duration(time.Duration(res.DurationMs)*time.Millisecond), stepSummary(*res))
		if res.Status != api.StepOK {
			r.stopped(i, passed, "failed")
			return ExitStepFailed
		}
		passed++
	}
	r.textf("%d of %d steps passed\n", passed, len(r.file.Steps))
	return ExitOK
}

// label is "[2/3] extract", padded so that what follows lines up.
func (r *runner) label(i int) string {
	n := len(r.file.Steps)
	return fmt.Sprintf("[%*d/%d] %-*s", len(fmt.Sprint(n)), i+1, n, r.width, r.file.Actions[i])
}

// stopped prints the steps after step i as skipped, and a summary.
func (r *runner) stopped(i, passed int, what string) {
	for j := i + 1; j < len(r.file.Steps); j++ {
		r.textf("%s  %s\n", r.label(j), api.StepSkipped)
	}
	r.textf("%d of %d steps passed; step %d (%s) %s\n", passed, len(r.file.Steps), i+1,
		r.file.Actions[i], what)
}

// step runs step i of the file. An API error about the one-step list it
// sends ("steps[0].url") is renamed to the step's place in the file.
func (r *runner) step(ctx context.Context, id string, i int,
	raw json.RawMessage) (*api.StepResult, error) {
	sctx, cancel := context.WithTimeout(r.ctxFor(ctx), stepWait)
	defer cancel()
	out, err := r.c.RunSteps(sctx, id, []json.RawMessage{raw})
	var ae *client.APIError
	if errors.As(err, &ae) && strings.HasPrefix(ae.Field, "steps[0]") {
		renamed := *ae
		at := fmt.Sprintf("steps[%d]", i)
		renamed.Field = at + strings.TrimPrefix(ae.Field, "steps[0]")
		renamed.Message = strings.ReplaceAll(ae.Message, "steps[0]", at)
		return nil, &renamed
	}
	if err != nil {
		return nil, err
	}
	if len(out.Results) != 1 {
		return nil, fmt.Errorf("step %d: the API answered %d results for one step", i+1,
			len(out.Results))
	}
	return &out.Results[0], nil
}

// end deletes the session and prints how it ended. It is not cut short by
// Ctrl-C: ending the session is what Ctrl-C asks for.
func (r *runner) end(ctx context.Context, id string) error {
	dctx, cancel := context.WithTimeout(r.ctxFor(context.WithoutCancel(ctx)), killTimeout)
	defer cancel()
	sp := startSpinner(r.e.Stdout, r.spin, "ending session")
	s, closing, err := r.c.DeleteSession(dctx, id)
	sp.end()
	var ae *client.APIError
	if errors.As(err, &ae) && ae.Code == "session_ended" {
		// It ended on its own (idle, max duration, crash): say how.
		s, err = r.c.GetSession(dctx, id)
	}
	if err != nil {
		return fmt.Errorf("end session %s: %w", id, err)
	}
	if closing {
		r.textf("session %s is still closing; its artifacts may not be final yet\n", id)
		return nil
	}
	r.textf("session %s ended: %s\n", id, endState(s))
	return nil
}

// artifacts lists what the session kept.
func (r *runner) artifacts(ctx context.Context, id string) error {
	actx, cancel := context.WithTimeout(r.ctxFor(ctx), callTimeout)
	defer cancel()
	list, err := r.c.ListArtifacts(actx, id)
	if err != nil {
		return fmt.Errorf("list artifacts: %w", err)
	}
	if !r.json {
		fmt.Fprintln(r.e.Stdout)
		printArtifacts(r.e, r.c, list.Artifacts)
	}
	return nil
}

// interrupted ends the session after Ctrl-C and returns ExitInterrupted.
func (r *runner) interrupted(ctx context.Context, id string) int {
	fmt.Fprintf(r.e.Stderr, "camofleet session run: interrupted; ending session %s\n", id)
	if err := r.end(ctx, id); err != nil {
		fmt.Fprintf(r.e.Stderr, "camofleet session run: %s\n", errorLine(err))
	}
	return ExitInterrupted
}
