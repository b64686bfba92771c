package steps

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/camo-fleet/camo-fleet/internal/api"
	"github.com/mxschmitt/playwright-go"
)

// Env is what steps need from their session.
type Env struct {
	// Page is the page the steps act on.
	Page playwright.Page
	// Engine is the session's browser: "chromium", "firefox" or "camoufox".
	Engine string
	// Save stores a file a step produced and returns the stored artifact
	// name (e.g. "screenshots/home.png"). kind is "screenshot" or "pdf", name
	// a safe base name without extension taken from the step, ext the
	// extension without a dot. Save must cope with a name used twice. Run
	// never calls Save once it has returned, even for a call it gave up on.
	Save func(kind, name, ext string, data []byte) (string, error)
}

// timeoutGrace is how long Run waits past a step's timeout for Playwright
// to report its own timeout, which says what it was waiting for, before it
// gives up on the call.
const timeoutGrace = 500 * time.Millisecond

// action is the parameters of one action: Parse checks them, Run runs them.
type action interface {
	// check validates the parameters; field names are relative to the step.
	check(lim Limits, timeout time.Duration) *FieldError
	// run performs the action and returns its output.
	run(r *runner) (any, error)
}

// runner is what an action runs with.
type runner struct {
	// ctx is done when the step must stop.
	ctx context.Context
	env Env
	// timeout is the Playwright timeout of the step in milliseconds.
	timeout float64

	// mu guards over, which is set when Run has returned: a call Run gave
	// up on must not store its file after that.
	mu   sync.Mutex
	over bool
}

// finish stops save from storing anything, waiting for a save under way.
func (r *runner) finish() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.over = true
}

// limit returns the step's timeout as a Playwright option.
func (r *runner) limit() *float64 {
	return new(r.timeout)
}

// locator returns the first element matching selector.
func (r *runner) locator(selector string) playwright.Locator {
	return r.env.Page.Locator(selector).First()
}

// save hands a produced file to Env.Save.
func (r *runner) save(kind, name, ext string, data []byte) (string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.over {
		return "", fmt.Errorf("%w: the step is over", errCancelled)
	}
	if r.env.Save == nil {
		return "", &artifactError{err: errors.New("no artifact store")}
	}
	stored, err := r.env.Save(kind, name, ext, data)
	if err != nil {
		return "", &artifactError{err: fmt.Errorf("save %s %q: %w", kind, name, err)}
	}
	return stored, nil
}

// Run executes one step and reports its result. It never panics, bounds the
// step by its timeout and by ctx, and maps a failure to one of the Code
// constants with a short message.
//
// Run returns as soon as ctx ends, but playwright-go takes no context: the
// Playwright call goes on in the background until its own timeout or until
// the page closes, and holds a goroutine until then. A context-aware
// playwright-go, or closing the page on cancel, would end it at once.
func Run(ctx context.Context, env Env, index int, s Step) (res api.StepResult) {
	start := time.Now()
	res = api.StepResult{Index: index, Action: s.Action}
	defer func() {
		if p := recover(); p != nil {
			res.Output = nil
			res.Status, res.Error = api.StepFailed, panicError(p)
		}
		res.DurationMs = time.Since(start).Milliseconds()
	}()

	out, err := execute(ctx, env, s)
	if err != nil {
		res.Status, res.Error = api.StepFailed, describe(env, err)
		return res
	}
	res.Status, res.Output = api.StepOK, out
	return res
}

// outcome is what an action's call returned.
type outcome struct {
	out any
	err error
}

// execute runs the step's action in its own goroutine so that ctx and the
// timeout bound it even when Playwright does not return.
func execute(ctx context.Context, env Env, s Step) (any, error) {
	if err := ready(ctx, env, s); err != nil {
		return nil, err
	}
	budget := s.Timeout
	if deadline, ok := ctx.Deadline(); ok {
		budget = min(budget, time.Until(deadline))
	}
	if budget < time.Millisecond { // a Playwright timeout of 0 means none
		return nil, fmt.Errorf("%w: no time left", errStepTimeout)
	}

	sctx, cancel := context.WithTimeout(ctx, budget+timeoutGrace)
	defer cancel()
	r := &runner{ctx: sctx, env: env, timeout: float64(budget.Milliseconds())}
	defer r.finish()
	done := make(chan outcome, 1)
	go func() { done <- call(r, s.act) }()

	select {
	case o := <-done:
		return o.out, o.err
	case <-sctx.Done():
		if err := ctx.Err(); err != nil {
			return nil, stopped(err)
		}
		return nil, fmt.Errorf("%w after %s", errStepTimeout, budget)
	}
}

// ready refuses to start a step that cannot run.
func ready(ctx context.Context, env Env, s Step) error {
	switch {
	case ctx.Err() != nil:
		return stopped(ctx.Err())
	case s.act == nil:
		return errors.New("step was not made by Parse")
	case env.Page == nil || env.Page.IsClosed():
		return fmt.Errorf("%w: the page is closed", playwright.ErrTargetClosed)
	}
	return nil
}

// stopped words why ctx ended.
func stopped(err error) error {
	if errors.Is(err, context.DeadlineExceeded) {
		return fmt.Errorf("%w: the run's deadline passed: %w", errStepTimeout, err)
	}
	return fmt.Errorf("%w: %w", errCancelled, err)
}

// call runs act, turning a panic into an error.
func call(r *runner, act action) (o outcome) {
	defer func() {
		if p := recover(); p != nil {
			o = outcome{err: fmt.Errorf("%w: %v", errPanic, p)}
		}
	}()
	out, err := act.run(r)
	return outcome{out: out, err: err}
}

// panicError reports a panic that escaped call.
func panicError(p any) *api.StepError {
	return &api.StepError{Code: CodeStepFailed, Message: fmt.Sprintf("internal error: %v", p)}
}

// RunAll runs steps in order and returns a result for each: after the first
// failed step the rest are reported as skipped. onResult, when not nil, is
// called with each result, skipped ones included, in order.
func RunAll(
	ctx context.Context, env Env, steps []Step, onResult func(api.StepResult),
) []api.StepResult {
	results := make([]api.StepResult, 0, len(steps))
	failed := false
	for i, s := range steps {
		res := api.StepResult{Index: i, Action: s.Action, Status: api.StepSkipped}
		if !failed {
			res = Run(ctx, env, i, s)
			failed = res.Status != api.StepOK
		}
		results = append(results, res)
		if onResult != nil {
			onResult(res)
		}
	}
	return results
}
