// Package fanout hands the IDs of new events to the registry's subscribers.
// A subscriber is never waited on: when its buffer is full, its oldest
// pending ID is dropped so the newest always gets through.
package fanout

import (
	"context"
	"fmt"
	"sync"

	"github.com/camo-fleet/camo-fleet/internal/registry"
)

// buffer is how many IDs a subscriber may have pending.
const buffer = 16

// Hub fans event IDs out to subscribers, each ID at most once and in
// increasing order. The zero Hub is not usable; call New.
type Hub struct {
	mu     sync.Mutex
	subs   map[*sub]struct{}
	last   int64
	closed bool
}

type sub struct {
	ch   chan int64
	stop func() bool
}

// New returns a hub that publishes only IDs above last.
func New(last int64) *Hub {
	return &Hub{subs: make(map[*sub]struct{}), last: last}
}

// Subscribe returns a channel of IDs, closed when ctx ends or the hub closes.
func (h *Hub) Subscribe(ctx context.Context) (<-chan int64, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("subscribe: %w", err)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, fmt.Errorf("subscribe: %w", registry.ErrClosed)
	}
	s := &sub{ch: make(chan int64, buffer)}
	h.subs[s] = struct{}{}
	s.stop = context.AfterFunc(ctx, func() { h.remove(s) })
	return s.ch, nil
}

func (h *Hub) remove(s *sub) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if _, ok := h.subs[s]; ok {
		delete(h.subs, s)
		close(s.ch)
	}
}

// Last returns the largest ID published so far.
func (h *Hub) Last() int64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.last
}

// Publish hands id to every subscriber unless an ID as large went out before.
func (h *Hub) Publish(id int64) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed || id <= h.last {
		return
	}
	h.last = id
	for s := range h.subs {
		select {
		case s.ch <- id:
			continue
		default:
		}
		// Full: drop the oldest pending ID. The subscriber may have taken
		// one meanwhile, so both steps must not block.
		select {
		case <-s.ch:
		default:
		}
		select {
		case s.ch <- id:
		default:
		}
	}
}

// Close closes every subscriber's channel; later Subscribe calls fail with
// registry.ErrClosed. It is safe to call more than once.
func (h *Hub) Close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return
	}
	h.closed = true
	for s := range h.subs {
		s.stop()
		delete(h.subs, s)
		close(s.ch)
	}
}
