package e2e

import (
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"testing"
	"time"

	"github.com/camo-fleet/camo-fleet/internal/api"
	"github.com/camo-fleet/camo-fleet/internal/testkit"
)

// TestControlPlaneEventsReplay reads the control-plane's /events while a
// Managed session runs, disconnects, changes the session further and
// reconnects with Last-Event-ID: the new stream holds exactly the events
// missed, in order, none twice. It also measures how long a worker's event
// takes to show on the control-plane's stream.
func TestControlPlaneEventsReplay(t *testing.T) {
	needEngine(t, "chromium")
	w := testkit.StartWorker(t, testkit.Env{"WORKER_ID": "events-worker", "MAX_SESSIONS": "2"})
	cp := testkit.StartControlPlane(t, testkit.Env{"WORKERS": w.Base})
	cpWaitWorkers(t, cp.Client, "events-worker")
	site := testkit.Site(t, nil)

	first := cpOpenEvents(t, cp.Base, "")
	for k, want := range map[string]string{"Content-Type": "text/event-stream",
		"X-Accel-Buffering": "no", "Cache-Control": "no-cache, no-transform"} {
		if got := first.resp.Header.Get(k); got != want {
			t.Errorf("/events header %s = %q, want %q", k, got, want)
		}
	}
	fromWorker, live := cpOpenEvents(t, w.Base, ""), cpOpenEvents(t, cp.Base, "")
	s := cp.Create(api.CreateSessionRequest{Mode: api.ModeManaged, Engine: "chromium",
		Steps: testkit.RawSteps(testkit.Step("goto", "url", site.URL))})
	read := first.until(t, cpEventWait, "the first step", func(e cpEvent) bool {
		return e.SessionID == s.ID && e.Type == "session.step"
	})
	first.close()
	last := read[len(read)-1].ID

	status, _ := cp.Steps(s.ID, testkit.Step("extract", "selector", "#h", "what", "text"))
	if status != http.StatusOK {
		t.Fatalf("actions: status %d", status)
	}
	cpDelete(t, cp.Client, s.ID)

	missed := cpOpenEvents(t, cp.Base, strconv.FormatInt(last, 10)).
		until(t, cpEventWait, "the end after reconnecting", cpEnded(s.ID))
	all := cpOpenEvents(t, cp.Base, "0").
		until(t, cpEventWait, "the end from the start", cpEnded(s.ID))
	cpCheckIncreasing(t, all)
	var want []cpEvent
	for _, e := range all {
		if e.ID > last {
			want = append(want, e)
		}
	}
	if cpDescribe(missed) != cpDescribe(want) {
		t.Errorf("replay after %d gave %s\nthe log after it holds %s", last, cpDescribe(missed),
			cpDescribe(want))
	}
	if n := countType(missed, "session.step"); n != 1 {
		t.Errorf("%d session.step events after reconnecting, want 1 (the extract): %s", n,
			cpDescribe(missed))
	}
	checkNoCopies(t, all)
	cpMeasureDelay(t, fromWorker, live.until(t, cpEventWait, "the end, live", cpEnded(s.ID)), s.ID)
}

// checkNoCopies fails the test if two events carry the same session state,
// type and step count: one worker event streamed twice.
func checkNoCopies(t *testing.T, evs []cpEvent) {
	t.Helper()
	seen := map[string]int64{}
	for _, e := range evs {
		if e.SessionID == "" {
			continue
		}
		key := fmt.Sprintf("%s %s %s", e.SessionID, e.Type, e.Data)
		if id, ok := seen[key]; ok {
			t.Errorf("events %d and %d are the same %s of session %s", id, e.ID, e.Type,
				e.SessionID)
		}
		seen[key] = e.ID
	}
}

// cpMeasureDelay compares when the worker's own /events stamped each of the
// session's events with when the test read the same event from a live
// stream of the control-plane's /events. The delays are logged; only a gross one (5 s)
// fails the test, since the machines running it are often busy.
func cpMeasureDelay(t *testing.T, worker *cpStream, fromCP []cpEvent, id string) {
	t.Helper()
	wevs := cpOfSession(worker.until(t, cpEventWait, "the end on the worker", cpEnded(id)), id)
	cevs := cpOfSession(fromCP, id)
	if !slices.Equal(cpTypes(wevs), cpTypes(cevs)) {
		t.Errorf("worker events %v, control-plane events %v", cpTypes(wevs), cpTypes(cevs))
		return
	}
	var delays []time.Duration
	for i, we := range wevs {
		delays = append(delays, cevs[i].received.Sub(we.Time).Round(time.Millisecond))
	}
	t.Logf("worker event → control-plane /events delays: %v", delays)
	for i, d := range delays {
		if d > 5*time.Second {
			t.Errorf("%s reached the control-plane's /events %s after the worker's",
				wevs[i].Type, d)
		}
	}
}

// TestControlPlaneReplicas runs two control-planes on one Postgres
// registry, both in front of the same worker. A session created through
// replica A is seen on replica B's /events, every one of its events once,
// and B's GET shows it.
func TestControlPlaneReplicas(t *testing.T) {
	needEngine(t, "chromium")
	db := testkit.PostgresDatabase(t)
	w := testkit.StartWorker(t, testkit.Env{"WORKER_ID": "shared-worker", "MAX_SESSIONS": "2"})
	a := testkit.StartControlPlane(t, testkit.Env{"WORKERS": w.Base, "REGISTRY_URL": db})
	b := testkit.StartControlPlane(t, testkit.Env{"WORKERS": w.Base, "REGISTRY_URL": db})
	cpWaitWorkers(t, a.Client, "shared-worker")
	cpWaitWorkers(t, b.Client, "shared-worker")
	site := testkit.Site(t, nil)

	onA, onB := cpOpenEvents(t, a.Base, ""), cpOpenEvents(t, b.Base, "")
	fromWorker := cpOpenEvents(t, w.Base, "")
	s := a.Create(api.CreateSessionRequest{Mode: api.ModeManaged, Engine: "chromium",
		CloseWhenDone: true, Steps: testkit.RawSteps(testkit.Step("goto", "url", site.URL))})
	seenB := b.WaitFor(s.ID, cpWait, func(s api.Session) bool { return s.State.Ended() })
	if seenB.State != api.StateClosed || seenB.Reason != api.ReasonCompleted {
		t.Errorf("replica B shows the session %s/%s, want closed/completed", seenB.State,
			seenB.Reason)
	}

	evA := cpOfSession(onA.until(t, cpEventWait, "the end on A", cpEnded(s.ID)), s.ID)
	evB := cpOfSession(onB.until(t, cpEventWait, "the end on B", cpEnded(s.ID)), s.ID)
	wev := cpOfSession(fromWorker.until(t, cpEventWait, "the end on the worker", cpEnded(s.ID)), s.ID)
	if !slices.Equal(cpTypes(evB), cpTypes(wev)) {
		t.Errorf("replica B streamed %v for the worker's %v", cpTypes(evB), cpTypes(wev))
	}
	if cpDescribe(evA) != cpDescribe(evB) {
		t.Errorf("replicas disagree\nA: %s\nB: %s", cpDescribe(evA), cpDescribe(evB))
	}
	// Stragglers: a copy that arrives after the end must not be streamed.
	late := cpOfSession(onB.quiet(2*time.Second), s.ID)
	if len(late) > 0 {
		t.Errorf("replica B streamed more events of the ended session: %s", cpDescribe(late))
	}
	checkNoCopies(t, append(evB, late...))
}
