package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/camo-fleet/camo-fleet/internal/api"
	"github.com/camo-fleet/camo-fleet/internal/launcher"
	"github.com/camo-fleet/camo-fleet/internal/procs"
	"github.com/camo-fleet/camo-fleet/internal/testkit"
)

// Queue sizes of TestControlPlaneQueue: the worker's MAX_SESSIONS and the
// control-plane's QUEUE_MAX.
const (
	cpCapacity = 2
	cpQueueMax = 5
)

// cpCheckOverflow is F17: 50 creates at once on a full fleet of capacity 2 with
// a queue of 5. Exactly 2 run, 5 wait and 43 are refused with 429, a
// Retry-After and a JSON body; the metrics say so; nothing answers 5xx. As
// slots are freed, the 5 waiting ones start.
func cpCheckOverflow(t *testing.T, cp *testkit.Client) {
	const n = 50
	created0 := cpMetric(t, cp, `camofleet_cp_sessions_created_total{engine="chromium"}`)
	rejected0 := cpMetric(t, cp, `camofleet_cp_sessions_rejected_total{reason="queue_full"}`)
	results := make(chan cpCreateResult, n)
	for i := range n {
		go func() {
			req := cpDirect(120, map[string]string{"burst": strconv.Itoa(i)})
			results <- cpCreateOnce(context.Background(), cp.Base, req)
		}()
	}

	var answers []cpCreateResult
	for len(answers) < n-cpQueueMax {
		answers = append(answers, cpReceive(t, results, "an answer to the burst"))
	}
	if late := cpDrain(results, time.Second); len(late) > 0 {
		t.Errorf("%d more answers while %d should wait: %+v", len(late), cpQueueMax, late)
		answers = append(answers, late...)
	}
	running := cpCreated(answers)
	if len(running) != cpCapacity {
		t.Errorf("%d sessions created at once, want %d", len(running), cpCapacity)
	}
	cpCheckRefused(t, answers, n-cpCapacity-cpQueueMax)
	if st := cpStatus(t, cp); st.Queue != cpQueueMax || st.Running != cpCapacity {
		t.Errorf("/status queue %d running %d, want %d and %d", st.Queue, st.Running, cpQueueMax,
			cpCapacity)
	}
	for sample, want := range map[string]float64{
		"camofleet_cp_queue_length":     cpQueueMax,
		"camofleet_cp_sessions_running": cpCapacity,
		`camofleet_cp_sessions_rejected_total{reason="queue_full"}`: rejected0 + n - cpCapacity -
			cpQueueMax,
	} {
		if got := cpMetric(t, cp, sample); got != want {
			t.Errorf("metric %s = %v, want %v", sample, got, want)
		}
	}

	// Free one slot at a time: each time one waiting create starts.
	for len(running) > 0 {
		cpDelete(t, cp, running[0].ID)
		running = running[1:]
		if len(answers) < n {
			r := cpReceive(t, results, "a waiting create to start")
			answers = append(answers, r)
			if r.status != http.StatusCreated {
				t.Fatalf("a waiting create got %d: %s", r.status, r.body)
			}
			running = append(running, r.session)
		}
	}
	if got := len(cpCreated(answers)); got != cpCapacity+cpQueueMax {
		t.Errorf("%d sessions created in all, want %d", got, cpCapacity+cpQueueMax)
	}
	if got := cpMetric(t, cp, `camofleet_cp_sessions_created_total{engine="chromium"}`); got !=
		created0+cpCapacity+cpQueueMax {
		t.Errorf("created_total grew by %v, want %d", got-created0, cpCapacity+cpQueueMax)
	}
	if st := cpStatus(t, cp); st.Queue != 0 {
		t.Errorf("/status queue %d after the burst, want 0", st.Queue)
	}
}

// cpReceive waits for one answer.
func cpReceive(t *testing.T, ch <-chan cpCreateResult, what string) cpCreateResult {
	t.Helper()
	select {
	case r := <-ch:
		if r.err != nil {
			t.Fatalf("create: %v", r.err)
		}
		return r
	case <-time.After(cpWait):
		t.Fatalf("no %s within %s", what, cpWait)
	}
	return cpCreateResult{}
}

// cpDrain returns what arrives within d.
func cpDrain(ch <-chan cpCreateResult, d time.Duration) []cpCreateResult {
	var out []cpCreateResult
	deadline := time.After(d)
	for {
		select {
		case r := <-ch:
			out = append(out, r)
		case <-deadline:
			return out
		}
	}
}

// cpCreated returns the sessions of the 201 answers.
func cpCreated(answers []cpCreateResult) []api.Session {
	var out []api.Session
	for _, r := range answers {
		if r.status == http.StatusCreated {
			out = append(out, r.session)
		}
	}
	return out
}

