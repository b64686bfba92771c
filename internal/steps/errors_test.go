package steps

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/mxschmitt/playwright-go"
)

// pwError builds an error the way playwright-go wraps a server error.
func pwError(kind error, message string) error {
	pe := &playwright.Error{Name: "Error", Message: message}
	if kind == nil {
		return fmt.Errorf("%w: %w", playwright.ErrPlaywright, pe)
	}
	return fmt.Errorf("%w: %w: %w", playwright.ErrPlaywright, kind, pe)
}

func TestDescribe(t *testing.T) {
	tests := []struct {
		name    string
		err     error
		code    string
		message string
	}{
		{"playwright timeout",
			pwError(playwright.ErrTimeout, "locator.click: Timeout 500ms exceeded.\nCall log:\n  - x"),
			CodeTimeout, "locator.click: Timeout 500ms exceeded."},
		{"step timeout", fmt.Errorf("%w after 1s", errStepTimeout), CodeTimeout,
			"step timed out after 1s"},
		{"deadline", stopped(context.DeadlineExceeded), CodeTimeout,
			"step timed out: the run's deadline passed: context deadline exceeded"},
		{"url blocked",
			fmt.Errorf("%w: %w", errNavigation, pwError(nil,
				"page.goto: URL_BLOCKED: navigation to \"file:///\" is blocked\nCall log:")),
			CodeURLBlocked, "URL_BLOCKED: navigation to \"file:///\" is blocked"},
		{"chromium net error",
			fmt.Errorf("%w: %w", errNavigation,
				pwError(nil, "page.goto: net::ERR_CONNECTION_REFUSED at http://127.0.0.1:1/")),
			CodeNavigationFailed, "page.goto: net::ERR_CONNECTION_REFUSED at http://127.0.0.1:1/"},
		{"firefox net error outside goto",
			pwError(nil, "page.waitForURL: NS_ERROR_CONNECTION_REFUSED"),
			CodeNavigationFailed, "page.waitForURL: NS_ERROR_CONNECTION_REFUSED"},
		{"evaluate", fmt.Errorf("%w: %w", errEvaluate, pwError(nil, "page.evaluate: Error: boom")),
			CodeEvaluateError, "page.evaluate: Error: boom"},
		{"target closed", pwError(playwright.ErrTargetClosed,
			"locator.waitFor: Target page, context or browser has been closed"),
			CodeBrowserClosed, "locator.waitFor: Target page, context or browser has been closed"},
		{"closed text only", errors.New("frame.click: Target closed"), CodeBrowserClosed,
			"frame.click: Target closed"},
		{"closed during evaluate", fmt.Errorf("%w: %w", errEvaluate,
			pwError(playwright.ErrTargetClosed, "page.evaluate: Target page has been closed")),
			CodeBrowserClosed, "page.evaluate: Target page has been closed"},
		{"cancelled", stopped(context.Canceled), CodeCancelled,
			"step cancelled: context canceled"},
		{"bare cancel", context.Canceled, CodeCancelled, "context canceled"},
		{"artifact", &artifactError{err: errors.New("save screenshot \"a\": disk full")},
			CodeArtifactError, "save screenshot \"a\": disk full"},
		{"unsupported", fmt.Errorf("%w: pdf needs chromium", errUnsupported),
			CodeUnsupportedByEngine, "unsupported by engine: pdf needs chromium"},
		{"other", pwError(nil, "locator.check: Clicking the checkbox did not change its state"),
			CodeStepFailed, "locator.check: Clicking the checkbox did not change its state"},
		{"long message", errors.New(strings.Repeat("é", 400)), CodeStepFailed,
			strings.Repeat("é", maxMessageLen/2) + "…"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := describe(Env{}, tc.err)
			if got.Code != tc.code || got.Message != tc.message {
				t.Errorf("describe = %s %q, want %s %q", got.Code, got.Message, tc.code, tc.message)
			}
		})
	}
}

func TestPNGSize(t *testing.T) {
	header := func(w, h byte) []byte {
		b := append([]byte{}, pngSignature...)
		b = append(b, 0, 0, 0, 13)
		b = append(b, "IHDR"...)
		return append(b, 0, 0, 3, w, 0, 0, 2, h)
	}
	tests := []struct {
		name          string
		data          []byte
		width, height int
		fails         bool
	}{
		{"header", header(0x20, 0x58), 800, 600, false},
		{"empty", nil, 0, 0, true},
		{"not a png", []byte(strings.Repeat("GIF89a", 10)), 0, 0, true},
		{"no IHDR first", append(header(1, 1)[:12], "IDAT00000000"...), 0, 0, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			w, h, err := pngSize(tc.data)
			if (err != nil) != tc.fails || w != tc.width || h != tc.height {
				t.Errorf("pngSize = %d, %d, %v; want %d, %d, failure %v",
					w, h, err, tc.width, tc.height, tc.fails)
			}
		})
	}
}

func TestSaveAfterFinish(t *testing.T) {
	tests := []struct {
		name     string
		finished bool
		code     string
	}{
		{"during the step", false, ""},
		{"after Run returned", true, CodeCancelled},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			called := false
			save := func(_, _, _ string, _ []byte) (string, error) {
				called = true
				return "screenshots/a.png", nil
			}
			r := &runner{env: Env{Save: save}}
			if tc.finished {
				r.finish()
			}
			_, err := r.save("screenshot", "a", "png", nil)
			if tc.code == "" && (err != nil || !called) {
				t.Fatalf("save = %v, called %v; want it stored", err, called)
			}
			if tc.code != "" && (err == nil || called || classify(err) != tc.code) {
				t.Fatalf("save = %v, called %v; want %s without a call", err, called, tc.code)
			}
		})
	}
}
