package e2e

import (
	"os"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/camo-fleet/camo-fleet/internal/api"
	"github.com/camo-fleet/camo-fleet/internal/session"
	"github.com/camo-fleet/camo-fleet/internal/testkit"
)

// shutdownWait bounds a worker's exit after SIGTERM: its budget is
// CLOSE_GRACE_SEC (5 here) plus 30 s for artifacts, plus 10 s for HTTP.
const shutdownWait = 50 * time.Second

// TestWorkerSIGTERM runs the real binary with a Direct session (a client
// connected and one navigation done) and a Managed one (one goto), both
// recording HAR, and sends it SIGTERM. The worker exits 0 within its budget,
// each session folder says closed/worker_shutdown and holds a HAR with its
// navigation, and no process of the data folder is left.
func TestWorkerSIGTERM(t *testing.T) {
	site := testkit.Site(t, nil)
	for _, engine := range engines {
		t.Run(engine, func(t *testing.T) {
			needEngine(t, engine)
			data := testkit.DataDir(t)
			w := startBinary(t, data, testkit.Env{"CLOSE_GRACE_SEC": "5"})

			nc := startClient(t, engine, site.URL, "hold", "1")
			direct := w.Create(api.CreateSessionRequest{Mode: api.ModeDirect, Engine: engine,
				Record: &api.Record{HAR: true}})
			nc.connect(t, direct.WSEndpoint)
			managed := w.Create(api.CreateSessionRequest{Mode: api.ModeManaged, Engine: engine,
				Record: &api.Record{HAR: true},
				Steps:  testkit.RawSteps(testkit.Step("goto", "url", site.URL+"/?managed=1"))})
			nc.expect(t, `"ready":1`, clientWait)
			w.WaitFor(managed.ID, endWait, func(s api.Session) bool {
				return len(s.Steps) == 1 && s.State == api.StateReady
			})

			w.signal(t, syscall.SIGTERM)
			if code := w.wait(t, shutdownWait); code != 0 {
				t.Errorf("worker exit code %d after SIGTERM, want 0\n%s", code, w.log())
			}
			for id, url := range map[string]string{direct.ID: site.URL + "/?ctx=1",
				managed.ID: site.URL + "/?managed=1"} {
				if m := readMeta(t, data, id); m.State != api.StateClosed ||
					m.Reason != string(api.ReasonWorkerShutdown) {
					t.Errorf("session %s: session.json says %s/%s, want closed/worker_shutdown",
						id, m.State, m.Reason)
				}
				if h := readHARFile(t, data, id); !h.hasEntry(url, 200) {
					t.Errorf("session %s: HAR has no entry for %s: %v", id, url, h.urls())
				}
			}
			nc.expect(t, `"disconnected":true`, procWait)
			if pids := testkit.Leftovers(data); len(pids) > 0 {
				t.Errorf("processes left for %s after the worker exited: %v", data, pids)
			}
		})
	}
}

// TestRestartRecovery SIGKILLs the real binary under a Managed session that
// recorded one navigation. Its browser goes within moments (the launcher
// hears of its parent's death) or at the latest when the next worker starts
// on the same RUNNER_DATA; that worker marks the session lost/worker_lost
// and turns the HAR entries into session.har.
func TestRestartRecovery(t *testing.T) {
	site := testkit.Site(t, nil)
	for _, engine := range engines {
		t.Run(engine, func(t *testing.T) {
			needEngine(t, engine)
			data := testkit.DataDir(t)
			w := startBinary(t, data, nil)
			s := w.Create(api.CreateSessionRequest{Mode: api.ModeManaged, Engine: engine,
				Record: &api.Record{HAR: true},
				Steps:  testkit.RawSteps(testkit.Step("goto", "url", site.URL))})
			w.WaitFor(s.ID, endWait, func(s api.Session) bool {
				return len(s.Steps) == 1 && s.State == api.StateReady
			})
			if s := w.Get(s.ID); s.Steps[0].Status != api.StepOK {
				t.Fatalf("goto: %+v", s.Steps[0])
			}

			w.signal(t, syscall.SIGKILL)
			w.wait(t, procWait)
			gone := waitUntil(5*time.Second, func() bool { return len(testkit.Leftovers(data)) == 0 })
			t.Logf("session processes gone before the restart: %v (left: %v)", gone,
				testkit.Leftovers(data))

			again := startBinary(t, data, nil)
			if pids := testkit.Leftovers(data); len(pids) > 0 {
				t.Errorf("processes of the killed worker still alive after the restart: %v", pids)
			}
			if m := readMeta(t, data, s.ID); m.State != api.StateLost ||
				m.Reason != string(api.ReasonWorkerLost) {
				t.Errorf("session.json says %s/%s, want lost/worker_lost", m.State, m.Reason)
			}
			if h := readHARFile(t, data, s.ID); !h.hasEntry(site.URL+"/", 200) {
				t.Errorf("recovered HAR has no entry for the navigation: %v", h.urls())
			}
			if _, err := os.Stat(filepath.Join(session.TmpRoot(data), s.ID)); !os.IsNotExist(err) {
				t.Errorf("temporary folder of the lost session is still there: %v", err)
			}
			again.signal(t, syscall.SIGTERM)
			if code := again.wait(t, shutdownWait); code != 0 {
				t.Errorf("restarted worker exit code %d after SIGTERM, want 0\n%s", code, again.log())
			}
		})
	}
}
