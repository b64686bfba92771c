package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/camo-fleet/camo-fleet/internal/api"
	"github.com/camo-fleet/camo-fleet/internal/testkit"
)

// TestF01ClientVanishes: a Direct client opens three contexts and is
// SIGKILLed. The worker notices the socket loss, closes the client's
// contexts, finalises the HAR, frees the slot and ends the session with
// client_closed long before the idle TTL. Engines run one after the other so
// the slot count is this session's alone.
func TestF01ClientVanishes(t *testing.T) {
	w := testkit.StartWorker(t, testkit.Env{"IDLE_TTL_SEC": "600"})
	site := testkit.Site(t, nil)
	for _, engine := range engines {
		t.Run(engine, func(t *testing.T) {
			needEngine(t, engine)
			c := clientFor(t, w)
			nc := startClient(t, engine, site.URL, "hold", "3")
			s := c.Create(api.CreateSessionRequest{Mode: api.ModeDirect, Engine: engine,
				Record: &api.Record{HAR: true}})
			nc.connect(t, s.WSEndpoint)
			nc.expect(t, `"ready":3`, clientWait)
			if _, active := health(t, c); active != 1 {
				t.Fatalf("active sessions with the client connected: %d, want 1", active)
			}

			nc.kill(t)
			endedWith(t, c, s.ID, api.StateClosed, api.ReasonClientClosed)
			if _, active := health(t, c); active != 0 {
				t.Errorf("active sessions after the end: %d, want 0", active)
			}
			if n := launcherEvents(w.Log(), s.ID, "context_close"); n != 3 {
				t.Errorf("launcher closed %d contexts, want the client's 3", n)
			}
			sessionHAR(t, c, s.ID, site.URL+"/?ctx=1", site.URL+"/?ctx=2", site.URL+"/?ctx=3")
			waitNoSessionProcs(t, s.ID)
		})
	}
}

// launcherEvents counts the launcher events named event the worker logged
// for a session.
func launcherEvents(log, id, event string) int {
	n := 0
	for line := range strings.SplitSeq(log, "\n") {
		var l struct {
			Msg       string `json:"msg"`
			SessionID string `json:"session_id"`
			Event     string `json:"event"`
		}
		if json.Unmarshal([]byte(line), &l) == nil && l.SessionID == id &&
			l.Msg == "launcher event" && l.Event == event {
			n++
		}
	}
	return n
}

