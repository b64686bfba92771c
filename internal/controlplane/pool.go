package controlplane

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/camo-fleet/camo-fleet/internal/api"
	"github.com/camo-fleet/camo-fleet/internal/registry"
)

// streamRetry is the wait between reconnects of a worker's event stream.
const streamRetry = time.Second

// worker is the control-plane's view of one worker.
type worker struct {
	id, url   string
	static    bool
	client    workerClient
	version   string
	bootID    string
	engines   map[string]bool
	capacity  int
	active    int
	reserved  int // creates this control-plane has sent and not yet seen answered
	up        bool
	lastSeen  time.Time
	lastEvent int64
	cancel    context.CancelFunc
}

// WorkerStatus is a worker as /status shows it.
type WorkerStatus struct {
	ID       string    `json:"id"`
	URL      string    `json:"url"`
	State    string    `json:"state"`
	Version  string    `json:"version"`
	Engines  []string  `json:"engines"`
	Capacity int       `json:"capacity"`
	Active   int       `json:"active"`
	Reserved int       `json:"reserved"`
	LastSeen time.Time `json:"lastSeen"`
	Static   bool      `json:"static"`
}

// Pool knows the workers, watches their health and streams their events
// into the registry.
type Pool struct {
	cfg   Config
	store registry.Store
	hub   publisher
	log   *slog.Logger
	http  *http.Client

	mu      sync.Mutex
	workers map[string]*worker // by id
	kick    func()             // wakes the scheduler when capacity appears
	ctx     context.Context
}

// publisher appends events to the registry (the events hub).
type publisher interface {
	Publish(ctx context.Context, e registry.Event) (registry.Event, error)
}

func newPool(cfg Config, store registry.Store, hub publisher, log *slog.Logger) *Pool {
	return &Pool{cfg: cfg, store: store, hub: hub, log: log, workers: map[string]*worker{},
		http: &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 32,
			IdleConnTimeout: 90 * time.Second}}, kick: func() {}}
}

// Add registers the worker at url (asking its /health for its id) and starts
// watching it. Adding a known worker again refreshes it.
func (p *Pool) Add(ctx context.Context, url string, static bool) (WorkerStatus, error) {
	url = strings.TrimSuffix(url, "/")
	c := workerClient{base: url, http: p.http}
	h, err := c.health(ctx)
	if err != nil {
		return WorkerStatus{}, fmt.Errorf("reach worker %s: %w", url, err)
	}
	p.mu.Lock()
	w, known := p.workers[h.WorkerID]
	if !known {
		w = &worker{id: h.WorkerID, url: url, static: static, client: c}
		p.workers[w.id] = w
	}
	w.url, w.client = url, c
	p.mu.Unlock()
	p.observe(w, h)
	if !known {
		p.log.Info("worker added", "worker_id", w.id, "url", url, "static", static)
		p.startStream(w)
	}
	return p.status(w), nil
}

// Run probes every worker each HeartbeatInterval until ctx ends.
func (p *Pool) Run(ctx context.Context) {
	p.mu.Lock()
	p.ctx = ctx
	p.mu.Unlock()
	for _, u := range p.cfg.Workers {
		p.addStaticLater(ctx, u)
	}
	tick := time.NewTicker(p.cfg.HeartbeatInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
			p.probeAll(ctx)
		}
	}
}

// addStaticLater keeps trying to add a configured worker that is not up yet.
func (p *Pool) addStaticLater(ctx context.Context, url string) {
	go func() {
		for ctx.Err() == nil {
			if _, err := p.Add(ctx, url, true); err == nil {
				return
			} else {
				p.log.Warn("static worker not reachable yet", "url", url, "err", err)
			}
			select {
			case <-ctx.Done():
			case <-time.After(p.cfg.HeartbeatInterval):
			}
		}
	}()
}

func (p *Pool) probeAll(ctx context.Context) {
	p.mu.Lock()
	list := make([]*worker, 0, len(p.workers))
	for _, w := range p.workers {
		list = append(list, w)
	}
	p.mu.Unlock()
	var wg sync.WaitGroup
	for _, w := range list {
		wg.Add(1)
		go func() {
			defer wg.Done()
			h, err := w.client.health(ctx)
			if err != nil {
				p.missed(ctx, w, err)
				return
			}
			p.observe(w, h)
		}()
	}
	wg.Wait()
}

