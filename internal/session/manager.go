package session

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/camo-fleet/camo-fleet/internal/api"
	"github.com/camo-fleet/camo-fleet/internal/engine"
	"github.com/camo-fleet/camo-fleet/internal/launcher"
	"github.com/camo-fleet/camo-fleet/internal/metrics"
	"github.com/camo-fleet/camo-fleet/internal/procs"
	"github.com/camo-fleet/camo-fleet/internal/steps"
)

// maxEndedKept bounds how many ended sessions the worker remembers.
const maxEndedKept = 500

// Config holds the worker settings a Manager needs.
type Config struct {
	DataDir       string
	WorkerID      string
	Version       string
	IdleTTL       time.Duration
	MaxDuration   time.Duration
	MaxSessions   int
	AllowDirect   bool
	AllowEvaluate bool
	AllowData     bool
	StartTimeout  time.Duration
	CloseGrace    time.Duration
	WSTokenTTL    time.Duration
	StepTimeout   time.Duration
	Driver        launcher.Driver
	CLIPath       string // playwright-core's cli.js, for the Managed runner
}

// Manager owns the sessions of one worker.
type Manager struct {
	cfg     Config
	engines *engine.Set
	reaper  *procs.Reaper
	metrics *metrics.Worker
	log     *slog.Logger
	pw      *pwDriver

	mu       sync.RWMutex
	sessions map[string]*Session
	active   int
	closed   bool
	wg       sync.WaitGroup

	subsMu sync.RWMutex
	subs   []func(Event)
}

// NewManager returns a Manager; call Recover once before serving.
func NewManager(cfg Config, engines *engine.Set, reaper *procs.Reaper, m *metrics.Worker,
	log *slog.Logger) *Manager {
	m.Capacity.Set(float64(cfg.MaxSessions))
	return &Manager{cfg: cfg, engines: engines, reaper: reaper, metrics: m, log: log,
		pw:       newPWDriver(cfg.Driver.NodePath, cfg.CLIPath, reaper, log),
		sessions: map[string]*Session{}}
}

// Capacity returns the number of sessions the worker runs at once and the
// number running now.
func (m *Manager) Capacity() (max, active int) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return m.cfg.MaxSessions, m.active
}

// Create validates req, starts the browser and returns the ready session.
func (m *Manager) Create(ctx context.Context, req api.CreateSessionRequest) (*Session, error) {
	p, err := m.validate(req)
	if err != nil {
		return nil, err
	}
	_, avail, _ := m.engines.Get(req.Engine)
	if !avail.Available {
		return nil, fmt.Errorf("%w: %s: %s", ErrEngineUnavailable, req.Engine, avail.Reason)
	}
	var initial []steps.Step
	if len(req.Steps) > 0 {
		if initial, err = steps.Parse(req.Steps, m.stepLimits(req.Engine)); err != nil {
			return nil, err
		}
	}
	s, err := m.reserve(p)
	if err != nil {
		return nil, err
	}
	if err := s.start(ctx); err != nil {
		s.finish(api.ReasonStartFailed, err)
		m.wg.Done()
		return s, &StartError{SessionID: s.id, Err: err}
	}
	go s.supervise() // calls m.wg.Done when the session has ended
	if len(initial) > 0 {
		go s.runInitial(initial)
	}
	return s, nil
}

func (m *Manager) stepLimits(engineName string) steps.Limits {
	return steps.Limits{DefaultTimeout: m.cfg.StepTimeout, AllowEvaluate: m.cfg.AllowEvaluate,
		Engine: engineName}
}

