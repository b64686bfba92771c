package worker

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/camo-fleet/camo-fleet/internal/api"
	"github.com/camo-fleet/camo-fleet/internal/httpx"
	"github.com/camo-fleet/camo-fleet/internal/session"
)

// deleteWait bounds how long DELETE waits for the session to be closed.
const deleteWait = 60 * time.Second

func (s *Server) createSession(w http.ResponseWriter, r *http.Request) {
	var req api.CreateSessionRequest
	if err := httpx.Decode(w, r, s.cfg.MaxBodyBytes, &req); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	sess, err := s.mgr.Create(r.Context(), req)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	v := sess.View()
	if tok := sess.ConnectToken(); tok != "" {
		v.WSEndpoint = s.wsEndpoint(r, sess.ID(), tok)
	}
	w.Header().Set("Location", "/sessions/"+sess.ID())
	writeJSON(w, http.StatusCreated, v)
}

// wsEndpoint is the URL a Playwright client connects to.
func (s *Server) wsEndpoint(r *http.Request, id, token string) string {
	base := s.cfg.PublicURL
	if base == "" {
		scheme := "http"
		if r.TLS != nil || r.Header.Get("X-Forwarded-Proto") == "https" {
			scheme = "https"
		}
		base = scheme + "://" + r.Host
	}
	base = strings.TrimSuffix(base, "/")
	base = strings.Replace(strings.Replace(base, "https://", "wss://", 1), "http://", "ws://", 1)
	return base + session.WSPath(id) + "?token=" + url.QueryEscape(token)
}

func (s *Server) listSessions(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	limit, offset, err := paging(q)
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	label := q.Get("label")
	lk, lv, hasLabel := strings.Cut(label, "=")
	out := api.SessionList{Sessions: []api.Session{}}
	skipped := 0
	for _, sess := range s.mgr.List() {
		v := sess.View()
		if !match(q.Get("state"), string(v.State)) || !match(q.Get("engine"), v.Engine) ||
			!match(q.Get("mode"), string(v.Mode)) || (label != "" && !hasLabelMatch(v, lk, lv, hasLabel)) {
			continue
		}
		if skipped < offset {
			skipped++
			continue
		}
		if len(out.Sessions) == limit {
			break
		}
		out.Sessions = append(out.Sessions, v)
	}
	writeJSON(w, http.StatusOK, out)
}

func match(want, got string) bool { return want == "" || want == got }

func hasLabelMatch(v api.Session, k, val string, withValue bool) bool {
	got, ok := v.Labels[k]
	return ok && (!withValue || got == val)
}

func paging(q url.Values) (limit, offset int, err error) {
	limit, offset = 100, 0
	if v := q.Get("limit"); v != "" {
		if limit, err = strconv.Atoi(v); err != nil || limit < 1 || limit > 1000 {
			return 0, 0, &session.FieldError{Field: "limit", Reason: "must be 1..1000"}
		}
	}
	if v := q.Get("offset"); v != "" {
		if offset, err = strconv.Atoi(v); err != nil || offset < 0 {
			return 0, 0, &session.FieldError{Field: "offset", Reason: "must be a whole number ≥ 0"}
		}
	}
	return limit, offset, nil
}

func (s *Server) getSession(w http.ResponseWriter, r *http.Request) {
	sess, err := s.mgr.Get(r.PathValue("id"))
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	writeJSON(w, http.StatusOK, sess.View())
}

func (s *Server) deleteSession(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), deleteWait)
	defer cancel()
	sess, err := s.mgr.End(ctx, r.PathValue("id"), api.ReasonKilled)
	if err != nil && sess == nil {
		writeError(w, r, s.log, err)
		return
	}
	if err != nil && ctx.Err() != nil {
		// Still closing: the end is under way and will be published.
		writeJSON(w, http.StatusAccepted, sess.View())
		return
	}
	if err != nil {
		writeError(w, r, s.log, err)
		return
	}
	writeJSON(w, http.StatusOK, sess.View())
}

func (s *Server) runActions(w http.ResponseWriter, r *http.Request) {
	var req api.ActionsRequest
	if err := httpx.Decode(w, r, s.cfg.MaxBodyBytes, &req); err != nil {
		writeError(w, r, s.log, err)
		return
	}
	if len(req.Steps) == 0 {
		writeError(w, r, s.log, &session.FieldError{Field: "steps", Reason: "is required: a non-empty list"})
		return
	}
	id := r.PathValue("id")
	results, err := s.mgr.RunSteps(r.Context(), id, req.Steps)
	if err != nil {
		writeError(w, r, s.log, fmt.Errorf("run steps on %s: %w", id, err))
		return
	}
	writeJSON(w, http.StatusOK, api.ActionsResponse{SessionID: id, Results: results})
}
