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
	id, url  string
	static   bool
	client   workerClient
	version  string
	bootID   string
	engines  map[string]bool
	capacity int
	// live holds the sessions that take a slot on the worker, by id, with
	// when they were added. It follows the worker's event stream and the
	// create answers rather than the health probes: a probe's count races
	// with creates in flight (counting them twice, in reserved too) and
	// with ends, so it would let the queue stall or overfill the worker.
	live      map[string]time.Time
	starting  map[string]bool // live sessions still starting: maybe one of ours in flight
	gone      recentIDs       // sessions seen ending, so a late answer cannot revive them
	reserved  int             // creates this control-plane has sent and not yet seen answered
	up        bool
	lastSeen  time.Time
	lastEvent int64 // id of the last event of the worker's /events handled (this boot)
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
	// BootID and LastEventID say how far the worker's event stream has
	// been read; they are kept in the registry so that a restarted
	// control-plane goes on from there instead of replaying the worker's
	// whole history.
	BootID      string `json:"bootId"`
	LastEventID int64  `json:"lastEventId"`
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
	if err := p.checkIDFree(ctx, h, url); err != nil {
		return WorkerStatus{}, err
	}
	p.mu.Lock()
	w, known := p.workers[h.WorkerID]
	if !known {
		w = &worker{id: h.WorkerID, url: url, static: static, client: c,
			live: map[string]time.Time{}, starting: map[string]bool{}}
		p.workers[w.id] = w
	}
	w.url, w.client = url, c
	p.mu.Unlock()
	if !known {
		p.resume(ctx, w, h.BootID)
	}
	p.observe(w, h)
	if !known {
		p.log.Info("worker added", "worker_id", w.id, "url", url, "static", static)
		p.startStream(w)
	}
	return p.status(w), nil
}

// ErrWorkerIDTaken refuses a worker whose id another live worker has.
var ErrWorkerIDTaken = errors.New("another worker has this worker id")

// checkIDFree refuses a worker at url that answers with the id of a known
// worker at another URL which still answers too, as another boot: two
// workers sharing an id (WORKER_ID defaults to the host name) would be
// taken for one that keeps restarting, and each other's sessions lost.
func (p *Pool) checkIDFree(ctx context.Context, h workerHealth, url string) error {
	p.mu.Lock()
	w, known := p.workers[h.WorkerID]
	var other workerClient
	if known {
		other = w.client
	}
	p.mu.Unlock()
	if !known || other.base == url {
		return nil
	}
	oh, err := other.health(ctx)
	if err != nil || oh.WorkerID != h.WorkerID || oh.BootID == h.BootID {
		return nil // the worker moved to url
	}
	return fmt.Errorf("%w: %s and %s both answer as %q; give each its own WORKER_ID",
		ErrWorkerIDTaken, other.base, url, h.WorkerID)
}

// resume picks up the worker's event stream where the registry says it was
// left, if the worker has not restarted since.
func (p *Pool) resume(ctx context.Context, w *worker, bootID string) {
	rec, err := p.store.GetWorker(ctx, w.id)
	if err != nil {
		return
	}
	var st WorkerStatus
	if json.Unmarshal(rec.Data, &st) != nil || st.BootID != bootID || bootID == "" {
		return
	}
	p.mu.Lock()
	w.bootID, w.lastEvent = st.BootID, st.LastEventID
	p.mu.Unlock()
	p.log.Debug("worker event stream resumed", "worker_id", w.id, "after", st.LastEventID)
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
			_, err := p.Add(ctx, url, true)
			if err == nil {
				return
			}
			p.log.Warn("static worker not added yet; retrying", "url", url, "err", err)
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
			h, err := p.probe(ctx, w)
			if err != nil {
				p.missed(ctx, w, err)
				return
			}
			p.observe(w, h)
		}()
	}
	wg.Wait()
}

