package steps

import (
	"fmt"
	"time"

	"github.com/mxschmitt/playwright-go"
)

// GotoOutput is what goto reports.
type GotoOutput struct {
	// URL is the page's URL once the navigation ended, after redirects.
	URL string `json:"url"`
	// Status is the HTTP status of the main response, nil when there was none.
	Status *int `json:"status"`
}

// gotoStep navigates the page.
type gotoStep struct {
	URL       string `json:"url"`
	WaitUntil string `json:"waitUntil"`
}

func (s *gotoStep) check(Limits, time.Duration) *FieldError {
	return firstErr(
		required("url", s.URL),
		oneOf("waitUntil", s.WaitUntil, waitUntilStates...),
	)
}

func (s *gotoStep) run(r *runner) (any, error) {
	opts := playwright.PageGotoOptions{
		Timeout:   r.limit(),
		WaitUntil: optional[playwright.WaitUntilState](s.WaitUntil),
	}
	resp, err := r.env.Page.Goto(s.URL, opts)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errNavigation, err)
	}
	out := GotoOutput{URL: r.env.Page.URL()}
	if resp != nil {
		status := resp.Status()
		out.Status = &status
	}
	return out, nil
}

// waitForURLStep waits until the page's URL matches a glob.
type waitForURLStep struct {
	URL       string `json:"url"`
	WaitUntil string `json:"waitUntil"`
}

func (s *waitForURLStep) check(Limits, time.Duration) *FieldError {
	return firstErr(
		required("url", s.URL),
		oneOf("waitUntil", s.WaitUntil, waitUntilStates...),
	)
}

func (s *waitForURLStep) run(r *runner) (any, error) {
	opts := playwright.PageWaitForURLOptions{
		Timeout:   r.limit(),
		WaitUntil: optional[playwright.WaitUntilState](s.WaitUntil),
	}
	return nil, r.env.Page.WaitForURL(s.URL, opts)
}

// waitForLoadStateStep waits until the page reaches a load state.
type waitForLoadStateStep struct {
	State string `json:"state"`
}

func (s *waitForLoadStateStep) check(Limits, time.Duration) *FieldError {
	return oneOf("state", s.State, "load", "domcontentloaded", "networkidle")
}

func (s *waitForLoadStateStep) run(r *runner) (any, error) {
	opts := playwright.PageWaitForLoadStateOptions{
		Timeout: r.limit(),
		State:   optional[playwright.LoadState](s.State),
	}
	return nil, r.env.Page.WaitForLoadState(opts)
}

// waitStep sleeps.
type waitStep struct {
	Ms *int64 `json:"ms"`
}

func (s *waitStep) check(_ Limits, timeout time.Duration) *FieldError {
	if s.Ms == nil {
		return fieldErr("ms", "is required")
	}
	return between("ms", s.Ms, 0, timeout.Milliseconds())
}

func (s *waitStep) run(r *runner) (any, error) {
	t := time.NewTimer(time.Duration(*s.Ms) * time.Millisecond)
	defer t.Stop()
	select {
	case <-t.C:
		return nil, nil
	case <-r.ctx.Done():
		return nil, r.ctx.Err()
	}
}
