package testkit

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/camo-fleet/camo-fleet/internal/api"
)

// Client calls a Worker (or Control) API and fails the test on transport
// errors; HTTP statuses are returned for the test to check.
type Client struct {
	t    testing.TB
	Base string
	HTTP *http.Client
}

// NewClient returns a client for base (http://host:port).
func NewClient(t testing.TB, base string) *Client {
	return &Client{t: t, Base: strings.TrimSuffix(base, "/"), HTTP: &http.Client{Timeout: 5 * time.Minute}}
}

// Do sends a request with a JSON body (nil for none) and returns the status
// and the raw body.
func (c *Client) Do(method, path string, body any) (int, []byte) {
	c.t.Helper()
	var rd io.Reader
	if body != nil {
		if raw, ok := body.(string); ok {
			rd = strings.NewReader(raw)
		} else {
			b, err := json.Marshal(body)
			if err != nil {
				c.t.Fatalf("encode body: %v", err)
			}
			rd = bytes.NewReader(b)
		}
	}
	req, err := http.NewRequest(method, c.Base+path, rd)
	if err != nil {
		c.t.Fatalf("new request: %v", err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.HTTP.Do(req)
	if err != nil {
		c.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatalf("%s %s: read body: %v", method, path, err)
	}
	return resp.StatusCode, out
}

// JSON sends a request and decodes a 2xx answer into out (if not nil); any
// other status fails the test with the body.
func (c *Client) JSON(method, path string, body, out any) {
	c.t.Helper()
	status, raw := c.Do(method, path, body)
	if status/100 != 2 {
		c.t.Fatalf("%s %s: status %d: %s", method, path, status, raw)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			c.t.Fatalf("%s %s: decode %s: %v", method, path, raw, err)
		}
	}
}

// Create creates a session and fails the test unless it answers 201.
func (c *Client) Create(req api.CreateSessionRequest) api.Session {
	c.t.Helper()
	var s api.Session
	status, raw := c.Do("POST", "/sessions", req)
	if status != http.StatusCreated {
		c.t.Fatalf("create session: status %d: %s", status, raw)
	}
	if err := json.Unmarshal(raw, &s); err != nil {
		c.t.Fatalf("decode session: %v", err)
	}
	return s
}

// Get returns a session.
func (c *Client) Get(id string) api.Session {
	c.t.Helper()
	var s api.Session
	c.JSON("GET", "/sessions/"+id, nil, &s)
	return s
}

// WaitEnded waits until the session has ended and returns it.
func (c *Client) WaitEnded(id string, timeout time.Duration) api.Session {
	c.t.Helper()
	return c.WaitFor(id, timeout, func(s api.Session) bool { return s.State.Ended() })
}

// WaitFor polls the session until ok holds or timeout passes.
func (c *Client) WaitFor(id string, timeout time.Duration, ok func(api.Session) bool) api.Session {
	c.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		s := c.Get(id)
		if ok(s) {
			return s
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("session %s: condition not met within %s; last state %s (%s) %s",
				id, timeout, s.State, s.Reason, s.Error)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// Artifact is one entry of GET /artifacts.
type Artifact struct {
	Kind         string `json:"kind"`
	Name         string `json:"name"`
	Size         int64  `json:"size"`
	SHA256       string `json:"sha256"`
	ContentType  string `json:"contentType"`
	OriginalName string `json:"originalName"`
	URL          string `json:"url"`
}

// Artifacts lists a session's artifacts.
func (c *Client) Artifacts(id string) []Artifact {
	c.t.Helper()
	var out struct {
		Artifacts []Artifact `json:"artifacts"`
	}
	c.JSON("GET", "/artifacts?session="+id, nil, &out)
	return out.Artifacts
}

// Download fetches an artifact's bytes by its listed URL.
func (c *Client) Download(a Artifact) []byte {
	c.t.Helper()
	status, body := c.Do("GET", a.URL, nil)
	if status != http.StatusOK {
		c.t.Fatalf("download %s: status %d: %s", a.Name, status, body)
	}
	return body
}

// Find returns the first artifact of kind whose name has prefix, or fails.
func Find(t testing.TB, list []Artifact, kind, prefix string) Artifact {
	t.Helper()
	for _, a := range list {
		if a.Kind == kind && strings.HasPrefix(a.Name, prefix) {
			return a
		}
	}
	t.Fatalf("no %s artifact named %s* in %+v", kind, prefix, list)
	return Artifact{}
}

// Steps runs steps on a Managed session and returns the status and results.
func (c *Client) Steps(id string, steps ...map[string]any) (int, api.ActionsResponse) {
	c.t.Helper()
	raw := make([]json.RawMessage, len(steps))
	for i, s := range steps {
		raw[i], _ = json.Marshal(s)
	}
	status, body := c.Do("POST", "/sessions/"+id+"/actions", api.ActionsRequest{Steps: raw})
	var out api.ActionsResponse
	if status == http.StatusOK {
		if err := json.Unmarshal(body, &out); err != nil {
			c.t.Fatalf("decode actions: %v", err)
		}
	} else {
		c.t.Logf("actions on %s: status %d: %s", id, status, body)
	}
	return status, out
}

// Step builds a step object: Step("goto", "url", u).
func Step(action string, kv ...any) map[string]any {
	m := map[string]any{"action": action}
	for i := 0; i+1 < len(kv); i += 2 {
		m[fmt.Sprint(kv[i])] = kv[i+1]
	}
	return m
}

// RawSteps encodes steps for a create request.
func RawSteps(steps ...map[string]any) []json.RawMessage {
	out := make([]json.RawMessage, len(steps))
	for i, s := range steps {
		out[i], _ = json.Marshal(s)
	}
	return out
}