// observe records a good health answer; a worker that was down comes back
// up and is reconciled.
func (p *Pool) observe(w *worker, h workerHealth) {
	p.mu.Lock()
	cameUp := !w.up
	restarted := w.bootID != "" && w.bootID != h.BootID
	w.up, w.lastSeen, w.version, w.capacity, w.active = true, time.Now(), h.Version, h.Capacity, h.Active
	if restarted {
		w.lastEvent = 0
	}
	w.bootID = h.BootID
	w.engines = map[string]bool{}
	for _, e := range h.Engines {
		if e.Available {
			w.engines[e.Name] = true
		}
	}
	p.mu.Unlock()
	p.saveWorker(w)
	if cameUp || restarted {
		p.log.Info("worker up", "worker_id", w.id, "restarted", restarted)
		p.event("worker.up", w, nil)
		go p.reconcile(w)
		p.kick()
	}
}

// missed handles a failed probe: past WorkerDownAfter the worker is down and
// its sessions are lost.
func (p *Pool) missed(ctx context.Context, w *worker, err error) {
	p.mu.Lock()
	goingDown := w.up && time.Since(w.lastSeen) >= p.cfg.WorkerDownAfter
	if goingDown {
		w.up = false
	}
	p.mu.Unlock()
	if !goingDown {
		p.log.Debug("worker probe failed", "worker_id", w.id, "err", err)
		return
	}
	p.log.Warn("worker down", "worker_id", w.id, "err", err)
	p.saveWorker(w)
	p.event("worker.down", w, nil)
	p.loseSessions(ctx, w.id, nil)
}

// loseSessions ends as lost (worker_lost) every session the registry has
// running on workerID, except those in keep.
func (p *Pool) loseSessions(ctx context.Context, workerID string, keep map[string]bool) {
	running := []api.State{api.StateQueued, api.StateStarting, api.StateReady, api.StateRunning,
		api.StateClosing}
	list, _, err := p.store.ListSessions(ctx, registry.SessionFilter{States: running,
		WorkerID: workerID, Limit: registry.MaxLimit})
	if err != nil {
		p.log.Error("list sessions of a lost worker", "worker_id", workerID, "err", err)
		return
	}
	for _, rec := range list {
		if keep[rec.ID] {
			continue
		}
		s, err := rec.API()
		if err != nil {
			continue
		}
		now := time.Now().UTC()
		s.State, s.Reason, s.EndedAt = api.StateLost, api.ReasonWorkerLost, &now
		p.log.Info("session lost with its worker", "session_id", s.ID, "worker_id", workerID)
		p.putSession(ctx, s, "session.ended")
	}
}

// reconcile makes the registry and a worker that (re)appeared agree: what
// the registry thinks runs there but the worker does not know is lost;
// what runs there but the registry does not know is ended on the worker.
func (p *Pool) reconcile(w *worker) {
	ctx, cancel := context.WithTimeout(context.Background(), listTimeout)
	defer cancel()
	live, err := w.client.sessions(ctx)
	if err != nil {
		p.log.Warn("reconcile: list worker sessions", "worker_id", w.id, "err", err)
		return
	}
	keep := map[string]bool{}
	for _, s := range live {
		if s.State.Ended() {
			continue
		}
		if _, err := p.store.GetSession(ctx, s.ID); errors.Is(err, registry.ErrNotFound) {
			p.log.Warn("ending a session the registry does not know", "session_id", s.ID, "worker_id", w.id)
			_ = w.client.deleteSession(ctx, s.ID)
			continue
		}
		keep[s.ID] = true
		p.putSession(ctx, s, "session.state")
	}
	p.loseSessions(ctx, w.id, keep)
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
			p.mu.Lock()
			from := w.lastEvent
			p.mu.Unlock()
			last, err := w.client.streamEvents(ctx, from, func(ev workerEvent) { p.onWorkerEvent(w, ev) })
			p.mu.Lock()
			if w.lastEvent == from {
				w.lastEvent = last
			}
			p.mu.Unlock()
			if ctx.Err() == nil {
				p.log.Debug("worker event stream ended; reconnecting", "worker_id", w.id, "err", err)
			}
			select {
			case <-ctx.Done():
			case <-time.After(streamRetry):
			}
		}
	}()
}

// onWorkerEvent stores the session a worker reported and republishes the
// event on the control-plane's stream.
func (p *Pool) onWorkerEvent(w *worker, ev workerEvent) {
	p.mu.Lock()
	w.lastEvent = ev.ID
	p.mu.Unlock()
	s, err := ev.sessionOf()
	if err != nil || s.ID == "" {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), listTimeout)
	defer cancel()
	s.WorkerID = w.id
	p.putSessionData(ctx, s, ev.Type, ev.Data)
	if ev.Type == "session.ended" {
		p.mu.Lock()
		if w.active > 0 {
			w.active--
		}
		p.mu.Unlock()
		p.kick()
	}
}

