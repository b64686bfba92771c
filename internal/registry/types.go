package registry

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/camo-fleet/camo-fleet/internal/api"
)

// Session is the registry's record of one browser session. The columns it
// is filtered by are fields; Data holds the whole api.Session as last seen.
type Session struct {
	ID        string
	WorkerID  string
	Engine    string
	Mode      api.Mode
	State     api.State
	Reason    api.Reason
	Owner     string
	Labels    map[string]string
	CreatedAt time.Time
	UpdatedAt time.Time
	EndedAt   *time.Time
	// Data is the JSON of the last api.Session seen; nil when none.
	Data json.RawMessage
}

// NewSession returns the record of s, owned by owner.
func NewSession(s api.Session, owner string) (Session, error) {
	data, err := json.Marshal(s)
	if err != nil {
		return Session{}, fmt.Errorf("encode session %s: %w", s.ID, err)
	}
	return Session{
		ID:        s.ID,
		WorkerID:  s.WorkerID,
		Engine:    s.Engine,
		Mode:      s.Mode,
		State:     s.State,
		Reason:    s.Reason,
		Owner:     owner,
		Labels:    s.Labels,
		CreatedAt: s.CreatedAt,
		EndedAt:   s.EndedAt,
		Data:      data,
	}, nil
}

// API decodes Data, the api.Session the record was made from.
func (s Session) API() (api.Session, error) {
	var out api.Session
	if len(s.Data) == 0 {
		return out, fmt.Errorf("decode session %s: %w: no data", s.ID, ErrInvalid)
	}
	if err := json.Unmarshal(s.Data, &out); err != nil {
		return out, fmt.Errorf("decode session %s: %w", s.ID, err)
	}
	return out, nil
}

// WorkerState is whether the control-plane sends sessions to a worker.
type WorkerState string

// The worker states.
const (
	WorkerUp       WorkerState = "up"
	WorkerDown     WorkerState = "down"
	WorkerDraining WorkerState = "draining"
)

// Worker is a worker the control-plane knows.
type Worker struct {
	ID      string
	URL     string
	Version string
	State   WorkerState
	Engines []string
	// Capacity is how many sessions the worker runs at once; Active how
	// many it ran when last seen.
	Capacity     int
	Active       int
	LastSeen     time.Time
	RegisteredAt time.Time
	// Static marks a worker from the configuration rather than one that
	// registered itself.
	Static bool
	// Data is the worker's last health report as JSON; nil when none.
	Data json.RawMessage
}

// Event is one entry of the event log that /events streams.
type Event struct {
	// ID is assigned by the store and is the SSE event id.
	ID        int64
	Time      time.Time
	Type      string
	SessionID string
	WorkerID  string
	Data      json.RawMessage
}

// Audit is one entry of the audit log: who did what to which target.
type Audit struct {
	ID         int64
	Time       time.Time
	Actor      string
	Role       string
	Action     string
	Target     string
	Detail     string
	RemoteAddr string
}

// QueueEntry is a session request waiting for a worker with capacity.
type QueueEntry struct {
	ID      string
	Engine  string
	Owner   string
	Request json.RawMessage
	// EnqueuedAt is when it joined the queue.
	EnqueuedAt time.Time
	// Position is 1 at the head of the queue; set by the store.
	Position int
}
