// Package registry is the control-plane's memory: sessions, workers, the
// event log that feeds /events, the audit log and the queue of session
// requests waiting for capacity. It holds the domain types and the Store
// interface; the adapters live in the sqlite and postgres packages, and
// package open picks one from REGISTRY_URL.
//
// Times are kept to the microsecond and returned in UTC.
package registry

import (
	"context"
	"time"

	"github.com/camo-fleet/camo-fleet/internal/api"
)

// Limits of one page of ListSessions and ListAudit.
const (
	DefaultLimit = 100
	MaxLimit     = 1000
)

// PageLimit returns n clamped to [1, MaxLimit], DefaultLimit when n <= 0.
func PageLimit(n int) int {
	switch {
	case n <= 0:
		return DefaultLimit
	case n > MaxLimit:
		return MaxLimit
	}
	return n
}

// SessionFilter selects sessions. Zero fields match everything; every
// field that is set must match.
type SessionFilter struct {
	// States matches a session in any of these states.
	States   []api.State
	Engine   string
	WorkerID string
	Owner    string
	// Labels matches a session that has every one of these key=value pairs.
	Labels map[string]string
	// Limit is the page size (see PageLimit).
	Limit int
	// Cursor is the next value of the previous page; empty for the first.
	Cursor string
}

// AuditFilter selects audit records. Zero fields match everything.
type AuditFilter struct {
	Actor  string
	Action string
	Target string
	// Since matches records at or after this time.
	Since time.Time
	// BeforeID matches records with a smaller ID: the ID of the last
	// record of the previous page.
	BeforeID int64
	// Limit is the page size (see PageLimit).
	Limit int
}

// Store keeps the registry. Every method that does I/O takes a context and
// gives up when it ends. A record that fails its Validate method is refused
// with ErrInvalid. Implementations are safe for concurrent use.
type Store interface {
	// PutSession inserts s or replaces the session with its ID. CreatedAt
	// is kept from the first Put (now when zero); UpdatedAt is set to now.
	PutSession(ctx context.Context, s Session) error
	// GetSession returns one session or ErrNotFound.
	GetSession(ctx context.Context, id string) (Session, error)
	// ListSessions returns one page of matching sessions, newest first
	// (CreatedAt, then ID), and the cursor of the next page, empty on the
	// last. Pages neither skip nor repeat sessions created before the
	// first page was read, however many are added meanwhile. A cursor the
	// store did not make gives ErrInvalidCursor.
	ListSessions(ctx context.Context, f SessionFilter) ([]Session, string, error)
	// CountSessions returns the number of sessions in each state that has any.
	CountSessions(ctx context.Context) (map[api.State]int, error)

	// PutWorker inserts w or replaces the worker with its ID. RegisteredAt
	// is kept from the first Put (now when zero); LastSeen is now when zero.
	PutWorker(ctx context.Context, w Worker) error
	// GetWorker returns one worker or ErrNotFound.
	GetWorker(ctx context.Context, id string) (Worker, error)
	// ListWorkers returns every worker, ordered by ID.
	ListWorkers(ctx context.Context) ([]Worker, error)
	// DeleteWorker removes a worker, or returns ErrNotFound.
	DeleteWorker(ctx context.Context, id string) error

	// AppendEvent stores e and returns it with its ID (larger than every
	// ID before it, whichever process appended it) and Time (now when zero).
	AppendEvent(ctx context.Context, e Event) (Event, error)
	// EventsAfter returns up to limit events with an ID above afterID,
	// oldest first: the replay of an SSE client's Last-Event-ID.
	EventsAfter(ctx context.Context, afterID int64, limit int) ([]Event, error)
	// LatestEventID returns the largest event ID kept, 0 when there is none.
	LatestEventID(ctx context.Context) (int64, error)
	// PruneEvents deletes all but the newest keepLast events. The newest
	// is always kept, so LatestEventID never goes back; IDs are never reused.
	PruneEvents(ctx context.Context, keepLast int) error
	// Subscribe returns a channel that receives the ID of newly appended
	// events until ctx ends or the store closes; then it is closed. IDs
	// arrive in increasing order; a subscriber that falls behind misses
	// some, never the latest, so treat each as "read EventsAfter your last
	// ID". Which appends are seen depends on the adapter: the postgres
	// Store sees those of every process sharing the database, the sqlite
	// Store only its own.
	Subscribe(ctx context.Context) (<-chan int64, error)

	// AppendAudit stores a and returns it with its ID and Time (now when zero).
	AppendAudit(ctx context.Context, a Audit) (Audit, error)
	// ListAudit returns matching audit records, newest first.
	ListAudit(ctx context.Context, f AuditFilter) ([]Audit, error)

	// Enqueue appends e to the queue and returns it with EnqueuedAt (now
	// when zero) and Position set. With maxLen > 0 it returns ErrQueueFull
	// instead when maxLen entries wait already, atomically across every
	// process sharing the store. An ID already queued gives ErrConflict.
	Enqueue(ctx context.Context, e QueueEntry, maxLen int) (QueueEntry, error)
	// Dequeue removes an entry, or returns ErrNotFound: of several
	// replicas dequeuing the same entry, exactly one succeeds.
	Dequeue(ctx context.Context, id string) error
	// ListQueue returns the queue, first in first, Position 1 at the head.
	ListQueue(ctx context.Context) ([]QueueEntry, error)

	// Close stops the store's background work and closes its connections.
	// It is safe to call more than once.
	Close() error
}