// putSession stores s and publishes an event carrying it.
func (p *Pool) putSession(ctx context.Context, s api.Session, typ string) {
	data, _ := json.Marshal(map[string]any{"type": typ, "session": s})
	p.putSessionData(ctx, s, typ, data)
}

func (p *Pool) putSessionData(ctx context.Context, s api.Session, typ string, data json.RawMessage) {
	owner := ""
	if old, err := p.store.GetSession(ctx, s.ID); err == nil {
		owner = old.Owner
		if old.State.Ended() && !s.State.Ended() {
			return // an old event arriving after the end
		}
	}
	rec, err := registry.NewSession(s, owner)
	if err != nil {
		p.log.Error("registry session", "session_id", s.ID, "err", err)
		return
	}
	if err := p.store.PutSession(ctx, rec); err != nil {
		p.log.Error("store session", "session_id", s.ID, "err", err)
		return
	}
	if _, err := p.hub.Publish(ctx, registry.Event{Type: typ, SessionID: s.ID, WorkerID: s.WorkerID,
		Data: data}); err != nil {
		p.log.Error("publish event", "session_id", s.ID, "err", err)
	}
}

func (p *Pool) event(typ string, w *worker, _ any) {
	data, _ := json.Marshal(p.status(w))
	ctx, cancel := context.WithTimeout(context.Background(), listTimeout)
	defer cancel()
	if _, err := p.hub.Publish(ctx, registry.Event{Type: typ, WorkerID: w.id, Data: data}); err != nil {
		p.log.Error("publish worker event", "worker_id", w.id, "err", err)
	}
}

func (p *Pool) saveWorker(w *worker) {
	st := p.status(w)
	state := registry.WorkerUp
	if st.State != "up" {
		state = registry.WorkerDown
	}
	ctx, cancel := context.WithTimeout(context.Background(), listTimeout)
	defer cancel()
	data, _ := json.Marshal(st)
	if err := p.store.PutWorker(ctx, registry.Worker{ID: st.ID, URL: st.URL, Version: st.Version,
		State: state, Engines: st.Engines, Capacity: st.Capacity, Active: st.Active,
		LastSeen: st.LastSeen, Static: st.Static, Data: data}); err != nil {
		p.log.Error("store worker", "worker_id", w.id, "err", err)
	}
}

// status is a copy of w for the API.
func (p *Pool) status(w *worker) WorkerStatus {
	p.mu.Lock()
	defer p.mu.Unlock()
	st := WorkerStatus{ID: w.id, URL: w.url, State: "down", Version: w.version,
		Capacity: w.capacity, Active: w.active, Reserved: w.reserved, LastSeen: w.lastSeen,
		Static: w.static, Engines: []string{}}
	if w.up {
		st.State = "up"
	}
	for e := range w.engines {
		st.Engines = append(st.Engines, e)
	}
	sort.Strings(st.Engines)
	return st
}

// Workers lists every worker, sorted by id.
func (p *Pool) Workers() []WorkerStatus {
	p.mu.Lock()
	list := make([]*worker, 0, len(p.workers))
	for _, w := range p.workers {
		list = append(list, w)
	}
	p.mu.Unlock()
	out := make([]WorkerStatus, 0, len(list))
	for _, w := range list {
		out = append(out, p.status(w))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// get returns a worker by id.
func (p *Pool) get(id string) (*worker, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	w, ok := p.workers[id]
	return w, ok && w.up
}

// hasEngine reports whether any known worker offers the engine.
func (p *Pool) hasEngine(name string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, w := range p.workers {
		if w.engines[name] {
			return true
		}
	}
	return false
}

// reserve picks the least-loaded up worker that has the engine and a free
// slot, and holds a slot on it for a create.
func (p *Pool) reserve(engine string) (*worker, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	var best *worker
	bestLoad := 2.0
	for _, w := range p.workers {
		used := w.active + w.reserved
		if !w.up || !w.engines[engine] || w.capacity <= 0 || used >= w.capacity {
			continue
		}
		load := float64(used) / float64(w.capacity)
		if load < bestLoad || (load == bestLoad && w.id < best.id) {
			best, bestLoad = w, load
		}
	}
	if best != nil {
		best.reserved++
	}
	return best, best != nil
}

// unreserve gives a held slot back; started says whether it became a session.
func (p *Pool) unreserve(w *worker, started bool) {
	p.mu.Lock()
	w.reserved--
	if started {
		w.active++
	}
	p.mu.Unlock()
	p.kick()
}