// reserve takes a slot and registers a new session in state starting.
func (m *Manager) reserve(p plan) (*Session, error) {
	eng, avail, _ := m.engines.Get(p.req.Engine)
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, ErrShuttingDown
	}
	if m.active >= m.cfg.MaxSessions {
		m.metrics.Errors.WithLabelValues("capacity").Inc()
		return nil, fmt.Errorf("%w: %d of %d sessions running", ErrCapacity, m.active, m.cfg.MaxSessions)
	}
	id := newID()
	now := time.Now().UTC()
	s := &Session{
		id: id, plan: p, engine: eng, avail: avail, m: m, createdAt: now,
		expiresAt: now.Add(time.Duration(p.maxDurSec) * time.Second),
		dir:       sessionDir(m.cfg.DataDir, id), tmpDir: tmpDir(m.cfg.DataDir, id),
		state: api.StateStarting, endCh: make(chan api.Reason, 1), ended: make(chan struct{}),
		history: []api.StateChange{{State: api.StateStarting, At: now}},
		log:     m.log.With("session_id", id, "engine", p.req.Engine, "mode", p.req.Mode),
	}
	s.stepCtx, s.stepCancel = context.WithCancel(context.Background())
	// Counted from here, under the lock that checks closed, so Shutdown also
	// waits for a session that is still starting.
	m.wg.Add(1)
	s.Touch()
	m.sessions[id] = s
	m.active++
	m.metrics.Active.WithLabelValues(p.req.Engine, string(p.req.Mode)).Inc()
	s.log.Info("session state", "from", "", "to", api.StateStarting)
	go m.publish(Event{Type: EventCreated, Session: s.View()})
	return s, nil
}

// release frees the slot of an ended session and forgets the oldest ended
// sessions beyond maxEndedKept.
func (m *Manager) release(s *Session) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.active--
	m.metrics.Active.WithLabelValues(s.plan.req.Engine, string(s.plan.req.Mode)).Dec()
	var ended []*Session
	for _, o := range m.sessions {
		if o.State().Ended() {
			ended = append(ended, o)
		}
	}
	if len(ended) <= maxEndedKept {
		return
	}
	sort.Slice(ended, func(i, j int) bool { return ended[i].createdAt.Before(ended[j].createdAt) })
	for _, o := range ended[:len(ended)-maxEndedKept] {
		delete(m.sessions, o.id)
	}
}

// Get returns a session by id.
func (m *Manager) Get(id string) (*Session, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	s, ok := m.sessions[id]
	if !ok {
		return nil, fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	return s, nil
}

// List returns every known session, newest first.
func (m *Manager) List() []*Session {
	m.mu.RLock()
	out := make([]*Session, 0, len(m.sessions))
	for _, s := range m.sessions {
		out = append(out, s)
	}
	m.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool { return out[i].createdAt.After(out[j].createdAt) })
	return out
}

// End asks a session to end with reason and waits until it has, or ctx ends.
func (m *Manager) End(ctx context.Context, id string, reason api.Reason) (*Session, error) {
	s, err := m.Get(id)
	if err != nil {
		return nil, err
	}
	if s.State().Ended() {
		return s, fmt.Errorf("%w: %s", ErrEnded, id)
	}
	s.RequestEnd(reason)
	select {
	case <-s.ended:
		return s, nil
	case <-ctx.Done():
		return s, ctx.Err()
	}
}

// Shutdown refuses new sessions, ends every running one with reason
// worker_shutdown and waits for them (artifacts finalised) or ctx.
func (m *Manager) Shutdown(ctx context.Context) error {
	m.mu.Lock()
	m.closed = true
	running := make([]*Session, 0, len(m.sessions))
	for _, s := range m.sessions {
		running = append(running, s)
	}
	m.mu.Unlock()
	for _, s := range running {
		s.RequestEnd(api.ReasonWorkerShutdown)
	}
	done := make(chan struct{})
	go func() { m.wg.Wait(); close(done) }()
	var err error
	select {
	case <-done:
	case <-ctx.Done():
		err = fmt.Errorf("shutdown: sessions still ending: %w", ctx.Err())
	}
	return errors.Join(err, m.pw.Stop())
}

func newID() string {
	b := make([]byte, 10)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("crypto/rand failed: %v", err))
	}
	return hex.EncodeToString(b)
}

func randomToken() string {
	b := make([]byte, 24)
	if _, err := rand.Read(b); err != nil {
		panic(fmt.Sprintf("crypto/rand failed: %v", err))
	}
	return hex.EncodeToString(b)
}
