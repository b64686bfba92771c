// Package events streams the fleet's changes to clients as Server-Sent
// Events. Every event is first appended to the registry, which gives it its
// id; the hub learns of new ids from the registry's subscription and fans
// the events out. The same path serves events raised by this process and by
// other control-plane replicas sharing a Postgres registry, and
// Last-Event-ID replay reads the same table.
package events

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/camo-fleet/camo-fleet/internal/registry"
)

// Defaults of a Hub.
const (
	DefaultHeartbeat  = 15 * time.Second
	DefaultBuffer     = 256
	DefaultReplayMax  = 10000
	DefaultDedupe     = 1000
	catchUpBatch      = 500
	reconnectInterval = time.Second
)

// Source is the part of the registry the hub reads.
type Source interface {
	AppendEvent(ctx context.Context, e registry.Event) (registry.Event, error)
	EventsAfter(ctx context.Context, afterID int64, limit int) ([]registry.Event, error)
	LatestEventID(ctx context.Context) (int64, error)
	Subscribe(ctx context.Context) (<-chan int64, error)
}

// Options tune a Hub.
type Options struct {
	Heartbeat time.Duration // comment line sent to idle streams; default 15s
	Buffer    int           // events a subscriber may lag before it is dropped
	ReplayMax int           // most events replayed for one Last-Event-ID
	// Origin, when set, names where an event came from ("" for nowhere in
	// particular). Of the events with one origin no more than
	// DedupeWindow ids apart, only the first is streamed: the others are
	// copies appended by other writers of the same registry.
	Origin       func(registry.Event) string
	DedupeWindow int64
}

// Hub fans registry events out to subscribers.
type Hub struct {
	src  Source
	opts Options
	log  *slog.Logger

	mu   sync.Mutex
	subs map[*subscriber]struct{}
	last atomic.Int64 // id of the newest event fanned out
	// copies tells the events to skip; only Run's goroutine uses it.
	copies *dedupe

	dropped atomic.Int64
}

type subscriber struct {
	ch   chan registry.Event
	gone chan struct{}
	once sync.Once
}

func (s *subscriber) drop() { s.once.Do(func() { close(s.gone) }) }

// New returns a Hub; call Run to start fanning out.
func New(src Source, opts Options, log *slog.Logger) *Hub {
	if opts.Heartbeat <= 0 {
		opts.Heartbeat = DefaultHeartbeat
	}
	if opts.Buffer <= 0 {
		opts.Buffer = DefaultBuffer
	}
	if opts.ReplayMax <= 0 {
		opts.ReplayMax = DefaultReplayMax
	}
	if opts.DedupeWindow <= 0 {
		opts.DedupeWindow = DefaultDedupe
	}
	return &Hub{src: src, opts: opts, log: log, subs: map[*subscriber]struct{}{},
		copies: newDedupe(opts.Origin, opts.DedupeWindow)}
}

// Publish appends an event to the registry; subscribers get it from Run.
func (h *Hub) Publish(ctx context.Context, e registry.Event) (registry.Event, error) {
	return h.src.AppendEvent(ctx, e)
}

// Run fans out new events until ctx ends, resubscribing when the registry's
// subscription ends early.
func (h *Hub) Run(ctx context.Context) {
	if id, err := h.src.LatestEventID(ctx); err == nil {
		h.last.Store(id)
		if err := h.copies.seed(ctx, h.src, id); err != nil {
			h.log.Warn("read recent events; copies of them may be streamed", "err", err)
		}
	}
	for ctx.Err() == nil {
		ids, err := h.src.Subscribe(ctx)
		if err != nil {
			h.log.Warn("event subscription failed; retrying", "err", err)
		} else {
			h.catchUp(ctx)
			for range ids {
				h.catchUp(ctx)
			}
		}
		select {
		case <-ctx.Done():
		case <-time.After(reconnectInterval):
		}
	}
	h.closeAll()
}

// catchUp reads every event after the last one fanned out.
func (h *Hub) catchUp(ctx context.Context) {
	for {
		evs, err := h.src.EventsAfter(ctx, h.last.Load(), catchUpBatch)
		if err != nil {
			if ctx.Err() == nil {
				h.log.Warn("read events", "err", err)
			}
			return
		}
		for _, e := range evs {
			if !h.copies.copy(e) {
				h.fanout(e)
			}
			h.last.Store(e.ID)
		}
		if len(evs) < catchUpBatch {
			return
		}
	}
}

// fanout hands e to every subscriber; one whose buffer is full is dropped
// rather than waited for.
func (h *Hub) fanout(e registry.Event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range h.subs {
		select {
		case s.ch <- e:
		default:
			delete(h.subs, s)
			s.drop()
			h.dropped.Add(1)
		}
	}
}

func (h *Hub) subscribe() *subscriber {
	s := &subscriber{ch: make(chan registry.Event, h.opts.Buffer), gone: make(chan struct{})}
	h.mu.Lock()
	h.subs[s] = struct{}{}
	h.mu.Unlock()
	return s
}

func (h *Hub) unsubscribe(s *subscriber) {
	h.mu.Lock()
	delete(h.subs, s)
	h.mu.Unlock()
	s.drop()
}

func (h *Hub) closeAll() {
	h.mu.Lock()
	defer h.mu.Unlock()
	for s := range h.subs {
		delete(h.subs, s)
		s.drop()
	}
}

// Subscribers returns how many streams are open.
func (h *Hub) Subscribers() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.subs)
}

// Dropped returns how many slow subscribers were dropped so far.
func (h *Hub) Dropped() int64 { return h.dropped.Load() }

// LastID returns the id of the newest event fanned out.
func (h *Hub) LastID() int64 { return h.last.Load() }