// cpCheckRefused checks that every answer is a 201 or a well-formed 429
// queue_full, and that there are want of the latter.
func cpCheckRefused(t *testing.T, answers []cpCreateResult, want int) {
	t.Helper()
	refused := 0
	for _, r := range answers {
		switch r.status {
		case http.StatusCreated:
			continue
		case http.StatusTooManyRequests:
			refused++
		default:
			t.Errorf("create answered %d (want 201 or 429): %s", r.status, r.body)
			continue
		}
		if n, err := strconv.Atoi(r.retryAfter); err != nil || n < 1 {
			t.Errorf("429 with Retry-After %q, want seconds ≥ 1", r.retryAfter)
		}
		var e api.Error
		if err := json.Unmarshal(r.body, &e); err != nil || e.Error.Code != "queue_full" ||
			e.Error.Message == "" {
			t.Errorf("429 body %s, want a JSON error with code queue_full", r.body)
		}
	}
	if refused != want {
		t.Errorf("%d creates refused, want %d", refused, want)
	}
}

// cpFill creates Direct sessions until the worker is full and returns them.
func cpFill(t *testing.T, cp *testkit.Client, label string) []api.Session {
	t.Helper()
	var out []api.Session
	for i := range cpCapacity {
		out = append(out, cp.Create(cpDirect(120, map[string]string{"fill": fmt.Sprint(label, i)})))
	}
	return out
}

// cpEnqueue sends a create that has to wait and returns once the queue holds
// it, at position pos.
func cpEnqueue(ctx context.Context, t *testing.T, cp *testkit.Client,
	order, pos int) <-chan cpCreateResult {
	t.Helper()
	req := cpDirect(120, map[string]string{"order": strconv.Itoa(order)})
	ch := cpCreateAsync(ctx, cp.Base, req)
	cpEventually(t, cpWait, fmt.Sprintf("queue length %d", pos), func() bool {
		return cpStatus(t, cp).Queue == pos
	})
	return ch
}

// cpCheckFIFO queues three creates one after the other and frees one slot at
// a time: they start in the order they came.
func cpCheckFIFO(t *testing.T, cp *testkit.Client) {
	running := cpFill(t, cp, "fifo")
	var waiting []<-chan cpCreateResult
	for i := range 3 {
		waiting = append(waiting, cpEnqueue(context.Background(), t, cp, i, i+1))
	}
	for i, ch := range waiting {
		cpDelete(t, cp, running[0].ID)
		running = running[1:]
		r := cpReceive(t, ch, fmt.Sprintf("create %d to start", i))
		if r.status != http.StatusCreated {
			t.Fatalf("waiting create %d answered %d: %s", i, r.status, r.body)
		}
		for j, other := range waiting[i+1:] {
			select {
			case r := <-other:
				t.Fatalf("create %d answered %d before create %d", i+1+j, r.status, i)
			default:
			}
		}
		running = append(running, r.session)
	}
	for _, s := range running {
		cpDelete(t, cp, s.ID)
	}
}

// cpCheckQueueCancel queues a create and cancels its request: it leaves the
// queue at once and, when a slot frees, no browser starts for it.
func cpCheckQueueCancel(t *testing.T, cp *testkit.Client, w *testkit.Process) {
	running := cpFill(t, cp, "cancel")
	before := len(cpWorkerSessions(t, w.Client))
	ctx, cancel := context.WithCancel(context.Background())
	ch := cpEnqueue(ctx, t, cp, 0, 1)
	cancel()
	if r := <-ch; r.err == nil {
		t.Fatalf("cancelled create answered %d: %s", r.status, r.body)
	}
	cpEventually(t, cpWait, "queue empty after the client gave up", func() bool {
		return cpStatus(t, cp).Queue == 0
	})

	cpDelete(t, cp, running[0].ID)
	time.Sleep(3 * time.Second) // room for a wrongly started browser to show up
	if after := cpWorkerSessions(t, w.Client); len(after) != before {
		t.Errorf("worker has %d sessions, had %d before the cancelled create: %v", len(after),
			before, after)
	}
	if pids := cpStrangers(w.DataDir, running[1].ID); len(pids) > 0 {
		t.Errorf("processes of no known session after the cancelled create: %v", pids)
	}
	cpDelete(t, cp, running[1].ID)
	testkit.AssertNoLeftovers(t, w.DataDir)
}

// cpWorkerSessions lists every session a worker knows, ended ones too.
func cpWorkerSessions(t *testing.T, c *testkit.Client) []string {
	t.Helper()
	var list api.SessionList
	c.JSON("GET", "/sessions?limit=1000", nil, &list)
	var ids []string
	for _, s := range list.Sessions {
		ids = append(ids, s.ID)
	}
	return ids
}

// cpStrangers returns the processes of a data folder that belong to none of
// the known sessions.
func cpStrangers(dataDir string, known ...string) []int {
	var mine []int
	for _, id := range known {
		pids, _ := procs.FindByEnv(launcher.EnvSession, id)
		mine = append(mine, pids...)
	}
	var out []int
	for _, pid := range testkit.Leftovers(dataDir) {
		if !slices.Contains(mine, pid) {
			out = append(out, pid)
		}
	}
	return out
}
