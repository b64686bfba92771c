package e2e

import (
	"encoding/json"
	"net/http"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/camo-fleet/camo-fleet/internal/api"
	"github.com/camo-fleet/camo-fleet/internal/testkit"
)

// TestControlPlaneWorkerKilled SIGKILLs a worker process under a running
// session. Within 30 s (WORKER_DOWN_AFTER_SEC is 6) the session is
// lost/worker_lost, /status shows the worker down and /events carries
// worker.down and the session's end. The worker restarted on the same port
// and data comes up again and is reconciled: the registry and the worker
// agree on what runs there, before and after a new session.
func TestControlPlaneWorkerKilled(t *testing.T) {
	needEngine(t, "chromium")
	w := testkit.StartProcess(t, "worker", testkit.Env{"IDLE_TTL_SEC": "120"})
	id := cpWorkerID(t, w.Client)
	cp := testkit.StartControlPlane(t, testkit.Env{"WORKERS": w.Base, "HEARTBEAT_SEC": "1",
		"WORKER_DOWN_AFTER_SEC": "6"})
	cpWaitWorkers(t, cp.Client, id)
	s := cp.Create(api.CreateSessionRequest{Mode: api.ModeManaged, Engine: "chromium"})
	events := cpOpenEvents(t, cp.Base, "")

	killed := time.Now()
	w.Kill()
	lost := cp.WaitFor(s.ID, cpLostWait, func(s api.Session) bool { return s.State.Ended() })
	t.Logf("session ended %s after SIGKILL", time.Since(killed).Round(time.Millisecond))
	if lost.State != api.StateLost || lost.Reason != api.ReasonWorkerLost || lost.EndedAt == nil {
		t.Errorf("session after SIGKILL: %s/%s ended %v, want lost/worker_lost", lost.State,
			lost.Reason, lost.EndedAt)
	}
	if wk, _ := cpWorker(cpStatus(t, cp.Client), id); wk.State != "down" {
		t.Errorf("/status says worker %s is %q, want down", id, wk.State)
	}
	seen := events.until(t, cpEventWait, "session end", cpEnded(s.ID))
	if !hasEvent(seen, "worker.down", id) {
		t.Errorf("no worker.down for %s on /events: %s", id, cpDescribe(seen))
	}
	if end := seen[len(seen)-1].session(); end.State != api.StateLost {
		t.Errorf("session.ended carries state %s, want lost", end.State)
	}

	w.Start()
	cpWaitWorkers(t, cp.Client, id)
	events.until(t, cpEventWait, "worker.up", func(e cpEvent) bool {
		return e.Type == "worker.up" && e.WorkerID == id
	})
	if live := cpCheckNoGhosts(t, cp.Client, w.Client, id); len(live) != 0 {
		t.Errorf("sessions running after the restart: %v", live)
	}
	if got := cp.Get(s.ID); got.State != api.StateLost {
		t.Errorf("session of the killed worker is %s after its restart, want lost", got.State)
	}
	again := cp.Create(api.CreateSessionRequest{Mode: api.ModeManaged, Engine: "chromium"})
	if live := cpCheckNoGhosts(t, cp.Client, w.Client, id); len(live) != 1 || live[0] != again.ID {
		t.Errorf("after a new session the worker runs %v, want only %s", live, again.ID)
	}
	cpDelete(t, cp.Client, again.ID)
	testkit.AssertNoLeftovers(t, w.DataDir)
}

// TestControlPlaneWorkerFrozen stops a worker process (SIGSTOP) under a
// running session until the control-plane declares it down and the session
// lost, then lets it go on (SIGCONT). The worker comes back up; the session
// it still runs is ended there (no ghost), stays lost/worker_lost in the
// registry, and /events carries one end for it, the lost one.
func TestControlPlaneWorkerFrozen(t *testing.T) {
	needEngine(t, "chromium")
	w := testkit.StartProcess(t, "worker", testkit.Env{"IDLE_TTL_SEC": "120"})
	id := cpWorkerID(t, w.Client)
	cp := testkit.StartControlPlane(t, testkit.Env{"WORKERS": w.Base, "HEARTBEAT_SEC": "1",
		"WORKER_DOWN_AFTER_SEC": "6"})
	cpWaitWorkers(t, cp.Client, id)
	s := cp.Create(api.CreateSessionRequest{Mode: api.ModeManaged, Engine: "chromium"})
	events := cpOpenEvents(t, cp.Base, "")

	w.Signal(syscall.SIGSTOP)
	lost := cp.WaitFor(s.ID, cpLostWait, func(s api.Session) bool { return s.State.Ended() })
	w.Signal(syscall.SIGCONT)
	if lost.State != api.StateLost || lost.Reason != api.ReasonWorkerLost {
		t.Errorf("session of the frozen worker: %s/%s, want lost/worker_lost", lost.State, lost.Reason)
	}
	cpWaitWorkers(t, cp.Client, id)
	if live := cpCheckNoGhosts(t, cp.Client, w.Client, id); len(live) != 0 {
		t.Errorf("sessions running after the worker came back: %v", live)
	}
	if got := w.Get(s.ID); !got.State.Ended() {
		t.Errorf("the worker still runs the lost session: %s", got.State)
	}
	if got := cp.Get(s.ID); got.State != api.StateLost || got.Reason != api.ReasonWorkerLost {
		t.Errorf("registry changed the lost session to %s/%s", got.State, got.Reason)
	}
	var ends []cpEvent
	for _, e := range cpOfSession(events.quiet(3*time.Second), s.ID) {
		if e.Type == "session.ended" {
			ends = append(ends, e)
		}
	}
	if len(ends) != 1 || ends[0].session().State != api.StateLost {
		t.Errorf("ends of the session on /events: %s, want one, lost", cpDescribe(ends))
	}
}

