package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/camo-fleet/camo-fleet/internal/api"
	"github.com/camo-fleet/camo-fleet/internal/controlplane"
	"github.com/camo-fleet/camo-fleet/internal/testkit"
)

// Waits of the control-plane tests.
const (
	cpWait      = time.Minute      // a worker comes up, a session reaches a state
	cpLostWait  = 30 * time.Second // a killed worker's sessions are lost
	cpEventWait = 30 * time.Second // an event shows up on a stream
	// cpShutdownWait bounds a serve process's exit after SIGTERM: its
	// sessions get CLOSE_GRACE_SEC (5 in the tests) plus 30 s for
	// artifacts, and HTTP 10 s more.
	cpShutdownWait = 50 * time.Second
)

// cpEvent is one event of a control-plane's (or worker's) /events.
type cpEvent struct {
	ID        int64           `json:"id"`
	Time      time.Time       `json:"time"`
	Type      string          `json:"type"`
	SessionID string          `json:"sessionId"`
	WorkerID  string          `json:"workerId"`
	Data      json.RawMessage `json:"data"`
	// received is when the test read it.
	received time.Time
}

// session decodes the session an event carries.
func (e cpEvent) session() api.Session {
	var d struct {
		Session api.Session `json:"session"`
	}
	_ = json.Unmarshal(e.Data, &d)
	return d.Session
}

// cpStream reads a /events stream in the background.
type cpStream struct {
	resp   *http.Response
	cancel context.CancelFunc
	events chan cpEvent
	done   chan struct{}
}

// cpOpenEvents connects to base's /events; lastID "" means live only.
func cpOpenEvents(t *testing.T, base, lastID string) *cpStream {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", base+"/events", nil)
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		t.Fatalf("GET %s/events: %v", base, err)
	}
	if resp.StatusCode != http.StatusOK {
		cancel()
		t.Fatalf("GET %s/events: status %d", base, resp.StatusCode)
	}
	s := &cpStream{resp: resp, cancel: cancel, events: make(chan cpEvent, 10000),
		done: make(chan struct{})}
	go s.read()
	t.Cleanup(s.close)
	return s
}

func (s *cpStream) read() {
	defer close(s.done)
	defer close(s.events)
	r := bufio.NewReader(s.resp.Body)
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		if !strings.HasPrefix(line, "data: ") {
			continue
		}
		var e cpEvent
		if json.Unmarshal([]byte(line[len("data: "):]), &e) != nil || e.ID == 0 {
			continue
		}
		e.received = time.Now()
		s.events <- e
	}
}

// close disconnects and waits for the reader to stop.
func (s *cpStream) close() {
	s.cancel()
	s.resp.Body.Close()
	<-s.done
}

// until collects events until one satisfies stop (included) and returns
// them; it fails the test when the stream ends or timeout passes first.
func (s *cpStream) until(t *testing.T, timeout time.Duration, what string,
	stop func(cpEvent) bool) []cpEvent {
	t.Helper()
	var seen []cpEvent
	deadline := time.After(timeout)
	for {
		select {
		case e, ok := <-s.events:
			if !ok {
				t.Fatalf("event stream ended before %s; seen %s", what, cpDescribe(seen))
			}
			seen = append(seen, e)
			if stop(e) {
				return seen
			}
		case <-deadline:
			t.Fatalf("no %s within %s; seen %s", what, timeout, cpDescribe(seen))
		}
	}
}

// quiet collects whatever arrives within d.
func (s *cpStream) quiet(d time.Duration) []cpEvent {
	var seen []cpEvent
	deadline := time.After(d)
	for {
		select {
		case e, ok := <-s.events:
			if !ok {
				return seen
			}
			seen = append(seen, e)
		case <-deadline:
			return seen
		}
	}
}

// cpEnded matches the end event of a session.
func cpEnded(id string) func(cpEvent) bool {
	return func(e cpEvent) bool { return e.SessionID == id && e.Type == "session.ended" }
}

func cpDescribe(evs []cpEvent) string {
	parts := make([]string, len(evs))
	for i, e := range evs {
		parts[i] = fmt.Sprintf("%d:%s:%s", e.ID, e.Type, e.SessionID)
	}
	return "[" + strings.Join(parts, " ") + "]"
}

// cpOfSession keeps the events of one session.
func cpOfSession(evs []cpEvent, id string) []cpEvent {
	var out []cpEvent
	for _, e := range evs {
		if e.SessionID == id {
			out = append(out, e)
		}
	}
	return out
}

// cpTypes lists the events' types.
func cpTypes(evs []cpEvent) []string {
	out := make([]string, len(evs))
	for i, e := range evs {
		out[i] = e.Type
	}
	return out
}

// cpCheckIncreasing fails the test unless ids strictly increase.
func cpCheckIncreasing(t *testing.T, evs []cpEvent) {
	t.Helper()
	for i := 1; i < len(evs); i++ {
		if evs[i].ID <= evs[i-1].ID {
			t.Errorf("event ids not increasing: %s", cpDescribe(evs))
			return
		}
	}
}

// cpStatus reads GET /status.
func cpStatus(t *testing.T, c *testkit.Client) controlplane.Status {
	t.Helper()
	var st controlplane.Status
	c.JSON("GET", "/status", nil, &st)
	return st
}

// cpWorker finds a worker in /status.
func cpWorker(st controlplane.Status, id string) (controlplane.WorkerStatus, bool) {
	for _, w := range st.Workers {
		if w.ID == id {
			return w, true
		}
	}
	return controlplane.WorkerStatus{}, false
}

