package controlplane

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/camo-fleet/camo-fleet/internal/api"
	"github.com/camo-fleet/camo-fleet/internal/registry"
)

// Every event the control-plane appends to the registry carries an origin
// in its data: the worker, boot and event id it was copied from, or what
// the control-plane itself observed. Replicas sharing a registry each
// follow every worker, so each appends its own copy of the same worker
// event; a restarted control-plane may copy again what it copied before it
// stopped. The events hub streams the first event of an origin and skips
// later copies (see originOf and events.Options.Origin).

// dedupeWindow is how many event ids apart two copies of an event may be
// and still be recognised as one. A replica that falls further behind on a
// worker's stream than that shows its late copies as new events.
const dedupeWindow = 1000

// originOf returns the origin an event's data carries, "" when none.
func originOf(e registry.Event) string {
	var d struct {
		Origin string `json:"origin"`
	}
	if json.Unmarshal(e.Data, &d) != nil {
		return ""
	}
	return d.Origin
}

// withOrigin adds "origin" to a JSON object.
func withOrigin(data json.RawMessage, origin string) json.RawMessage {
	var m map[string]json.RawMessage
	if json.Unmarshal(data, &m) != nil || m == nil {
		return data
	}
	m["origin"], _ = json.Marshal(origin)
	out, err := json.Marshal(m)
	if err != nil {
		return data
	}
	return out
}

// startStream follows the worker's /events until the pool's context ends.
func (p *Pool) startStream(w *worker) {
	p.mu.Lock()
	parent := p.ctx
	p.mu.Unlock()
	if parent == nil {
		parent = context.Background()
	}
	ctx, cancel := context.WithCancel(parent)
	w.cancel = cancel
	go func() {
		for ctx.Err() == nil {
			err := p.follow(ctx, w)
			if ctx.Err() == nil {
				p.log.Debug("worker event stream ended; reconnecting", "worker_id", w.id,
					"err", err)
			}
			select {
			case <-ctx.Done():
			case <-time.After(streamRetry):
			}
		}
	}()
}

// follow reads the worker's /events from where the pool left it until the
// stream breaks or the worker turns out to have restarted. It asks the
// worker's health first: its boot id says whether the event ids go on
// (Last-Event-ID) or start over.
func (p *Pool) follow(ctx context.Context, w *worker) error {
	h, err := p.probe(ctx, w)
	if err != nil {
		return err
	}
	p.observe(w, h)
	p.mu.Lock()
	from, boot := w.lastEvent, w.bootID
	p.mu.Unlock()
	return p.clientOf(w).streamEvents(ctx, from, func(ev workerEvent) bool {
		return p.onWorkerEvent(w, boot, ev)
	})
}

// onWorkerEvent stores the session a worker reported and republishes the
// event on the control-plane's stream. It returns false when the worker
// has restarted since the stream began: the ids are of another boot.
func (p *Pool) onWorkerEvent(w *worker, boot string, ev workerEvent) bool {
	p.mu.Lock()
	if w.bootID != boot {
		p.mu.Unlock()
		return false
	}
	w.lastEvent = ev.ID
	p.mu.Unlock()
	s, err := ev.sessionOf()
	if err != nil || s.ID == "" {
		return true
	}
	ctx, cancel := context.WithTimeout(context.Background(), listTimeout)
	defer cancel()
	s.WorkerID = w.id
	origin := fmt.Sprintf("%s/%s/%d", w.id, boot, ev.ID)
	// The event is published even when the registry keeps a later state
	// (a DELETE's answer overtakes the stream): it happened. Only a session
	// declared lost stays silent: its clients were told it is gone, and
	// reconcile ends it on the worker.
	p.note(w, s)
	if _, lost := p.storeSession(ctx, s); lost {
		p.log.Debug("event of a session declared lost", "session_id", s.ID, "type", ev.Type)
		return true
	}
	p.publish(ctx, registry.Event{Type: ev.Type, SessionID: s.ID, WorkerID: w.id,
		Data: withOrigin(ev.Data, origin)})
	return true
}

// putSession stores s and publishes an event carrying it.
func (p *Pool) putSession(ctx context.Context, s api.Session, typ, origin string) {
	if stored, _ := p.storeSession(ctx, s); !stored {
		return
	}
	data, _ := json.Marshal(map[string]any{"type": typ, "session": s, "origin": origin})
	p.publish(ctx, registry.Event{Type: typ, SessionID: s.ID, WorkerID: s.WorkerID, Data: data})
}

// storeSession writes s to the registry unless the registry has it ended
// already: the first end recorded is final, and whatever comes later (an
// event older than a DELETE's answer, a worker that reappears after its
// sessions were declared lost) does not change it. It reports whether s
// was written, and whether the registry has the session lost.
func (p *Pool) storeSession(ctx context.Context, s api.Session) (stored, lost bool) {
	owner := ""
	if old, err := p.store.GetSession(ctx, s.ID); err == nil {
		owner = old.Owner
		if old.State.Ended() {
			return false, old.State == api.StateLost
		}
	}
	rec, err := registry.NewSession(s, owner)
	if err != nil {
		p.log.Error("registry session", "session_id", s.ID, "err", err)
		return false, false
	}
	if err := p.store.PutSession(ctx, rec); err != nil {
		p.log.Error("store session", "session_id", s.ID, "err", err)
		return false, false
	}
	return true, false
}

func (p *Pool) publish(ctx context.Context, e registry.Event) {
	if _, err := p.hub.Publish(ctx, e); err != nil {
		p.log.Error("publish event", "type", e.Type, "session_id", e.SessionID, "err", err)
	}
}

// workerEvent publishes a worker's change of state. Replicas that see the
// same change at the same point of the worker's stream publish one event.
func (p *Pool) workerEvent(typ string, w *worker) {
	st := p.status(w)
	data, _ := json.Marshal(st)
	origin := fmt.Sprintf("%s/%s/%s/%d", typ, w.id, st.BootID, st.LastEventID)
	ctx, cancel := context.WithTimeout(context.Background(), listTimeout)
	defer cancel()
	p.publish(ctx, registry.Event{Type: typ, WorkerID: w.id, Data: withOrigin(data, origin)})
}
