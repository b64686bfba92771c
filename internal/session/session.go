// Package session runs browser sessions on a worker: it starts each one's
// launcher, hands out its Direct endpoint or runs its Managed steps, watches
// for idleness, lifetime and crashes, and ends it (contexts, then browser,
// then the process tree) with its artifacts finalised. One goroutine per
// session (supervise) owns every ending, so a session ends exactly once.
package session

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/camo-fleet/camo-fleet/internal/api"
	"github.com/camo-fleet/camo-fleet/internal/artifact"
	"github.com/camo-fleet/camo-fleet/internal/engine"
	"github.com/camo-fleet/camo-fleet/internal/launcher"
)

// maxKeptStepResults bounds the step history a session keeps in memory.
const maxKeptStepResults = 1000

// maxKeptStateChanges bounds the state history; a Managed session toggles
// between ready and running on every run of steps.
const maxKeptStateChanges = 200

// Session is one browser session.
type Session struct {
	id        string
	plan      plan
	engine    engine.Engine
	avail     engine.Availability
	dir       string
	tmpDir    string
	createdAt time.Time
	expiresAt time.Time
	m         *Manager
	log       *slog.Logger

	mu           sync.Mutex
	state        api.State
	reason       api.Reason
	errMsg       string
	readyAt      time.Time
	endedAt      time.Time
	proc         *launcher.Process
	version      string
	wsToken      string
	tokenExpires time.Time
	tokenUsed    bool
	artifacts    []artifact.Artifact
	results      []api.StepResult
	history      []api.StateChange
	blocks       []string
	problems     []string

	lastActivity atomic.Int64
	stepsRunning atomic.Int32
	runMu        sync.Mutex
	managed      *managedConn

	endCh      chan api.Reason
	ended      chan struct{}
	stepCtx    context.Context
	stepCancel context.CancelFunc
}

// ID returns the session's id.
func (s *Session) ID() string { return s.id }

// Done is closed once the session has ended and its artifacts are final.
func (s *Session) Done() <-chan struct{} { return s.ended }

// Touch records protocol traffic: the session is not idle.
func (s *Session) Touch() { s.lastActivity.Store(time.Now().UnixNano()) }

func (s *Session) idleFor(now time.Time) time.Duration {
	if s.stepsRunning.Load() > 0 {
		return 0
	}
	return now.Sub(time.Unix(0, s.lastActivity.Load()))
}

// RequestEnd asks the supervisor to end the session; only the first request
// counts.
func (s *Session) RequestEnd(reason api.Reason) {
	select {
	case s.endCh <- reason:
	default:
	}
}

// State returns the current state.
func (s *Session) State() api.State {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.state
}

// View returns the session as the API shows it.
func (s *Session) View() api.Session {
	s.mu.Lock()
	defer s.mu.Unlock()
	v := api.Session{
		ID: s.id, State: s.state, Reason: s.reason, Error: s.errMsg,
		Engine: s.plan.req.Engine, EngineVersion: s.version, Mode: s.plan.req.Mode,
		Headless: s.plan.headless, Record: s.plan.record, Viewport: s.plan.viewport,
		Labels: s.plan.req.Labels, CreatedAt: s.createdAt, ExpiresAt: s.expiresAt,
		IdleTTLSec: s.plan.idleTTLSec, MaxDurationSec: s.plan.maxDurSec,
		LastActivityAt: time.Unix(0, s.lastActivity.Load()).UTC(),
		Steps:          append([]api.StepResult(nil), s.results...),
		WorkerID:       s.m.cfg.WorkerID,
		History:        append([]api.StateChange(nil), s.history...),
	}
	if !s.readyAt.IsZero() {
		t := s.readyAt
		v.ReadyAt = &t
	}
	if !s.endedAt.IsZero() {
		t := s.endedAt
		v.EndedAt = &t
	}
	return v
}

// setState changes the state, logs it and publishes it.
func (s *Session) setState(st api.State) {
	s.mu.Lock()
	from := s.state
	if from == st {
		s.mu.Unlock()
		return
	}
	s.state = st
	s.noteStateLocked(st)
	s.mu.Unlock()
	s.log.Info("session state", "from", from, "to", st)
	s.m.publish(Event{Type: EventState, Session: s.View()})
}

// noteStateLocked appends st to the state history; s.mu must be held.
func (s *Session) noteStateLocked(st api.State) {
	s.history = append(s.history, api.StateChange{State: st, At: time.Now().UTC()})
	if over := len(s.history) - maxKeptStateChanges; over > 0 {
		s.history = s.history[over:]
	}
}

// noteProblem keeps an error that did not end the session (an artifact that
// could not be written, for example) so the API can show it.
func (s *Session) noteProblem(msg string) {
	s.mu.Lock()
	s.problems = append(s.problems, msg)
	s.mu.Unlock()
}

func (s *Session) addArtifact(a artifact.Artifact) {
	s.mu.Lock()
	s.artifacts = append(s.artifacts, a)
	s.mu.Unlock()
	s.m.metrics.ArtifactBytes.WithLabelValues(string(a.Kind)).Add(float64(a.Size))
	s.m.publish(Event{Type: EventArtifact, Session: s.View(), Artifact: &a})
}

// Artifacts lists what the session has kept so far; videos and the HAR
// appear only once the session has ended and they are complete.
func (s *Session) Artifacts() []artifact.Artifact {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]artifact.Artifact(nil), s.artifacts...)
}

// Dir is the session's artifact folder.
func (s *Session) Dir() string { return s.dir }