// hasEvent reports whether evs holds an event of type typ for worker id.
func hasEvent(evs []cpEvent, typ, workerID string) bool {
	for _, e := range evs {
		if e.Type == typ && e.WorkerID == workerID {
			return true
		}
	}
	return false
}

// TestControlPlaneRestart runs `camofleet control-plane` as a process with a
// SQLite registry file, creates a Direct session through it, and restarts
// it (SIGTERM, exit 0, start again on the same port). The session is still
// there and live, the first wsEndpoint still works through the new process,
// and /events holds each of the session's events once. A session started
// on the worker directly while the control-plane was down is taken into
// the registry, not ended.
func TestControlPlaneRestart(t *testing.T) {
	needEngine(t, "chromium")
	w := testkit.StartProcess(t, "worker", testkit.Env{"WORKER_ID": "restart-worker",
		"IDLE_TTL_SEC": "120"})
	cp := testkit.StartProcess(t, "control-plane", testkit.Env{"WORKERS": w.Base,
		"REGISTRY_URL": filepath.Join(testkit.DataDir(t), "registry.db"), "HEARTBEAT_SEC": "1",
		"WORKER_DOWN_AFTER_SEC": "6"})
	cpWaitWorkers(t, cp.Client, "restart-worker")
	s := cp.Create(cpDirect(120, nil))
	cp.WaitFor(s.ID, cpWait, func(s api.Session) bool { return s.State == api.StateReady })
	before := cpStatus(t, cp.Client).LastEventID

	cp.Signal(syscall.SIGTERM)
	if code := cp.Wait(30 * time.Second); code != 0 {
		t.Fatalf("control-plane exit code %d after SIGTERM, want 0\n%s", code, cp.Log())
	}
	meanwhile := w.Create(api.CreateSessionRequest{Mode: api.ModeManaged, Engine: "chromium"})
	cp.Start()
	cpWaitWorkers(t, cp.Client, "restart-worker")
	if got := cp.Get(s.ID); got.State != api.StateReady || got.WorkerID != "restart-worker" {
		t.Fatalf("after the restart the session is %s on %q, want ready on restart-worker",
			got.State, got.WorkerID)
	}
	cpEventually(t, cpWait, "the session started meanwhile is in the registry", func() bool {
		status, _ := cp.Do("GET", "/sessions/"+meanwhile.ID, nil)
		return status == http.StatusOK
	})
	if live := cpCheckNoGhosts(t, cp.Client, w.Client, "restart-worker"); len(live) != 2 {
		t.Errorf("after the restart the worker runs %v, want both sessions", live)
	}
	cpDelete(t, cp.Client, meanwhile.ID)

	site := testkit.Site(t, nil)
	var out struct {
		Title string `json:"title"`
	}
	cpRunClient(t, s.WSEndpoint, site.URL, &out)
	if out.Title != "Home" {
		t.Errorf("client through the restarted control-plane read title %q", out.Title)
	}
	end := cp.WaitFor(s.ID, cpWait, func(s api.Session) bool { return s.State.Ended() })
	if end.State != api.StateClosed || end.Reason != api.ReasonClientClosed {
		t.Errorf("session ended %s/%s, want closed/client_closed", end.State, end.Reason)
	}

	all := cpOpenEvents(t, cp.Base, "0").until(t, cpEventWait, "session end", cpEnded(s.ID))
	cpCheckIncreasing(t, all)
	mine := cpOfSession(all, s.ID)
	if n := countType(mine, "session.created"); n != 1 {
		t.Errorf("%d session.created events for the session, want 1: %v", n, cpTypes(mine))
	}
	t.Logf("events before the restart: %d; the session's events: %v", before, cpTypes(mine))
}

// countType counts the events of one type.
func countType(evs []cpEvent, typ string) int {
	n := 0
	for _, e := range evs {
		if e.Type == typ {
			n++
		}
	}
	return n
}

// cpClientJS connects a stock Playwright client to argv[2], opens argv[3],
// prints {"title": document.title} and closes the browser.
const cpClientJS = `
const { chromium } = require('playwright-core');
(async () => {
  const browser = await chromium.connect(process.argv[2]);
  const page = await (await browser.newContext()).newPage();
  await page.goto(process.argv[3]);
  const title = await page.evaluate(() => document.title);
  await browser.close();
  process.stdout.write(JSON.stringify({ title }) + '\n');
})().catch((e) => { console.error(e); process.exit(1); });
`

// cpRunClient runs cpClientJS and decodes what it printed into out.
func cpRunClient(t *testing.T, wsEndpoint, url string, out any) {
	t.Helper()
	raw := testkit.RunNode(t, 2*time.Minute, cpClientJS, wsEndpoint, url)
	if err := json.Unmarshal([]byte(raw), out); err != nil {
		t.Fatalf("client printed %q: %v", raw, err)
	}
}