// TestF02IdleMeansSilent: idleness is judged on protocol traffic. (a) A
// client that connects, navigates once and keeps its websocket open and
// silent is ended with idle_timeout. (b) A client that evaluates "1" every
// second is never idle and is ended by the maximum lifetime.
func TestF02IdleMeansSilent(t *testing.T) {
	const idleTTL = 3
	w := testkit.StartWorker(t, testkit.Env{"IDLE_TTL_SEC": "3"})
	site := testkit.Site(t, nil)
	for _, engine := range engines {
		t.Run(engine, func(t *testing.T) {
			needEngine(t, engine)
			t.Parallel()
			t.Run("a_silent_socket", func(t *testing.T) {
				c := clientFor(t, w)
				nc := startClient(t, engine, site.URL, "hold", "1")
				s := c.Create(api.CreateSessionRequest{Mode: api.ModeDirect, Engine: engine,
					Record: &api.Record{HAR: true}})
				nc.connect(t, s.WSEndpoint)
				nc.expect(t, `"ready":1`, clientWait)
				end := endedWith(t, c, s.ID, api.StateExpired, api.ReasonIdleTimeout)
				nc.expect(t, `"disconnected":true`, procWait)
				if got := history(end); !slices.Equal(got, []api.State{api.StateStarting,
					api.StateReady, api.StateRunning, api.StateClosing, api.StateExpired}) {
					t.Errorf("history %v", got)
				}
				sessionHAR(t, c, s.ID, site.URL+"/?ctx=1")
				waitNoSessionProcs(t, s.ID)
			})
			t.Run("b_busy_past_lifetime", func(t *testing.T) {
				// The lifetime counts from create, and Firefox can take
				// half a minute to start on a busy machine: leave room for
				// several idle TTLs of ticking after the start.
				lifetime := map[string]int{"chromium": 20, "firefox": 40}[engine]
				c := clientFor(t, w)
				nc := startClient(t, engine, site.URL, "tick")
				s := c.Create(api.CreateSessionRequest{Mode: api.ModeDirect, Engine: engine,
					MaxDurationSec: lifetime, Record: &api.Record{HAR: true}})
				nc.connect(t, s.WSEndpoint)
				nc.expect(t, `"ready":1`, clientWait)
				end := endedWith(t, c, s.ID, api.StateExpired, api.ReasonMaxDuration)
				var ticks struct {
					Ticks int    `json:"ticks"`
					Error string `json:"error"`
				}
				if err := json.Unmarshal([]byte(nc.expect(t, `"ticks"`, procWait)), &ticks); err != nil {
					t.Fatal(err)
				}
				if ticks.Ticks <= idleTTL+1 {
					t.Errorf("the client evaluated %d times before the end (%s); want it busy "+
						"for longer than the idle TTL of %ds", ticks.Ticks, ticks.Error, idleTTL)
				}
				if end.EndedAt.Before(end.ExpiresAt) {
					t.Errorf("ended at %v, before the lifetime ran out at %v", end.EndedAt,
						end.ExpiresAt)
				}
				sessionHAR(t, c, s.ID, site.URL+"/")
				waitNoSessionProcs(t, s.ID)
			})
		})
	}
}

// TestF03HungPage: a Managed goto to a loopback page that never answers,
// with a short step timeout and a short idle TTL, five times. Each time the
// step fails with a timeout, the session ends, and the worker's browser
// processes and free capacity return to where they started.
func TestF03HungPage(t *testing.T) {
	hang := make(chan struct{})
	site := testkit.Site(t, map[string]http.HandlerFunc{
		"/hang": func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
			case <-hang:
			}
		},
	})
	t.Cleanup(func() { close(hang) }) // before the site closes: it waits for handlers
	w := testkit.StartWorker(t, testkit.Env{"MAX_SESSIONS": "2"})
	for _, engine := range engines {
		t.Run(engine, func(t *testing.T) {
			needEngine(t, engine)
			c := clientFor(t, w)
			capacity, active := health(t, c)
			startFree, startProcs := capacity-active, len(testkit.Leftovers(w.DataDir))
			for i := range 5 {
				s := c.Create(api.CreateSessionRequest{Mode: api.ModeManaged, Engine: engine,
					IdleTTLSec: 2, Steps: testkit.RawSteps(
						testkit.Step("goto", "url", site.URL+"/hang", "timeoutMs", 1500))})
				if capacity, active := health(t, c); capacity-active != startFree-1 {
					t.Errorf("round %d: free capacity %d while running, want %d", i,
						capacity-active, startFree-1)
				}
				end := endedWith(t, c, s.ID, api.StateExpired, api.ReasonIdleTimeout)
				if len(end.Steps) != 1 || end.Steps[0].Status != api.StepFailed ||
					end.Steps[0].Error == nil || !strings.Contains(
					strings.ToLower(end.Steps[0].Error.Code+end.Steps[0].Error.Message), "timeout") {
					t.Fatalf("round %d: steps %+v, want one goto failed by its timeout", i, end.Steps)
				}
				eventually(t, procWait, "browser processes back to the start", func() bool {
					return len(testkit.Leftovers(w.DataDir)) == startProcs
				})
				if capacity, active := health(t, c); capacity-active != startFree {
					t.Errorf("round %d: free capacity %d after the end, want %d", i,
						capacity-active, startFree)
				}
			}
		})
	}
}

