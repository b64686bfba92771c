package events

import (
	"context"
	"sync"
	"time"

	"github.com/camo-fleet/camo-fleet/internal/registry"
)

// Memory is an in-process event Source that keeps the newest events in a
// ring; a worker uses it for its own /events stream.
type Memory struct {
	mu     sync.Mutex
	keep   int
	events []registry.Event
	nextID int64
	subs   map[chan int64]struct{}
}

var _ Source = (*Memory)(nil)

// NewMemory returns a Memory that keeps the newest keep events.
func NewMemory(keep int) *Memory {
	return &Memory{keep: keep, nextID: 1, subs: map[chan int64]struct{}{}}
}

// AppendEvent stores e with the next id and wakes subscribers.
func (m *Memory) AppendEvent(_ context.Context, e registry.Event) (registry.Event, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	e.ID = m.nextID
	m.nextID++
	if e.Time.IsZero() {
		e.Time = time.Now().UTC()
	}
	m.events = append(m.events, e)
	if over := len(m.events) - m.keep; over > 0 {
		m.events = append(m.events[:0], m.events[over:]...)
	}
	for ch := range m.subs {
		select {
		case ch <- e.ID:
		default: // the subscriber reads EventsAfter anyway
		}
	}
	return e, nil
}

// EventsAfter returns up to limit kept events with an id above after.
func (m *Memory) EventsAfter(_ context.Context, after int64, limit int) ([]registry.Event, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []registry.Event
	for _, e := range m.events {
		if e.ID > after {
			out = append(out, e)
			if len(out) == limit {
				break
			}
		}
	}
	return out, nil
}

// LatestEventID returns the id of the newest event, 0 when none.
func (m *Memory) LatestEventID(context.Context) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.nextID - 1, nil
}

// Subscribe returns a channel of new event ids until ctx ends.
func (m *Memory) Subscribe(ctx context.Context) (<-chan int64, error) {
	ch := make(chan int64, 1)
	m.mu.Lock()
	m.subs[ch] = struct{}{}
	m.mu.Unlock()
	go func() {
		<-ctx.Done()
		m.mu.Lock()
		delete(m.subs, ch)
		m.mu.Unlock()
		close(ch)
	}()
	return ch, nil
}
