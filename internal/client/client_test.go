package client_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os/exec"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/camo-fleet/camo-fleet/internal/api"
	"github.com/camo-fleet/camo-fleet/internal/client"
	"github.com/camo-fleet/camo-fleet/internal/testkit"
)

// testTimeout bounds each test's calls; a browser start takes seconds.
const testTimeout = 2 * time.Minute

func needChromium(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("chromium"); err != nil {
		t.Skipf("chromium is not installed (%v); install it with ./scripts/test.sh", err)
	}
}

func newClient(t *testing.T, base string, opts ...client.Option) *client.Client {
	t.Helper()
	c, err := client.New(base, opts...)
	if err != nil {
		t.Fatalf("new client: %v", err)
	}
	return c
}

func testContext(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	t.Cleanup(cancel)
	return ctx
}

func step(action string, kv ...any) json.RawMessage {
	return testkit.RawSteps(testkit.Step(action, kv...))[0]
}

func TestSessionLifecycle(t *testing.T) {
	needChromium(t)
	w := testkit.StartWorker(t, nil)
	site := testkit.Site(t, nil)
	c := newClient(t, w.Base)
	ctx := testContext(t)

	s, err := c.CreateSession(ctx, api.CreateSessionRequest{Mode: api.ModeManaged,
		Engine: "chromium", Labels: map[string]string{"suite": "client"},
		Record: &api.Record{HAR: true}})
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	if s.State != api.StateReady || s.Mode != api.ModeManaged {
		t.Fatalf("created %s/%s, want ready/managed", s.State, s.Mode)
	}

	list, err := c.ListSessions(ctx, client.ListOptions{Label: "suite=client",
		State: api.StateReady})
	if err != nil {
		t.Fatalf("list: %v", err)
	}
	if !slices.ContainsFunc(list, func(x api.Session) bool { return x.ID == s.ID }) {
		t.Fatalf("list by label misses %s: %+v", s.ID, list)
	}
	none, err := c.ListSessions(ctx, client.ListOptions{Label: "suite=other"})
	if err != nil || len(none) != 0 {
		t.Fatalf("list by another label: %v, %d sessions", err, len(none))
	}

	res, err := c.RunSteps(ctx, s.ID, []json.RawMessage{step("goto", "url", site.URL),
		step("extract", "selector", "h1", "what", "text")})
	if err != nil {
		t.Fatalf("run steps: %v", err)
	}
	if len(res.Results) != 2 || res.Results[1].Output != "Hello" {
		t.Fatalf("results: %+v", res.Results)
	}

	got, err := c.GetSession(ctx, s.ID)
	if err != nil || len(got.Steps) != 2 {
		t.Fatalf("get: %v, %+v", err, got)
	}

	ended, closing, err := c.DeleteSession(ctx, s.ID)
	if err != nil || closing {
		t.Fatalf("delete: %v (closing %v)", err, closing)
	}
	if ended.State != api.StateKilled || ended.Reason != api.ReasonKilled {
		t.Fatalf("ended %s/%s, want killed/killed", ended.State, ended.Reason)
	}

	_, _, err = c.DeleteSession(ctx, s.ID)
	var ae *client.APIError
	if !errors.As(err, &ae) || ae.Status != http.StatusConflict || ae.Code != "session_ended" {
		t.Fatalf("second delete: %v, want 409 session_ended", err)
	}
	_, err = c.GetSession(ctx, "00000000000000000000")
	if !errors.As(err, &ae) || ae.Status != http.StatusNotFound || ae.Code != "not_found" {
		t.Fatalf("get unknown: %v, want 404 not_found", err)
	}
}

func TestAPIErrorBadEngine(t *testing.T) {
	w := testkit.StartWorker(t, nil)
	c := newClient(t, w.Base)

	_, err := c.CreateSession(testContext(t), api.CreateSessionRequest{Mode: api.ModeManaged,
		Engine: "netscape"})
	var ae *client.APIError
	if !errors.As(err, &ae) {
		t.Fatalf("create with a bad engine: %v (%T), want *APIError", err, err)
	}
	if ae.Status != http.StatusBadRequest || ae.Code != "invalid_field" || ae.Field != "engine" {
		t.Fatalf("got %+v, want 400 invalid_field on engine", ae)
	}
	for _, want := range []string{"netscape", "HTTP 400", "invalid_field", "field engine"} {
		if !strings.Contains(ae.Error(), want) {
			t.Errorf("error %q lacks %q", ae.Error(), want)
		}
	}
}

