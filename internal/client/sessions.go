package client

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"

	"github.com/camo-fleet/camo-fleet/internal/api"
)

// ListOptions filters GET /sessions; zero fields do not filter.
type ListOptions struct {
	// State keeps sessions in this state.
	State api.State
	// Engine keeps sessions of this engine.
	Engine string
	// Mode keeps sessions of this mode.
	Mode api.Mode
	// Label keeps sessions with this label: "key" (any value) or "key=value".
	Label string
	// Limit is at most this many sessions (the API's default when zero).
	Limit int
	// Offset skips this many matching sessions first.
	Offset int
}

func (o ListOptions) query() string {
	q := url.Values{}
	set := func(k, v string) {
		if v != "" {
			q.Set(k, v)
		}
	}
	set("state", string(o.State))
	set("engine", o.Engine)
	set("mode", string(o.Mode))
	set("label", o.Label)
	if o.Limit > 0 {
		q.Set("limit", strconv.Itoa(o.Limit))
	}
	if o.Offset > 0 {
		q.Set("offset", strconv.Itoa(o.Offset))
	}
	if len(q) == 0 {
		return ""
	}
	return "?" + q.Encode()
}

func sessionPath(id string) string { return "/sessions/" + url.PathEscape(id) }

// CreateSession starts a session and returns it once it is ready. A Direct
// session comes back with its one-use WSEndpoint.
func (c *Client) CreateSession(ctx context.Context,
	req api.CreateSessionRequest) (*api.Session, error) {
	var s api.Session
	if _, err := c.call(ctx, http.MethodPost, "/sessions", req, &s); err != nil {
		return nil, err
	}
	return &s, nil
}

// ListSessions returns the sessions that match opts, newest first.
func (c *Client) ListSessions(ctx context.Context, opts ListOptions) ([]api.Session, error) {
	var list api.SessionList
	if _, err := c.call(ctx, http.MethodGet, "/sessions"+opts.query(), nil, &list); err != nil {
		return nil, err
	}
	return list.Sessions, nil
}

// GetSession returns one session with its step results and history.
func (c *Client) GetSession(ctx context.Context, id string) (*api.Session, error) {
	var s api.Session
	if _, err := c.call(ctx, http.MethodGet, sessionPath(id), nil, &s); err != nil {
		return nil, err
	}
	return &s, nil
}

// DeleteSession ends a session and returns it. closing is true when the API
// answered 202: the session was still closing when it stopped waiting, and
// ends on its own.
func (c *Client) DeleteSession(ctx context.Context,
	id string) (s *api.Session, closing bool, err error) {
	s = new(api.Session)
	status, err := c.call(ctx, http.MethodDelete, sessionPath(id), nil, s)
	if err != nil {
		return nil, false, err
	}
	return s, status == http.StatusAccepted, nil
}

// RunSteps runs steps on a Managed session, in order, and returns a result
// for each once all have run. Steps after the first failure are skipped.
func (c *Client) RunSteps(ctx context.Context, id string,
	steps []json.RawMessage) (*api.ActionsResponse, error) {
	var out api.ActionsResponse
	path := sessionPath(id) + "/actions"
	body := api.ActionsRequest{Steps: steps}
	if _, err := c.call(ctx, http.MethodPost, path, body, &out); err != nil {
		return nil, err
	}
	return &out, nil
}
