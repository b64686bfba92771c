package session

import (
	"crypto/subtle"
	"fmt"
	"time"

	"github.com/camo-fleet/camo-fleet/internal/api"
)

// WSPath is the path of a session's Direct endpoint on the worker.
func WSPath(id string) string { return "/sessions/" + id + "/ws" }

// ConnectToken returns the token of the session's wsEndpoint while it can
// still be used; the create response is the only place it is shown.
func (s *Session) ConnectToken() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.plan.req.Mode != api.ModeDirect || s.tokenUsed {
		return ""
	}
	return s.wsToken
}

// ClaimRelay checks a Direct client's token and, if it is good, spends it
// and returns the browser server's address. The caller must call the
// returned release when the client's connection ends: the session then ends
// with client_closed.
func (m *Manager) ClaimRelay(id, token string) (backend string, s *Session, release func(), err error) {
	if !m.cfg.AllowDirect {
		return "", nil, nil, ErrDirectDisabled
	}
	if s, err = m.Get(id); err != nil {
		return "", nil, nil, err
	}
	if err := s.claim(token); err != nil {
		return "", nil, nil, err
	}
	s.Touch()
	s.setState(api.StateRunning)
	s.log.Info("direct client connected")
	release = func() {
		s.log.Info("direct client disconnected")
		s.RequestEnd(api.ReasonClientClosed)
	}
	return s.proc.Ready().WSEndpoint, s, release, nil
}

func (s *Session) claim(token string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.plan.req.Mode != api.ModeDirect:
		return fmt.Errorf("%w: %s is a managed session", ErrWrongMode, s.id)
	case s.state.Ended() || s.state == api.StateClosing:
		return fmt.Errorf("%w: %s", ErrEnded, s.id)
	case s.state != api.StateReady && s.tokenUsed:
		return ErrClientConnected
	case s.state != api.StateReady:
		return fmt.Errorf("%w: %s is %s", ErrNotReady, s.id, s.state)
	case s.tokenUsed || time.Now().After(s.tokenExpires) ||
		subtle.ConstantTimeCompare([]byte(token), []byte(s.wsToken)) != 1:
		return ErrTokenInvalid
	}
	s.tokenUsed = true
	return nil
}