func TestDownloadArtifacts(t *testing.T) {
	needChromium(t)
	w := testkit.StartWorker(t, nil)
	site := testkit.Site(t, nil)
	c := newClient(t, w.Base)
	ctx := testContext(t)

	s, err := c.CreateSession(ctx, api.CreateSessionRequest{Mode: api.ModeManaged,
		Engine: "chromium", Record: &api.Record{HAR: true}})
	if err != nil {
		t.Fatalf("create: %v", err)
	}
	if _, err := c.RunSteps(ctx, s.ID, []json.RawMessage{step("goto", "url", site.URL),
		step("screenshot", "name", "home")}); err != nil {
		t.Fatalf("run steps: %v", err)
	}
	if _, _, err := c.DeleteSession(ctx, s.ID); err != nil {
		t.Fatalf("delete: %v", err)
	}

	list, err := c.ListArtifacts(ctx, s.ID)
	if err != nil {
		t.Fatalf("list artifacts: %v", err)
	}
	kinds := map[string]bool{}
	for _, a := range list.Artifacts {
		kinds[a.Kind] = true
		var buf bytes.Buffer
		n, err := c.Download(ctx, a, &buf)
		if err != nil {
			t.Fatalf("download %s: %v", a.Name, err)
		}
		sum := sha256.Sum256(buf.Bytes())
		if n != a.Size || hex.EncodeToString(sum[:]) != a.SHA256 {
			t.Fatalf("%s: %d bytes with sha256 %x, listed %d and %s", a.Name, n, sum, a.Size,
				a.SHA256)
		}
	}
	if !kinds["har"] || !kinds["screenshot"] {
		t.Fatalf("artifact kinds %v, want har and screenshot", kinds)
	}

	// A listing whose checksum does not match the bytes is refused.
	bad := list.Artifacts[0]
	bad.SHA256 = strings.Repeat("0", 64)
	var ce *client.ChecksumError
	if _, err := c.Download(ctx, bad, &bytes.Buffer{}); !errors.As(err, &ce) {
		t.Fatalf("download with a wrong sha256: %v, want *ChecksumError", err)
	}
}

// TestToken puts a recording proxy in front of a real worker: the token goes
// to the API's host and to no other.
func TestToken(t *testing.T) {
	w := testkit.StartWorker(t, nil)
	target, _ := url.Parse(w.Base)
	var mu sync.Mutex
	var seen []string
	proxy := httputil.NewSingleHostReverseProxy(target)
	front := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen = append(seen, r.Header.Get("Authorization"))
		mu.Unlock()
		proxy.ServeHTTP(rw, r)
	}))
	t.Cleanup(front.Close)
	var elsewhere string
	other := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		elsewhere = r.Header.Get("Authorization")
		_, _ = rw.Write([]byte("x"))
	}))
	t.Cleanup(other.Close)

	ctx := testContext(t)
	c := newClient(t, front.URL, client.WithToken("s3cret"))
	if _, err := c.ListSessions(ctx, client.ListOptions{}); err != nil {
		t.Fatalf("list: %v", err)
	}
	if _, err := c.Download(ctx, client.Artifact{Name: "x", URL: other.URL + "/x"},
		&bytes.Buffer{}); err != nil {
		t.Fatalf("download elsewhere: %v", err)
	}
	if elsewhere != "" {
		t.Fatalf("the token went to another host: %q", elsewhere)
	}
	if _, err := newClient(t, front.URL).ListSessions(ctx, client.ListOptions{}); err != nil {
		t.Fatalf("list without a token: %v", err)
	}

	mu.Lock()
	defer mu.Unlock()
	if !slices.Equal(seen, []string{"Bearer s3cret", ""}) {
		t.Fatalf("Authorization at the API: %q, want the token, then none", seen)
	}
}

// TestErrorWithoutJSONBody covers what a proxy in front of the API may
// answer; no worker answers like this, hence the stand-in server.
func TestErrorWithoutJSONBody(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(rw http.ResponseWriter, _ *http.Request) {
		rw.Header().Set("Content-Type", "text/html")
		rw.WriteHeader(http.StatusBadGateway)
		_, _ = rw.Write([]byte("\n<html>upstream down</html>\n"))
	}))
	t.Cleanup(srv.Close)

	_, err := newClient(t, srv.URL).GetSession(testContext(t), "abc")
	var ae *client.APIError
	if !errors.As(err, &ae) || ae.Status != http.StatusBadGateway || ae.Code != "" ||
		ae.Message != "<html>upstream down</html>" {
		t.Fatalf("got %#v", err)
	}
}

func TestTransportError(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	base := srv.URL
	srv.Close()

	_, err := newClient(t, base).ListSessions(testContext(t), client.ListOptions{})
	var ae *client.APIError
	if err == nil || errors.As(err, &ae) || !strings.Contains(err.Error(), "GET "+base+"/sessions") {
		t.Fatalf("got %v, want a transport error naming the request", err)
	}
}

func TestNew(t *testing.T) {
	tests := []struct {
		name, base, want string
		ok               bool
	}{
		{"plain", "http://localhost:8080", "http://localhost:8080", true},
		{"trailing slash", "https://fleet.example/", "https://fleet.example", true},
		{"prefix", "https://fleet.example/api/", "https://fleet.example/api", true},
		{"no scheme", "localhost:8080", "", false},
		{"ftp", "ftp://host", "", false},
		{"no host", "http://", "", false},
		{"query", "http://host/?a=1", "", false},
		{"user", "http://u:p@host/", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := client.New(tt.base)
			if (err == nil) != tt.ok {
				t.Fatalf("New(%q) error %v, want ok %v", tt.base, err, tt.ok)
			}
			if tt.ok && c.BaseURL() != tt.want {
				t.Fatalf("BaseURL %q, want %q", c.BaseURL(), tt.want)
			}
		})
	}
}

func TestURL(t *testing.T) {
	c := newClient(t, "http://h:1/api")
	tests := map[string]string{
		"/artifacts/abc/screenshots/a%20b.png": "http://h:1/api/artifacts/abc/screenshots/a%20b.png",
		"/artifacts/abc/x%2Fy":                 "http://h:1/api/artifacts/abc/x%2Fy",
		"https://cdn.example/x":                "https://cdn.example/x",
	}
	for in, want := range tests {
		if got := c.URL(in); got != want {
			t.Errorf("URL(%q) = %q, want %q", in, got, want)
		}
	}
}
