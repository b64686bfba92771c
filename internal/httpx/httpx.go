// Package httpx holds the HTTP helpers every camofleet API shares: strict
// JSON request decoding and the JSON answers, errors included.
package httpx

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/camo-fleet/camo-fleet/internal/api"
)

// Request errors.
var (
	ErrBadRequest = errors.New("bad request")
	ErrTooLarge   = errors.New("request body too large")
)

// FieldError is a request field with a bad value.
type FieldError struct {
	Field  string
	Reason string
}

func (e *FieldError) Error() string { return fmt.Sprintf("%s: %s", e.Field, e.Reason) }

// ErrorBody is the JSON body of an error answer.
func ErrorBody(code, msg, field string) api.Error {
	return api.Error{Error: api.ErrorBody{Code: code, Message: msg, Field: field}}
}

// WriteJSON answers with status and v as JSON, never cached.
func WriteJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(v)
}
