package steps

import (
	"context"
	"errors"
	"strings"
	"unicode/utf8"

	"github.com/camo-fleet/camo-fleet/internal/api"
	"github.com/mxschmitt/playwright-go"
)

// The codes of a failed step, in api.StepError.Code.
const (
	CodeTimeout          = "TIMEOUT"
	CodeURLBlocked       = "URL_BLOCKED"
	CodeNavigationFailed = "NAVIGATION_FAILED"
	CodeEvaluateError    = "EVALUATE_ERROR"
	CodeBrowserClosed    = "BROWSER_CLOSED"
	CodeCancelled        = "CANCELLED"
	CodeArtifactError    = "ARTIFACT_ERROR"
	CodeStepFailed       = "STEP_FAILED"
	// CodeUnsupportedByEngine (declared with FieldError) is also a step code.
)

// Sentinels the actions wrap their failures with.
var (
	errStepTimeout = errors.New("step timed out")
	errNavigation  = errors.New("navigation failed")
	errEvaluate    = errors.New("evaluate failed")
	errUnsupported = errors.New("unsupported by engine")
	errPanic       = errors.New("internal error")
	errCancelled   = errors.New("step cancelled")
)

// artifactError is a failure to store a produced file.
type artifactError struct{ err error }

func (e *artifactError) Error() string { return e.err.Error() }
func (e *artifactError) Unwrap() error { return e.err }

// maxMessageLen bounds a StepError message.
const maxMessageLen = 300

// rule maps the errors it matches to a code; msg is the error's text.
type rule struct {
	code  string
	match func(err error, msg string) bool
}

// rules are tried in order: the first match gives the code.
var rules = []rule{
	{CodeArtifactError, func(err error, _ string) bool {
		var ae *artifactError
		return errors.As(err, &ae)
	}},
	{CodeCancelled, func(err error, _ string) bool {
		return errors.Is(err, errCancelled) || errors.Is(err, context.Canceled)
	}},
	{CodeURLBlocked, func(_ error, msg string) bool {
		return strings.Contains(msg, "URL_BLOCKED")
	}},
	{CodeTimeout, func(err error, _ string) bool {
		return errors.Is(err, playwright.ErrTimeout) || errors.Is(err, errStepTimeout) ||
			errors.Is(err, context.DeadlineExceeded)
	}},
	{CodeBrowserClosed, func(err error, msg string) bool {
		return errors.Is(err, playwright.ErrTargetClosed) || closedText(msg)
	}},
	{CodeUnsupportedByEngine, func(err error, _ string) bool {
		return errors.Is(err, errUnsupported)
	}},
	{CodeEvaluateError, func(err error, _ string) bool {
		return errors.Is(err, errEvaluate)
	}},
	{CodeNavigationFailed, func(err error, msg string) bool {
		return errors.Is(err, errNavigation) || netErrorText(msg)
	}},
}

// closedText reports whether msg says that the page, context or browser
// went away.
func closedText(msg string) bool {
	msg = strings.ToLower(msg)
	for _, s := range []string{"has been closed", "target closed", "browser has disconnected"} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}

// netErrorText reports whether msg carries a browser network error.
func netErrorText(msg string) bool {
	return strings.Contains(msg, "net::ERR_") || strings.Contains(msg, "NS_ERROR_")
}

// classify returns the code of a step failure.
func classify(err error) string {
	msg := err.Error()
	for _, r := range rules {
		if r.match(err, msg) {
			return r.code
		}
	}
	return CodeStepFailed
}

// describe turns a step failure into its code and a short message.
func describe(env Env, err error) *api.StepError {
	code := classify(err)
	if code == CodeStepFailed && env.Page != nil && env.Page.IsClosed() {
		code = CodeBrowserClosed
	}
	return &api.StepError{Code: code, Message: message(err)}
}

// message is the first line of the innermost Playwright error, or of err,
// cut to maxMessageLen; Playwright's call log is left out.
func message(err error) string {
	text := err.Error()
	var pe *playwright.Error
	if errors.As(err, &pe) {
		text = pe.Message
	}
	if i := strings.Index(text, "URL_BLOCKED:"); i >= 0 {
		text = text[i:]
	}
	line, _, _ := strings.Cut(strings.TrimSpace(text), "\n")
	return shorten(line, maxMessageLen)
}

// shorten cuts s to at most n bytes on a rune boundary, marking the cut.
func shorten(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
