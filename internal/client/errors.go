package client

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/camo-fleet/camo-fleet/internal/api"
)

// maxErrorBytes bounds the error body read; the API's are a few hundred bytes.
const maxErrorBytes = 64 << 10

// APIError is an answer with a 4xx or 5xx status. Code, Message and Field come
// from the API's {"error": {...}} body; for an answer without that body (a
// proxy's error page, say) Code is empty and Message holds the start of the
// body or the status text.
type APIError struct {
	// Status is the HTTP status, e.g. 400.
	Status int
	// Code is the API's stable error code, e.g. "invalid_field".
	Code string
	// Message says what went wrong, for people.
	Message string
	// Field names the request field at fault, e.g. "viewport.width", if any.
	Field string
}

// Error returns the message followed by the status, code and field.
func (e *APIError) Error() string {
	var b strings.Builder
	b.WriteString(e.Message)
	fmt.Fprintf(&b, " (HTTP %d", e.Status)
	if e.Code != "" {
		b.WriteString(", code " + e.Code)
	}
	if e.Field != "" {
		b.WriteString(", field " + e.Field)
	}
	b.WriteString(")")
	return b.String()
}

// readAPIError builds the *APIError for a non-2xx answer.
func readAPIError(resp *http.Response) *APIError {
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBytes))
	e := &APIError{Status: resp.StatusCode}

	var body api.Error
	if err := json.Unmarshal(raw, &body); err == nil && body.Error.Code != "" {
		e.Code, e.Message, e.Field = body.Error.Code, body.Error.Message, body.Error.Field
		if e.Message == "" {
			e.Message = http.StatusText(resp.StatusCode)
		}
		return e
	}
	e.Message = firstLine(string(raw), 200)
	if e.Message == "" {
		e.Message = http.StatusText(resp.StatusCode)
	}
	return e
}

// firstLine returns the first non-blank line of s, cut to at most n bytes.
func firstLine(s string, n int) string {
	for line := range strings.Lines(s) {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		if len(line) > n {
			line = strings.ToValidUTF8(line[:n], "") + "…"
		}
		return line
	}
	return ""
}