// cpWaitWorkers waits until every worker id is up in /status with chromium.
func cpWaitWorkers(t *testing.T, c *testkit.Client, ids ...string) controlplane.Status {
	t.Helper()
	var st controlplane.Status
	cpEventually(t, cpWait, fmt.Sprintf("workers %v up", ids), func() bool {
		st = cpStatus(t, c)
		for _, id := range ids {
			w, ok := cpWorker(st, id)
			if !ok || w.State != "up" || !slices.Contains(w.Engines, "chromium") {
				return false
			}
		}
		return true
	})
	return st
}

// cpWorkerID asks a worker for its id.
func cpWorkerID(t *testing.T, c *testkit.Client) string {
	t.Helper()
	var h struct {
		WorkerID string `json:"workerId"`
	}
	c.JSON("GET", "/health", nil, &h)
	return h.WorkerID
}

// cpLiveIDs returns the ids of the sessions that have not ended, sorted.
func cpLiveIDs(list []api.Session) []string {
	var out []string
	for _, s := range list {
		if !s.State.Ended() {
			out = append(out, s.ID)
		}
	}
	slices.Sort(out)
	return out
}

// cpRegistryLive lists the sessions the control-plane thinks run on a worker.
func cpRegistryLive(t *testing.T, c *testkit.Client, workerID string) []string {
	t.Helper()
	var page controlplane.SessionPage
	c.JSON("GET", "/sessions?limit=1000&worker="+workerID+
		"&state=queued,starting,ready,running,closing", nil, &page)
	return cpLiveIDs(page.Sessions)
}

// cpWorkerLive lists the sessions a worker runs.
func cpWorkerLive(t *testing.T, c *testkit.Client) []string {
	t.Helper()
	var list api.SessionList
	c.JSON("GET", "/sessions?limit=1000", nil, &list)
	return cpLiveIDs(list.Sessions)
}

// cpCheckNoGhosts waits until the registry and the worker agree on what runs
// there, and fails the test if they do not.
func cpCheckNoGhosts(t *testing.T, cp, w *testkit.Client, workerID string) []string {
	t.Helper()
	var reg, live []string
	ok := cpPoll(cpWait, func() bool {
		reg, live = cpRegistryLive(t, cp, workerID), cpWorkerLive(t, w)
		return slices.Equal(reg, live)
	})
	if !ok {
		t.Errorf("registry and worker %s disagree: registry runs %v, worker runs %v", workerID,
			reg, live)
	}
	return live
}

// cpMetric returns the value of one sample of the Prometheus text at base's
// /metrics: name with its labels as written, e.g.
// `camofleet_cp_sessions_rejected_total{reason="queue_full"}`. Absent
// samples are 0.
func cpMetric(t *testing.T, c *testkit.Client, sample string) float64 {
	t.Helper()
	status, body := c.Do("GET", "/metrics", nil)
	if status != http.StatusOK {
		t.Fatalf("GET /metrics: status %d", status)
	}
	for _, line := range strings.Split(string(body), "\n") {
		if v, ok := strings.CutPrefix(line, sample+" "); ok {
			f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if err != nil {
				t.Fatalf("metric %s: %q: %v", sample, v, err)
			}
			return f
		}
	}
	return 0
}

// cpCreateResult is the answer to one create sent in the background.
type cpCreateResult struct {
	status     int
	retryAfter string
	body       []byte
	session    api.Session
	err        error
	at         time.Time
}

// cpCreateAsync sends a create with ctx and delivers the answer on the
// returned channel.
func cpCreateAsync(ctx context.Context, base string,
	req api.CreateSessionRequest) <-chan cpCreateResult {
	out := make(chan cpCreateResult, 1)
	go func() {
		out <- cpCreateOnce(ctx, base, req)
	}()
	return out
}

func cpCreateOnce(ctx context.Context, base string, req api.CreateSessionRequest) cpCreateResult {
	body, _ := json.Marshal(req)
	hr, err := http.NewRequestWithContext(ctx, "POST", base+"/sessions", bytes.NewReader(body))
	if err != nil {
		return cpCreateResult{err: err}
	}
	hr.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(hr)
	if err != nil {
		return cpCreateResult{err: err, at: time.Now()}
	}
	defer resp.Body.Close()
	var res cpCreateResult
	res.status, res.retryAfter, res.at = resp.StatusCode, resp.Header.Get("Retry-After"), time.Now()
	if res.body, res.err = io.ReadAll(resp.Body); res.err != nil {
		return res
	}
	if res.status == http.StatusCreated {
		res.err = json.Unmarshal(res.body, &res.session)
	}
	return res
}

// cpDirect is a Direct chromium session request that ends by itself when
// nobody uses it for idle seconds.
func cpDirect(idle int, labels map[string]string) api.CreateSessionRequest {
	return api.CreateSessionRequest{Mode: api.ModeDirect, Engine: "chromium", IdleTTLSec: idle,
		Labels: labels}
}

// cpDelete ends a session through c and fails the test unless it is
// answered 200 or 202.
func cpDelete(t *testing.T, c *testkit.Client, id string) api.Session {
	t.Helper()
	status, body := c.Do("DELETE", "/sessions/"+id, nil)
	if status != http.StatusOK && status != http.StatusAccepted {
		t.Fatalf("DELETE /sessions/%s: status %d: %s", id, status, body)
	}
	var s api.Session
	_ = json.Unmarshal(body, &s)
	return s
}

// cpEventually polls cond until it holds, and fails the test after timeout.
func cpEventually(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	if !cpPoll(timeout, cond) {
		t.Fatalf("not within %s: %s", timeout, what)
	}
}

// cpPoll polls cond until it holds or timeout passes, and says which.
func cpPoll(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(100 * time.Millisecond)
	}
	return true
}