// probe asks a worker's health. An answer with another worker id is a
// failed probe: another process took the address (a restart elsewhere, a
// reused port), and taking it for this worker would lose this worker's
// sessions and end the other's.
func (p *Pool) probe(ctx context.Context, w *worker) (workerHealth, error) {
	c := p.clientOf(w)
	h, err := c.health(ctx)
	if err == nil && h.WorkerID != w.id {
		err = fmt.Errorf("%s answers as worker %q, not %q", c.base, h.WorkerID, w.id)
	}
	return h, err
}

// clientOf returns the client of a worker's current URL.
func (p *Pool) clientOf(w *worker) workerClient {
	p.mu.Lock()
	defer p.mu.Unlock()
	return w.client
}

// baseOf returns a worker's current URL.
func (p *Pool) baseOf(w *worker) string { return p.clientOf(w).base }

// observe records a good health answer; a worker that was down, or that
// restarted (a new boot id), comes up and is reconciled.
func (p *Pool) observe(w *worker, h workerHealth) {
	p.mu.Lock()
	cameUp := !w.up
	restarted := w.bootID != "" && w.bootID != h.BootID
	grew := h.Capacity > w.capacity
	w.up, w.lastSeen, w.version, w.capacity = true, time.Now(), h.Version, h.Capacity
	if restarted || w.bootID == "" {
		w.lastEvent = 0 // a new boot numbers its events from 1 again
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
		p.workerEvent("worker.up", w)
		go p.reconcile(w)
	}
	if cameUp || restarted || grew {
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
		clear(w.live)
		clear(w.starting)
	}
	p.mu.Unlock()
	if !goingDown {
		p.log.Debug("worker probe failed", "worker_id", w.id, "err", err)
		return
	}
	p.log.Warn("worker down", "worker_id", w.id, "err", err)
	p.saveWorker(w)
	p.workerEvent("worker.down", w)
	p.loseSessions(ctx, w.id, nil)
}

// runningStates are the states of a session that has not ended.
var runningStates = []api.State{api.StateQueued, api.StateStarting, api.StateReady,
	api.StateRunning, api.StateClosing}

