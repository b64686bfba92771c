package events

import (
	"context"

	"github.com/camo-fleet/camo-fleet/internal/registry"
)

// dedupe recognises copies of an event: events with the same origin
// (Options.Origin) whose ids are at most window apart. The first of them is
// the event; the later ones are copies. The rule depends only on the event
// log, so the live stream and every replay, on every replica, skip the same
// events.
type dedupe struct {
	origin func(registry.Event) string
	window int64
	seen   map[string]int64 // origin → id of its newest event
	pruned int64            // the id seen was last pruned at
}

func newDedupe(origin func(registry.Event) string, window int64) *dedupe {
	if origin == nil {
		return nil
	}
	return &dedupe{origin: origin, window: window, seen: map[string]int64{}}
}

// copy reports whether e copies an earlier event, and remembers e. Events
// must be given in id order. A nil dedupe sees no copies.
func (d *dedupe) copy(e registry.Event) bool {
	if d == nil {
		return false
	}
	key := d.origin(e)
	if key == "" {
		return false
	}
	prev, ok := d.seen[key]
	d.seen[key] = e.ID
	if e.ID-d.pruned > d.window {
		d.prune(e.ID)
	}
	return ok && e.ID-prev <= d.window
}

func (d *dedupe) prune(now int64) {
	for k, id := range d.seen {
		if now-id > d.window {
			delete(d.seen, k)
		}
	}
	d.pruned = now
}

// seed remembers the events of the window that ends with id, so that the
// events after id are judged as if read from the start.
func (d *dedupe) seed(ctx context.Context, src Source, id int64) error {
	if d == nil {
		return nil
	}
	after := max(0, id-d.window)
	for after < id {
		evs, err := src.EventsAfter(ctx, after, catchUpBatch)
		if err != nil {
			return err
		}
		for _, e := range evs {
			if e.ID > id {
				return nil
			}
			d.copy(e)
			after = e.ID
		}
		if len(evs) < catchUpBatch {
			return nil
		}
	}
	return nil
}
