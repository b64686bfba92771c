package e2e

import (
	"net/http"
	"testing"
	"time"

	"github.com/camo-fleet/camo-fleet/internal/api"
	"github.com/camo-fleet/camo-fleet/internal/testkit"
)

// TestControlPlaneTwoWorkers runs a control-plane in front of two real
// worker processes (chromium, MAX_SESSIONS=2 each). Four creates spread two
// per worker and /status shows both full; a Managed session runs its steps
// and more actions through the control-plane, whose GET follows the
// worker's; DELETE through the control-plane ends it on the worker.
func TestControlPlaneTwoWorkers(t *testing.T) {
	needEngine(t, "chromium")
	w1 := testkit.StartProcess(t, "worker", testkit.Env{"IDLE_TTL_SEC": "60"})
	w2 := testkit.StartProcess(t, "worker", testkit.Env{"IDLE_TTL_SEC": "60"})
	id1, id2 := cpWorkerID(t, w1.Client), cpWorkerID(t, w2.Client)
	cp := testkit.StartControlPlane(t, testkit.Env{"WORKERS": w1.Base + "," + w2.Base})
	cpWaitWorkers(t, cp.Client, id1, id2)

	var ids []string
	per := map[string]int{}
	for range 4 {
		s := cp.Create(api.CreateSessionRequest{Mode: api.ModeManaged, Engine: "chromium"})
		per[s.WorkerID]++
		ids = append(ids, s.ID)
	}
	if per[id1] != 2 || per[id2] != 2 {
		t.Errorf("sessions per worker %v, want 2 on each of %s and %s", per, id1, id2)
	}
	st := cpStatus(t, cp.Client)
	for _, id := range []string{id1, id2} {
		w, _ := cpWorker(st, id)
		if w.Capacity != 2 || w.Active+w.Reserved != 2 {
			t.Errorf("/status worker %s: capacity %d, active %d, reserved %d; want 2 and 2",
				id, w.Capacity, w.Active, w.Reserved)
		}
	}
	if st.Capacity != 4 || st.Running != 4 {
		t.Errorf("/status capacity %d running %d, want 4 and 4", st.Capacity, st.Running)
	}
	for _, id := range ids {
		if s := cpDelete(t, cp.Client, id); s.State != api.StateKilled {
			t.Errorf("DELETE %s through the control-plane: state %s", id, s.State)
		}
	}
	cpEventually(t, cpWait, "/status shows both workers empty", func() bool {
		st := cpStatus(t, cp.Client)
		return st.Running == 0
	})

	cpCheckManaged(t, cp.Client, map[string]*testkit.Client{id1: w1.Client, id2: w2.Client})
}

// cpCheckManaged runs a Managed session through the control-plane and
// compares what its GET shows with what the worker's shows.
func cpCheckManaged(t *testing.T, cp *testkit.Client, workers map[string]*testkit.Client) {
	site := testkit.Site(t, nil)
	s := cp.Create(api.CreateSessionRequest{Mode: api.ModeManaged, Engine: "chromium",
		Steps: testkit.RawSteps(testkit.Step("goto", "url", site.URL),
			testkit.Step("extract", "selector", "#h", "what", "text"))})
	wk := workers[s.WorkerID]
	if wk == nil {
		t.Fatalf("session on unknown worker %q", s.WorkerID)
	}
	done := func(s api.Session) bool { return len(s.Steps) == 2 && s.State == api.StateReady }
	wk.WaitFor(s.ID, cpWait, done)
	cpLogLag(t, "initial steps", cpFollows(t, cp, s.ID, done))
	if got := cp.Get(s.ID); got.Steps[1].Output != "Hello" {
		t.Errorf("extract through the control-plane: %+v", got.Steps[1])
	}

	status, out := cp.Steps(s.ID, testkit.Step("evaluate", "expression", "document.title"))
	if status != http.StatusOK || len(out.Results) != 1 || out.Results[0].Output != "Home" {
		t.Fatalf("actions through the control-plane: %d %+v", status, out)
	}
	three := func(s api.Session) bool { return len(s.Steps) == 3 }
	wk.WaitFor(s.ID, cpWait, three)
	cpLogLag(t, "actions", cpFollows(t, cp, s.ID, three))

	end := cpDelete(t, cp, s.ID)
	if end.State != api.StateKilled || end.Reason != api.ReasonKilled {
		t.Errorf("DELETE through the control-plane: %s/%s", end.State, end.Reason)
	}
	if ws := wk.Get(s.ID); ws.State != api.StateKilled {
		t.Errorf("worker says %s after DELETE through the control-plane", ws.State)
	}
	killed := func(s api.Session) bool { return s.State == api.StateKilled }
	cpLogLag(t, "delete", cpFollows(t, cp, s.ID, killed))
}

// cpFollows waits until the control-plane's GET satisfies ok, which the
// worker's already does, and returns how long that took.
func cpFollows(t *testing.T, cp *testkit.Client, id string,
	ok func(api.Session) bool) time.Duration {
	t.Helper()
	began := time.Now()
	cp.WaitFor(id, 5*time.Second, ok)
	return time.Since(began)
}

func cpLogLag(t *testing.T, what string, d time.Duration) {
	t.Logf("control-plane GET caught up with the worker (%s) after %s", what,
		d.Round(time.Millisecond))
}

// TestControlPlaneQueue is F17 and the queue's other promises, on one worker
// process with MAX_SESSIONS=2 behind a control-plane with QUEUE_MAX=5.
func TestControlPlaneQueue(t *testing.T) {
	needEngine(t, "chromium")
	w := testkit.StartProcess(t, "worker", testkit.Env{"IDLE_TTL_SEC": "120"})
	id := cpWorkerID(t, w.Client)
	cp := testkit.StartControlPlane(t, testkit.Env{"WORKERS": w.Base, "QUEUE_MAX": "5",
		"QUEUE_TIMEOUT": "120"})
	cpWaitWorkers(t, cp.Client, id)

	t.Run("F17 overflow", func(t *testing.T) { cpCheckOverflow(t, cp.Client) })
	t.Run("FIFO", func(t *testing.T) { cpCheckFIFO(t, cp.Client) })
	t.Run("client gives up", func(t *testing.T) { cpCheckQueueCancel(t, cp.Client, w) })
	if live := cpCheckNoGhosts(t, cp.Client, w.Client, id); len(live) > 0 {
		t.Errorf("sessions still running at the end: %v", live)
	}
}
