package steps

import (
	"context"
	"errors"
	"fmt"
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
	// extension without a dot. Save must cope with a name used twice.
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
// playwright-go calls cannot be cancelled: when ctx ends first, Run returns
// at once but the call goes on in the background until its own timeout, or
// until the page closes.
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
	if budget <= 0 {
		return nil, fmt.Errorf("%w: no time left", errStepTimeout)
	}

	sctx, cancel := context.WithTimeout(ctx, budget+timeoutGrace)
	defer cancel()
	r := &runner{ctx: sctx, env: env, timeout: float64(budget.Milliseconds())}
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
func RunAll(ctx context.Context, env Env, steps []Step, onResult func(api.StepResult)) []api.StepResult {
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