// loseSessions ends as lost (worker_lost) every session the registry has
// running on workerID, except those in keep.
func (p *Pool) loseSessions(ctx context.Context, workerID string, keep map[string]bool) {
	list, _, err := p.store.ListSessions(ctx, registry.SessionFilter{States: runningStates,
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
		// A session is lost once: replicas that both notice publish one event.
		p.putSession(ctx, s, "session.ended", "lost/"+s.ID)
	}
}

// reconcile makes the registry and a worker that (re)appeared agree: what
// the registry thinks runs there but the worker does not know is lost;
// what the worker runs but the registry has ended (declared lost while the
// worker was unreachable) is ended on the worker; what the worker runs and
// the registry does not know is taken in, as its event stream would (it
// may be a create still in flight); what both know takes the worker's
// state when that is the later one.
func (p *Pool) reconcile(w *worker) {
	ctx, cancel := context.WithTimeout(context.Background(), listTimeout)
	defer cancel()
	began := time.Now()
	c := p.clientOf(w)
	list, err := c.sessions(ctx)
	if err != nil {
		p.log.Warn("reconcile: list worker sessions", "worker_id", w.id, "err", err)
		return
	}
	keep := map[string]bool{}
	for _, s := range list {
		rec, err := p.store.GetSession(ctx, s.ID)
		if err == nil && rec.State.Ended() {
			if !s.State.Ended() {
				p.log.Warn("ending a session the registry has ended", "session_id", s.ID,
					"worker_id", w.id, "registry_state", rec.State)
				_ = c.deleteSession(ctx, s.ID)
			}
			continue
		}
		keep[s.ID] = true // also when the registry cannot say: lose nothing on a hunch
		var known api.Session
		switch {
		case errors.Is(err, registry.ErrNotFound) && s.State.Ended():
			continue // history the registry never had
		case err == nil:
			if known, err = rec.API(); err != nil || !later(s, known) {
				continue
			}
		case err != nil && !errors.Is(err, registry.ErrNotFound):
			continue
		}
		s.WorkerID = w.id
		p.putSession(ctx, s, "session.state",
			fmt.Sprintf("sync/%s/%s/%d", s.ID, s.State, len(s.History)))
	}
	p.recount(w, list, began)
	p.loseSessions(ctx, w.id, keep)
}

// later reports whether a is a later view of a session than b: its last
// state change is later, or, without a history to tell, it has ended and
// b has not.
func later(a, b api.Session) bool {
	if a.State == b.State {
		return false
	}
	la, lb := lastChange(a), lastChange(b)
	return la.After(lb) || (la.Equal(lb) && a.State.Ended() && !b.State.Ended())
}

func lastChange(s api.Session) time.Time {
	if n := len(s.History); n > 0 {
		return s.History[n-1].At
	}
	return time.Time{}
}

// recount sets the worker's live sessions to those of a list it answered;
// sessions added since the list was asked for are kept.
func (p *Pool) recount(w *worker, list []api.Session, asked time.Time) {
	p.mu.Lock()
	listed := map[string]bool{}
	for _, s := range list {
		if !s.State.Ended() && !w.gone.has(s.ID) {
			listed[s.ID] = true
			if _, ok := w.live[s.ID]; !ok {
				w.live[s.ID] = asked
			}
		}
	}
	for id, added := range w.live {
		if !listed[id] && added.Before(asked) {
			delete(w.live, id)
			delete(w.starting, id)
		}
	}
	p.mu.Unlock()
	p.kick()
}

// track counts s on w while it runs; it reports whether an end freed a slot.
// The caller holds p.mu.
func (w *worker) track(s api.Session) bool {
	if s.State.Ended() {
		_, held := w.live[s.ID]
		delete(w.live, s.ID)
		delete(w.starting, s.ID)
		w.gone.add(s.ID)
		return held
	}
	if w.gone.has(s.ID) {
		return false
	}
	starting := s.State == api.StateStarting || s.State == api.StateQueued
	if _, ok := w.live[s.ID]; !ok {
		w.live[s.ID] = time.Now()
		if starting {
			w.starting[s.ID] = true
		}
	} else if !starting {
		// Never back to starting: a late "created" event may follow the
		// create's answer.
		delete(w.starting, s.ID)
	}
	return false
}

// used is how many slots of w are taken. A create in flight is in reserved
// and, once the worker announced it, also among the live sessions still
// starting; a reservation absorbs one such session so it is not counted
// twice, while sessions started past this control-plane still count.
// The caller holds p.mu.
func (w *worker) used() int {
	return max(len(w.live), len(w.live)-len(w.starting)+w.reserved)
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
		Capacity: w.capacity, Active: len(w.live), Reserved: w.reserved, LastSeen: w.lastSeen,
		Static: w.static, Engines: []string{}, BootID: w.bootID, LastEventID: w.lastEvent}
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
		used := w.used()
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

// release gives a held slot back; s is the session the create started, nil
// when it started none.
func (p *Pool) release(w *worker, s *api.Session) {
	p.mu.Lock()
	w.reserved--
	if s != nil {
		w.track(*s)
	}
	p.mu.Unlock()
	p.kick()
}

// note counts or uncounts s on w as its state says.
func (p *Pool) note(w *worker, s api.Session) {
	p.mu.Lock()
	freed := w.track(s)
	p.mu.Unlock()
	if freed {
		p.kick()
	}
}

// recentIDs remembers the last recentKept ids added.
type recentIDs struct {
	set  map[string]bool
	ring []string
	next int
}

const recentKept = 1024

func (r *recentIDs) add(id string) {
	if r.set == nil {
		r.set, r.ring = map[string]bool{}, make([]string, recentKept)
	}
	if r.set[id] {
		return
	}
	delete(r.set, r.ring[r.next])
	r.ring[r.next] = id
	r.set[id] = true
	r.next = (r.next + 1) % recentKept
}

func (r *recentIDs) has(id string) bool { return r.set[id] }
