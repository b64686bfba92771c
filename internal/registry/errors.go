package registry

import "errors"

// Domain errors; the HTTP layer maps each to a status in one table.
var (
	ErrNotFound      = errors.New("not found in registry")
	ErrConflict      = errors.New("already in registry")
	ErrInvalid       = errors.New("invalid registry record")
	ErrInvalidCursor = errors.New("invalid page cursor")
	ErrQueueFull     = errors.New("session queue is full")
	ErrClosed        = errors.New("registry is closed")
	// ErrSchemaTooNew is a database migrated by a newer camofleet than
	// this one: upgrade this binary rather than downgrade the database.
	ErrSchemaTooNew = errors.New("registry database schema is newer than this camofleet")
)
