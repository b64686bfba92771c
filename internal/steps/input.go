package steps

import (
	"time"

	"github.com/mxschmitt/playwright-go"
)

// clickStep clicks an element.
type clickStep struct {
	Selector   string `json:"selector"`
	Button     string `json:"button"`
	ClickCount *int   `json:"clickCount"`
}

func (s *clickStep) check(Limits, time.Duration) *FieldError {
	return firstErr(
		required("selector", s.Selector),
		oneOf("button", s.Button, "left", "right", "middle"),
		between("clickCount", s.ClickCount, 1, 10),
	)
}

func (s *clickStep) run(r *runner) (any, error) {
	return nil, r.locator(s.Selector).Click(playwright.LocatorClickOptions{
		Button:     optional[playwright.MouseButton](s.Button),
		ClickCount: s.ClickCount,
		Timeout:    r.limit(),
	})
}

// fillStep replaces the value of a field.
type fillStep struct {
	Selector string  `json:"selector"`
	Value    *string `json:"value"`
}

func (s *fillStep) check(Limits, time.Duration) *FieldError {
	return firstErr(required("selector", s.Selector), present("value", s.Value))
}

func (s *fillStep) run(r *runner) (any, error) {
	opts := playwright.LocatorFillOptions{Timeout: r.limit()}
	return nil, r.locator(s.Selector).Fill(*s.Value, opts)
}

// typeStep types text into an element key by key.
type typeStep struct {
	Selector string  `json:"selector"`
	Text     *string `json:"text"`
	DelayMs  *int    `json:"delayMs"`
}

func (s *typeStep) check(Limits, time.Duration) *FieldError {
	return firstErr(
		required("selector", s.Selector),
		present("text", s.Text),
		between("delayMs", s.DelayMs, 0, 1000),
	)
}

func (s *typeStep) run(r *runner) (any, error) {
	opts := playwright.LocatorPressSequentiallyOptions{Timeout: r.limit()}
	if s.DelayMs != nil {
		opts.Delay = new(float64(*s.DelayMs))
	}
	return nil, r.locator(s.Selector).PressSequentially(*s.Text, opts)
}

// pressStep presses a key on an element or on the page's keyboard.
type pressStep struct {
	Selector string `json:"selector"`
	Key      string `json:"key"`
}

func (s *pressStep) check(Limits, time.Duration) *FieldError {
	return required("key", s.Key)
}

func (s *pressStep) run(r *runner) (any, error) {
	if s.Selector == "" {
		return nil, r.env.Page.Keyboard().Press(s.Key)
	}
	opts := playwright.LocatorPressOptions{Timeout: r.limit()}
	return nil, r.locator(s.Selector).Press(s.Key, opts)
}

// hoverStep moves the mouse over an element.
type hoverStep struct {
	Selector string `json:"selector"`
}

func (s *hoverStep) check(Limits, time.Duration) *FieldError {
	return required("selector", s.Selector)
}

func (s *hoverStep) run(r *runner) (any, error) {
	opts := playwright.LocatorHoverOptions{Timeout: r.limit()}
	return nil, r.locator(s.Selector).Hover(opts)
}

// checkStep checks a checkbox or radio button.
type checkStep struct {
	Selector string `json:"selector"`
}

func (s *checkStep) check(Limits, time.Duration) *FieldError {
	return required("selector", s.Selector)
}

func (s *checkStep) run(r *runner) (any, error) {
	opts := playwright.LocatorCheckOptions{Timeout: r.limit()}
	return nil, r.locator(s.Selector).Check(opts)
}

// uncheckStep unchecks a checkbox.
type uncheckStep struct {
	Selector string `json:"selector"`
}

func (s *uncheckStep) check(Limits, time.Duration) *FieldError {
	return required("selector", s.Selector)
}

func (s *uncheckStep) run(r *runner) (any, error) {
	opts := playwright.LocatorUncheckOptions{Timeout: r.limit()}
	return nil, r.locator(s.Selector).Uncheck(opts)
}

// selectStep selects options of a <select> by value or label.
type selectStep struct {
	Selector string   `json:"selector"`
	Values   []string `json:"values"`
	Value    *string  `json:"value"`
}

func (s *selectStep) check(Limits, time.Duration) *FieldError {
	if fe := required("selector", s.Selector); fe != nil {
		return fe
	}
	switch {
	case s.Values != nil && s.Value != nil:
		return fieldErr("value", "cannot be combined with values")
	case s.Value != nil:
		return nil
	case s.Values == nil:
		return fieldErr("values", "is required (or value)")
	case len(s.Values) == 0:
		return fieldErr("values", "must not be empty")
	}
	return nil
}

func (s *selectStep) run(r *runner) (any, error) {
	values := s.Values
	if s.Value != nil {
		values = []string{*s.Value}
	}
	opts := playwright.LocatorSelectOptionOptions{Timeout: r.limit()}
	choice := playwright.SelectOptionValues{ValuesOrLabels: &values}
	_, err := r.locator(s.Selector).SelectOption(choice, opts)
	return nil, err
}

// waitForSelectorStep waits for an element to reach a state.
type waitForSelectorStep struct {
	Selector string `json:"selector"`
	State    string `json:"state"`
}

func (s *waitForSelectorStep) check(Limits, time.Duration) *FieldError {
	return firstErr(
		required("selector", s.Selector),
		oneOf("state", s.State, "attached", "detached", "visible", "hidden"),
	)
}

func (s *waitForSelectorStep) run(r *runner) (any, error) {
	return nil, r.locator(s.Selector).WaitFor(playwright.LocatorWaitForOptions{
		State:   optional[playwright.WaitForSelectorState](s.State),
		Timeout: r.limit(),
	})
}

// scrollStep brings an element into view or scrolls the window.
type scrollStep struct {
	Selector string   `json:"selector"`
	X        *float64 `json:"x"`
	Y        *float64 `json:"y"`
}

func (s *scrollStep) check(Limits, time.Duration) *FieldError {
	byXY := s.X != nil || s.Y != nil
	if s.Selector == "" && !byXY {
		return fieldErr("selector", "is required unless x or y is given")
	}
	return firstErr(
		excludes("x", s.X != nil, "selector", s.Selector != ""),
		excludes("y", s.Y != nil, "selector", s.Selector != ""),
	)
}

// scrollScript scrolls the window, keeping an axis that is given as null.
const scrollScript = `([x, y]) => window.scrollTo(x ?? window.scrollX, y ?? window.scrollY)`

func (s *scrollStep) run(r *runner) (any, error) {
	if s.Selector != "" {
		opts := playwright.LocatorScrollIntoViewIfNeededOptions{Timeout: r.limit()}
		return nil, r.locator(s.Selector).ScrollIntoViewIfNeeded(opts)
	}
	_, err := r.env.Page.Evaluate(scrollScript, []any{orNull(s.X), orNull(s.Y)})
	return nil, err
}

// orNull turns an absent number into an untyped nil, which reaches the page
// as null.
func orNull(v *float64) any {
	if v == nil {
		return nil
	}
	return *v
}
