// Package api holds the JSON shapes of the Worker and Control APIs: requests,
// responses and the error body. Fields are camelCase on the wire; every type
// here is described in api/openapi.worker.yaml.
package api

import (
	"encoding/json"
	"time"
)

// Mode is how a session is driven.
type Mode string

// The session modes.
const (
	ModeDirect  Mode = "direct"
	ModeManaged Mode = "managed"
)

// State is where a session is in its life.
type State string

// The session states; the last five are ends.
const (
	StateQueued   State = "queued"
	StateStarting State = "starting"
	StateReady    State = "ready"
	StateRunning  State = "running"
	StateClosing  State = "closing"
	StateClosed   State = "closed"
	StateFailed   State = "failed"
	StateExpired  State = "expired"
	StateKilled   State = "killed"
	StateLost     State = "lost"
)

// Ended reports whether s is a final state.
func (s State) Ended() bool {
	switch s {
	case StateClosed, StateFailed, StateExpired, StateKilled, StateLost:
		return true
	}
	return false
}

// Reason says why a session ended.
type Reason string

// The end reasons.
const (
	ReasonClientClosed   Reason = "client_closed"
	ReasonIdleTimeout    Reason = "idle_timeout"
	ReasonMaxDuration    Reason = "max_duration"
	ReasonKilled         Reason = "killed"
	ReasonBrowserCrashed Reason = "browser_crashed"
	ReasonStartFailed    Reason = "start_failed"
	ReasonWorkerLost     Reason = "worker_lost"
	ReasonWorkerShutdown Reason = "worker_shutdown"
	ReasonCompleted      Reason = "completed"
	ReasonArtifactFailed Reason = "artifact_failed"
)

// Record selects the artifacts a session records.
type Record struct {
	HAR         bool `json:"har"`
	Video       bool `json:"video"`
	Screenshots bool `json:"screenshots"`
}

// Viewport is a page size in CSS pixels.
type Viewport struct {
	Width  int `json:"width"`
	Height int `json:"height"`
}

// CreateSessionRequest is the body of POST /sessions.
type CreateSessionRequest struct {
	Mode           Mode              `json:"mode"`
	Engine         string            `json:"engine"`
	Headless       *bool             `json:"headless,omitempty"`
	IdleTTLSec     int               `json:"idleTtlSec,omitempty"`
	MaxDurationSec int               `json:"maxDurationSec,omitempty"`
	Record         *Record           `json:"record,omitempty"`
	Viewport       *Viewport         `json:"viewport,omitempty"`
	Labels         map[string]string `json:"labels,omitempty"`
	Steps          []json.RawMessage `json:"steps,omitempty"`
	CloseWhenDone  bool              `json:"closeWhenDone,omitempty"`
	// CamoufoxConfig is passed to Camoufox as CAMOU_CONFIG_1..N; keys must
	// be Camoufox properties. camoufox engine only.
	CamoufoxConfig map[string]any `json:"camoufoxConfig,omitempty"`
}

// Session is a session as the API shows it.
type Session struct {
	ID             string            `json:"id"`
	State          State             `json:"state"`
	Reason         Reason            `json:"reason,omitempty"`
	Error          string            `json:"error,omitempty"`
	Engine         string            `json:"engine"`
	EngineVersion  string            `json:"engineVersion,omitempty"`
	Mode           Mode              `json:"mode"`
	Headless       bool              `json:"headless"`
	Record         Record            `json:"record"`
	Viewport       Viewport          `json:"viewport"`
	Labels         map[string]string `json:"labels,omitempty"`
	CreatedAt      time.Time         `json:"createdAt"`
	ReadyAt        *time.Time        `json:"readyAt,omitempty"`
	EndedAt        *time.Time        `json:"endedAt,omitempty"`
	ExpiresAt      time.Time         `json:"expiresAt"`
	IdleTTLSec     int               `json:"idleTtlSec"`
	MaxDurationSec int               `json:"maxDurationSec"`
	LastActivityAt time.Time         `json:"lastActivityAt"`
	WSEndpoint     string            `json:"wsEndpoint,omitempty"`
	Steps          []StepResult      `json:"steps,omitempty"`
	WorkerID       string            `json:"workerId,omitempty"`
	// History lists the state changes, oldest first.
	History []StateChange `json:"history,omitempty"`
}

// StateChange is one entry of a session's state history.
type StateChange struct {
	State State     `json:"state"`
	At    time.Time `json:"at"`
}

// SessionList is the body of GET /sessions.
type SessionList struct {
	Sessions []Session `json:"sessions"`
}

// ActionsRequest is the body of POST /sessions/{id}/actions.
type ActionsRequest struct {
	Steps []json.RawMessage `json:"steps"`
}

// ActionsResponse is the answer to POST /sessions/{id}/actions.
type ActionsResponse struct {
	SessionID string       `json:"sessionId"`
	Results   []StepResult `json:"results"`
}

// StepStatus is the outcome of one step.
type StepStatus string

// The step outcomes.
const (
	StepOK      StepStatus = "ok"
	StepFailed  StepStatus = "error"
	StepSkipped StepStatus = "skipped"
)

// StepResult is what one Managed step produced.
type StepResult struct {
	Index      int        `json:"index"`
	Action     string     `json:"action"`
	Status     StepStatus `json:"status"`
	DurationMs int64      `json:"durationMs"`
	Output     any        `json:"output,omitempty"`
	Error      *StepError `json:"error,omitempty"`
}

// StepError is why a step failed: a stable code and a message for people.
type StepError struct {
	Code    string `json:"code"`
	Message string `json:"message"`
}

// Error is the body of every 4xx and 5xx answer.
type Error struct {
	Error ErrorBody `json:"error"`
}

// ErrorBody names what went wrong and, where it applies, the request field.
type ErrorBody struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Field   string `json:"field,omitempty"`
}
