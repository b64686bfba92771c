package e2e

import (
	"syscall"
	"testing"

	"github.com/camo-fleet/camo-fleet/internal/api"
	"github.com/camo-fleet/camo-fleet/internal/testkit"
)

// TestBrowserKilled SIGKILLs the browser's main process of a session: the
// session fails with browser_crashed, keeps the HAR of what it did, and
// nothing of it is left. Under a connected Direct client the crash is still
// the reason, not the client_closed that follows from it.
func TestBrowserKilled(t *testing.T) {
	w := testkit.StartWorker(t, nil)
	site := testkit.Site(t, nil)
	for _, engine := range engines {
		t.Run(engine, func(t *testing.T) {
			needEngine(t, engine)
			t.Parallel()
			t.Run("direct_with_client", func(t *testing.T) {
				c := clientFor(t, w)
				nc := startClient(t, engine, site.URL, "hold", "1")
				s := c.Create(api.CreateSessionRequest{Mode: api.ModeDirect, Engine: engine,
					Record: &api.Record{HAR: true}})
				nc.connect(t, s.WSEndpoint)
				nc.expect(t, `"ready":1`, clientWait)
				killBrowser(t, c, s.ID)
				nc.expect(t, `"disconnected":true`, procWait)
				sessionHAR(t, c, s.ID, site.URL+"/?ctx=1")
			})
			t.Run("managed", func(t *testing.T) {
				c := clientFor(t, w)
				s := c.Create(api.CreateSessionRequest{Mode: api.ModeManaged, Engine: engine,
					Record: &api.Record{HAR: true},
					Steps:  testkit.RawSteps(testkit.Step("goto", "url", site.URL))})
				c.WaitFor(s.ID, endWait, func(s api.Session) bool {
					return len(s.Steps) == 1 && s.State == api.StateReady
				})
				killBrowser(t, c, s.ID)
				sessionHAR(t, c, s.ID, site.URL+"/")
			})
		})
	}
}

// killBrowser SIGKILLs a session's browser main process and checks the
// session fails with browser_crashed and leaves no process.
func killBrowser(t *testing.T, c *testkit.Client, id string) {
	t.Helper()
	pid := browserMainPid(t, id)
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatalf("kill browser %d: %v", pid, err)
	}
	end := endedWith(t, c, id, api.StateFailed, api.ReasonBrowserCrashed)
	if end.Error == "" {
		t.Error("a crashed session shows no error")
	}
	waitNoSessionProcs(t, id)
}
