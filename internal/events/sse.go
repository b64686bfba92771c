package events

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/camo-fleet/camo-fleet/internal/registry"
)

// wire is an event as a client reads it in an SSE data line.
type wire struct {
	ID        int64           `json:"id"`
	Time      time.Time       `json:"time"`
	Type      string          `json:"type"`
	SessionID string          `json:"sessionId,omitempty"`
	WorkerID  string          `json:"workerId,omitempty"`
	Data      json.RawMessage `json:"data,omitempty"`
}

// ServeHTTP streams events: first those after Last-Event-ID (header, or the
// lastEventId query parameter), then live ones, with a heartbeat comment
// while idle. A client that falls too far behind is told ("event: dropped")
// and disconnected; it reconnects with its Last-Event-ID and loses nothing
// that is still kept.
func (h *Hub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	flusher, ok := w.(http.Flusher)
	if !ok {
		http.Error(w, "streaming unsupported", http.StatusInternalServerError)
		return
	}
	after, err := lastEventID(r)
	if err != nil {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		fmt.Fprintf(w, `{"error":{"code":"invalid_field","message":%q,"field":"Last-Event-ID"}}`+"\n", err.Error())
		return
	}
	hdr := w.Header()
	hdr.Set("Content-Type", "text/event-stream")
	hdr.Set("Cache-Control", "no-cache, no-transform")
	hdr.Set("Connection", "keep-alive")
	hdr.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	fmt.Fprintf(w, "retry: 2000\n\n")
	flusher.Flush()

	if after < 0 {
		// Live only: from the newest event fanned out before subscribing.
		// Taking it after subscribing would skip an event fanned out in
		// between, which sits in the subscriber's channel with a smaller id.
		after = h.last.Load()
	}
	sub := h.subscribe()
	defer h.unsubscribe(sub)
	sent, err := h.replay(w, r, after)
	if err != nil {
		return
	}
	flusher.Flush()
	h.stream(w, flusher, r, sub, sent)
}

// replay writes the kept events after id and returns the last id written.
func (h *Hub) replay(w http.ResponseWriter, r *http.Request, after int64) (int64, error) {
	copies := newDedupe(h.opts.Origin, h.opts.DedupeWindow)
	if err := copies.seed(r.Context(), h.src, after); err != nil {
		return after, err
	}
	sent, total := after, 0
	for total < h.opts.ReplayMax {
		evs, err := h.src.EventsAfter(r.Context(), sent, catchUpBatch)
		if err != nil {
			return sent, err
		}
		for _, e := range evs {
			if !copies.copy(e) {
				if err := write(w, e); err != nil {
					return sent, err
				}
			}
			sent = e.ID
		}
		total += len(evs)
		if len(evs) < catchUpBatch {
			return sent, nil
		}
	}
	fmt.Fprintf(w, "event: reset\ndata: {\"reason\":\"more than %d events missed; "+
		"reload the state\"}\n\n", h.opts.ReplayMax)
	return h.last.Load(), nil
}

func (h *Hub) stream(w http.ResponseWriter, f http.Flusher, r *http.Request, sub *subscriber, sent int64) {
	beat := time.NewTicker(h.opts.Heartbeat)
	defer beat.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-sub.gone:
			fmt.Fprint(w, "event: dropped\ndata: {\"reason\":\"too slow; reconnect with Last-Event-ID\"}\n\n")
			f.Flush()
			return
		case <-beat.C:
			if _, err := fmt.Fprint(w, ": ping\n\n"); err != nil {
				return
			}
			f.Flush()
		case e := <-sub.ch:
			if e.ID <= sent {
				continue
			}
			if err := write(w, e); err != nil {
				return
			}
			sent = e.ID
			f.Flush()
		}
	}
}

func write(w http.ResponseWriter, e registry.Event) error {
	b, err := json.Marshal(wire{ID: e.ID, Time: e.Time, Type: e.Type, SessionID: e.SessionID,
		WorkerID: e.WorkerID, Data: e.Data})
	if err != nil {
		return err
	}
	_, err = fmt.Fprintf(w, "id: %d\nevent: %s\ndata: %s\n\n", e.ID, e.Type, b)
	return err
}

// lastEventID returns the id to replay after, or -1 for "live only".
func lastEventID(r *http.Request) (int64, error) {
	v := r.Header.Get("Last-Event-ID")
	if v == "" {
		v = r.URL.Query().Get("lastEventId")
	}
	if v == "" {
		return -1, nil
	}
	id, err := strconv.ParseInt(v, 10, 64)
	if err != nil || id < 0 {
		return 0, fmt.Errorf("must be a whole number ≥ 0, got %q", v)
	}
	return id, nil
}
