package session

import (
	"errors"
	"fmt"
)

// Domain errors; the HTTP layer maps each to a status in one table.
var (
	ErrNotFound          = errors.New("session not found")
	ErrEnded             = errors.New("session has ended")
	ErrNotReady          = errors.New("session is not ready")
	ErrCapacity          = errors.New("worker is at capacity")
	ErrEngineUnavailable = errors.New("engine is not available on this worker")
	ErrDirectDisabled    = errors.New("direct mode is disabled on this worker (ALLOW_DIRECT=false)")
	ErrWrongMode         = errors.New("operation does not fit the session's mode")
	ErrTokenInvalid      = errors.New("websocket token is missing, wrong, used or expired")
	ErrClientConnected   = errors.New("session already has a connected client")
	ErrShuttingDown      = errors.New("worker is shutting down")
)

// FieldError is a request field with a bad value.
type FieldError struct {
	Field  string
	Reason string
}

func (e *FieldError) Error() string { return fmt.Sprintf("%s: %s", e.Field, e.Reason) }

// StartError is a session that could not start; the session is kept (state
// failed, reason start_failed) so the caller can read why.
type StartError struct {
	SessionID string
	Err       error
}

func (e *StartError) Error() string { return fmt.Sprintf("start session %s: %v", e.SessionID, e.Err) }

func (e *StartError) Unwrap() error { return e.Err }
