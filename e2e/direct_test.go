package e2e

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/mxschmitt/playwright-go"

	"github.com/camo-fleet/camo-fleet/internal/api"
	"github.com/camo-fleet/camo-fleet/internal/session"
	"github.com/camo-fleet/camo-fleet/internal/testkit"
)

// directLife is the state history of a Direct session whose client connects
// and then leaves.
var directLife = []api.State{api.StateStarting, api.StateReady, api.StateRunning,
	api.StateClosing, api.StateClosed}

// TestDirectLifecycle drives a Direct session with the stock Node Playwright
// client: create → ready → running → closed, the history shown by GET
// /sessions/{id} and logged once per change, the HAR final, nothing left.
func TestDirectLifecycle(t *testing.T) {
	w := testkit.StartWorker(t, nil)
	site := testkit.Site(t, nil)
	for _, engine := range engines {
		t.Run(engine, func(t *testing.T) {
			needEngine(t, engine)
			t.Parallel()
			c := clientFor(t, w)
			s := c.Create(api.CreateSessionRequest{Mode: api.ModeDirect, Engine: engine,
				Record: &api.Record{HAR: true}})
			if s.State != api.StateReady || s.WSEndpoint == "" || s.ReadyAt == nil {
				t.Fatalf("created %s, wsEndpoint %q, readyAt %v; want ready with an endpoint",
					s.State, s.WSEndpoint, s.ReadyAt)
			}
			if got := c.Get(s.ID).WSEndpoint; got != "" {
				t.Errorf("GET shows the wsEndpoint %q; only the create answer may", got)
			}

			var page struct{ Title, H string }
			runClient(t, s.WSEndpoint, engine, site.URL, "run", &page)
			if page.Title != "Home" || page.H != "Hello" {
				t.Errorf("client read title %q, h %q; want Home, Hello", page.Title, page.H)
			}

			end := endedWith(t, c, s.ID, api.StateClosed, api.ReasonClientClosed)
			if got := history(end); !slices.Equal(got, directLife) {
				t.Errorf("history %v, want %v", got, directLife)
			}
			checkHistoryTimes(t, end)
			if got := logStates(t, w.Log(), s.ID); !slices.Equal(got, directLife) {
				t.Errorf("state log lines %v, want one per change: %v", got, directLife)
			}
			sessionHAR(t, c, s.ID, site.URL+"/")
			waitNoSessionProcs(t, s.ID)
			if _, err := os.Stat(filepath.Join(session.TmpRoot(w.DataDir), s.ID)); !os.IsNotExist(err) {
				t.Errorf("temporary profile folder still there: %v", err)
			}
		})
	}
}

// checkHistoryTimes checks that the history starts when the session was
// created and is in time order.
func checkHistoryTimes(t *testing.T, s api.Session) {
	t.Helper()
	if len(s.History) == 0 || !s.History[0].At.Equal(s.CreatedAt) {
		t.Errorf("history %+v does not start at createdAt %v", s.History, s.CreatedAt)
	}
	for i := 1; i < len(s.History); i++ {
		if s.History[i].At.Before(s.History[i-1].At) {
			t.Errorf("history out of order: %+v", s.History)
		}
	}
}

// TestDirectPlaywrightGo drives a Direct session with playwright-go through
// the wsEndpoint.
func TestDirectPlaywrightGo(t *testing.T) {
	w := testkit.StartWorker(t, nil)
	site := testkit.Site(t, nil)
	pw := goPlaywright(t)
	for _, engine := range engines {
		t.Run(engine, func(t *testing.T) {
			needEngine(t, engine)
			t.Parallel()
			c := clientFor(t, w)
			s := c.Create(api.CreateSessionRequest{Mode: api.ModeDirect, Engine: engine,
				Record: &api.Record{HAR: true}})
			bt := pw.Chromium
			if engine == "firefox" {
				bt = pw.Firefox
			}
			browser, err := bt.Connect(s.WSEndpoint, playwright.BrowserTypeConnectOptions{
				Timeout: playwright.Float(float64(clientWait.Milliseconds()))})
			if err != nil {
				t.Fatalf("connect: %v", err)
			}
			if st := c.Get(s.ID).State; st != api.StateRunning {
				t.Errorf("state with a client connected: %s, want running", st)
			}
			h := goVisit(t, browser, site.URL)
			if h != "Hello" {
				t.Errorf("#h reads %q, want Hello", h)
			}
			if err := browser.Close(); err != nil {
				t.Fatalf("close: %v", err)
			}
			end := endedWith(t, c, s.ID, api.StateClosed, api.ReasonClientClosed)
			if got := history(end); !slices.Equal(got, directLife) {
				t.Errorf("history %v, want %v", got, directLife)
			}
			sessionHAR(t, c, s.ID, site.URL+"/")
			waitNoSessionProcs(t, s.ID)
		})
	}
}

// goVisit opens a context and a page, navigates to url and returns #h's text.
func goVisit(t *testing.T, browser playwright.Browser, url string) string {
	t.Helper()
	bctx, err := browser.NewContext()
	if err != nil {
		t.Fatalf("new context: %v", err)
	}
	page, err := bctx.NewPage()
	if err != nil {
		t.Fatalf("new page: %v", err)
	}
	resp, err := page.Goto(url)
	if err != nil {
		t.Fatalf("goto: %v", err)
	}
	if resp.Status() != 200 {
		t.Errorf("goto status %d, want 200", resp.Status())
	}
	h, err := page.Evaluate(`() => document.querySelector('#h').textContent`)
	if err != nil {
		t.Fatalf("evaluate: %v", err)
	}
	s, _ := h.(string)
	return s
}

// TestDirectDeleteKeepsHAR ends a Direct session with a client still
// connected by DELETE: killed, the HAR holds the navigation, the client is
// disconnected and nothing is left.
func TestDirectDeleteKeepsHAR(t *testing.T) {
	w := testkit.StartWorker(t, nil)
	site := testkit.Site(t, nil)
	for _, engine := range engines {
		t.Run(engine, func(t *testing.T) {
			needEngine(t, engine)
			t.Parallel()
			c := clientFor(t, w)
			nc := startClient(t, engine, site.URL, "hold", "1")
			s := c.Create(api.CreateSessionRequest{Mode: api.ModeDirect, Engine: engine,
				Record: &api.Record{HAR: true}})
			nc.connect(t, s.WSEndpoint)
			nc.expect(t, `"ready":1`, clientWait)

			var end api.Session
			c.JSON("DELETE", "/sessions/"+s.ID, nil, &end)
			if end.State != api.StateKilled || end.Reason != api.ReasonKilled {
				t.Fatalf("DELETE answered %s/%s (%s), want killed/killed", end.State, end.Reason,
					end.Error)
			}
			nc.expect(t, `"disconnected":true`, procWait)
			sessionHAR(t, c, s.ID, site.URL+"/?ctx=1")
			waitNoSessionProcs(t, s.ID)
			if status, body := c.Do("DELETE", "/sessions/"+s.ID, nil); status != 409 {
				t.Errorf("second DELETE: %d %s, want 409", status, body)
			}
			if got := c.Get(s.ID); got.State != api.StateKilled {
				t.Errorf("after a second DELETE the session is %s", got.State)
			}
		})
	}
}