// TestF15SessionsIsolated: session A sets a cookie and localStorage on a
// site and ends; session B on the same site sees neither.
func TestF15SessionsIsolated(t *testing.T) {
	w := testkit.StartWorker(t, nil)
	site := testkit.Site(t, nil)
	for _, engine := range engines {
		t.Run(engine, func(t *testing.T) {
			needEngine(t, engine)
			t.Parallel()
			c := clientFor(t, w)
			a := c.Create(api.CreateSessionRequest{Mode: api.ModeDirect, Engine: engine})
			var stored struct{ Stored bool }
			runClient(t, a.WSEndpoint, engine, site.URL, "store", &stored)
			if !stored.Stored {
				t.Fatal("session A could not set its cookie")
			}
			endedWith(t, c, a.ID, api.StateClosed, api.ReasonClientClosed)

			b := c.Create(api.CreateSessionRequest{Mode: api.ModeDirect, Engine: engine})
			var seen struct {
				Cookie string
				Local  *string
			}
			runClient(t, b.WSEndpoint, engine, site.URL, "peek", &seen)
			if seen.Cookie != "" || seen.Local != nil {
				t.Errorf("session B sees cookie %q and localStorage %v from session A",
					seen.Cookie, seen.Local)
			}
			endedWith(t, c, b.ID, api.StateClosed, api.ReasonClientClosed)
		})
	}
}

// TestF04NoZombies runs the real binary (a child subreaper with a reaper)
// through 50 create/DELETE cycles of Chromium Direct sessions, two at a time.
// Afterwards the worker has no zombie children, no orphans re-parented to it
// are alive, and no process carries its data folder's marker.
func TestF04NoZombies(t *testing.T) {
	const cycles, lanes = 50, 2
	needEngine(t, "chromium")
	data := testkit.DataDir(t)
	w := startBinary(t, data, testkit.Env{"MAX_SESSIONS": "2"})
	t.Run("cycles", func(t *testing.T) {
		for lane := range lanes {
			t.Run(fmt.Sprint("lane", lane), func(t *testing.T) {
				t.Parallel()
				c := testkit.NewClient(t, w.Base)
				for range cycles / lanes {
					s := c.Create(api.CreateSessionRequest{Mode: api.ModeDirect, Engine: "chromium"})
					var end api.Session
					c.JSON("DELETE", "/sessions/"+s.ID, nil, &end)
					if end.State != api.StateKilled {
						t.Fatalf("DELETE answered %s/%s (%s)", end.State, end.Reason, end.Error)
					}
				}
			})
		}
	})
	if t.Failed() {
		return
	}

	pid := w.cmd.Process.Pid
	if !waitUntil(procWait, func() bool { return len(zombiesOf(t, pid)) == 0 }) {
		t.Errorf("zombie children of the worker: %v", zombiesOf(t, pid))
	}
	if kids := liveChildren(t, pid); len(kids) > 0 {
		t.Errorf("processes still parented to the worker: %v", kids)
	}
	if pids := testkit.Leftovers(data); len(pids) > 0 {
		t.Errorf("processes with the data folder's marker: %v", pids)
	}
	if _, active := health(t, w.Client); active != 0 {
		t.Errorf("active sessions after the cycles: %d", active)
	}
	var list api.SessionList
	w.JSON("GET", "/sessions?limit=1000", nil, &list)
	if len(list.Sessions) != cycles {
		t.Errorf("the worker lists %d sessions, want %d", len(list.Sessions), cycles)
	}
}

// liveChildren lists the processes whose parent is ppid and that are not
// zombies, with their command names.
func liveChildren(t *testing.T, ppid int) []string {
	t.Helper()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		comm, parent, state, err := statOf(pid)
		if err == nil && parent == ppid && state != 'Z' {
			out = append(out, fmt.Sprintf("%d %s", pid, comm))
		}
	}
	return out
}
