package registry

import (
	"encoding/json"
	"fmt"
)

// Validate reports a session the store cannot keep.
func (s Session) Validate() error {
	if s.ID == "" {
		return fmt.Errorf("%w: session without id", ErrInvalid)
	}
	return validJSON("session "+s.ID+" data", s.Data)
}

// Validate reports a worker the store cannot keep.
func (w Worker) Validate() error {
	if w.ID == "" {
		return fmt.Errorf("%w: worker without id", ErrInvalid)
	}
	return validJSON("worker "+w.ID+" data", w.Data)
}

// Validate reports an event the store cannot keep.
func (e Event) Validate() error {
	if e.Type == "" {
		return fmt.Errorf("%w: event without type", ErrInvalid)
	}
	return validJSON("event data", e.Data)
}

// Validate reports an audit record the store cannot keep.
func (a Audit) Validate() error {
	if a.Action == "" {
		return fmt.Errorf("%w: audit record without action", ErrInvalid)
	}
	return nil
}

// Validate reports a queue entry the store cannot keep.
func (e QueueEntry) Validate() error {
	if e.ID == "" {
		return fmt.Errorf("%w: queue entry without id", ErrInvalid)
	}
	return validJSON("queue entry "+e.ID+" request", e.Request)
}

// validJSON accepts empty (stored as NULL) or valid JSON.
func validJSON(what string, b json.RawMessage) error {
	if len(b) == 0 || json.Valid(b) {
		return nil
	}
	return fmt.Errorf("%w: %s is not valid JSON", ErrInvalid, what)
}
