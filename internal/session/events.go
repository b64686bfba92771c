package session

import (
	"github.com/camo-fleet/camo-fleet/internal/api"
	"github.com/camo-fleet/camo-fleet/internal/artifact"
)

// EventType names a change.
type EventType string

// The event types a worker publishes.
const (
	EventCreated  EventType = "session.created"
	EventState    EventType = "session.state"
	EventStep     EventType = "session.step"
	EventArtifact EventType = "session.artifact"
	EventEnded    EventType = "session.ended"
	EventBlocked  EventType = "session.url_blocked"
)

// Event is one change of a session.
type Event struct {
	Type     EventType          `json:"type"`
	Session  api.Session        `json:"session"`
	Step     *api.StepResult    `json:"step,omitempty"`
	Artifact *artifact.Artifact `json:"artifact,omitempty"`
	URL      string             `json:"url,omitempty"`
}

// Subscribe registers fn for every event; fn must not block.
func (m *Manager) Subscribe(fn func(Event)) {
	m.subsMu.Lock()
	m.subs = append(m.subs, fn)
	m.subsMu.Unlock()
}

func (m *Manager) publish(ev Event) {
	m.subsMu.RLock()
	subs := m.subs
	m.subsMu.RUnlock()
	for _, fn := range subs {
		fn(ev)
	}
}
