package e2e

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"log/slog"
	"net/url"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/camo-fleet/camo-fleet/internal/api"
	"github.com/camo-fleet/camo-fleet/internal/registry/open"
	"github.com/camo-fleet/camo-fleet/internal/testkit"
)

// TestControlPlaneDirect connects a stock Playwright client (Node,
// playwright-core) through the control-plane: the wsEndpoint of the create
// answer points at the control-plane, which relays to the worker. The
// client opens a page, evaluates and closes; the session ends
// client_closed.
func TestControlPlaneDirect(t *testing.T) {
	needEngine(t, "chromium")
	w := testkit.StartWorker(t, testkit.Env{"WORKER_ID": "direct-worker", "MAX_SESSIONS": "2"})
	cp := testkit.StartControlPlane(t, testkit.Env{"WORKERS": w.Base})
	cpWaitWorkers(t, cp.Client, "direct-worker")
	site := testkit.Site(t, nil)

	s := cp.Create(api.CreateSessionRequest{Mode: api.ModeDirect, Engine: "chromium"})
	ws, err := url.Parse(s.WSEndpoint)
	cpURL, _ := url.Parse(cp.Base)
	if err != nil || ws.Scheme != "ws" || ws.Host != cpURL.Host ||
		ws.Path != "/sessions/"+s.ID+"/ws" || ws.Query().Get("token") == "" {
		t.Fatalf("wsEndpoint %q does not point at the control-plane %s: %v", s.WSEndpoint, cp.Base,
			err)
	}
	var out struct {
		Title string `json:"title"`
	}
	cpRunClient(t, s.WSEndpoint, site.URL, &out)
	if out.Title != "Home" {
		t.Errorf("client read title %q, want Home", out.Title)
	}
	end := cp.WaitFor(s.ID, cpWait, func(s api.Session) bool { return s.State.Ended() })
	if end.State != api.StateClosed || end.Reason != api.ReasonClientClosed {
		t.Errorf("session ended %s/%s, want closed/client_closed", end.State, end.Reason)
	}
	if end.WSEndpoint != "" {
		t.Errorf("GET through the control-plane shows the wsEndpoint %q", end.WSEndpoint)
	}
}

// TestControlPlaneArtifacts lists and downloads a finished session's
// artifacts through the control-plane: the HAR parses and holds the
// navigation, and every download's sha256 is the listed one.
func TestControlPlaneArtifacts(t *testing.T) {
	needEngine(t, "chromium")
	w := testkit.StartWorker(t, testkit.Env{"WORKER_ID": "artifact-worker", "MAX_SESSIONS": "2"})
	cp := testkit.StartControlPlane(t, testkit.Env{"WORKERS": w.Base})
	cpWaitWorkers(t, cp.Client, "artifact-worker")
	site := testkit.Site(t, nil)

	s := cp.Create(api.CreateSessionRequest{Mode: api.ModeManaged, Engine: "chromium",
		CloseWhenDone: true, Record: &api.Record{HAR: true},
		Steps: testkit.RawSteps(testkit.Step("goto", "url", site.URL),
			testkit.Step("screenshot", "name", "home"))})
	end := cp.WaitEnded(s.ID, cpWait)
	if end.State != api.StateClosed || end.Reason != api.ReasonCompleted {
		t.Fatalf("session ended %s/%s (%s), want closed/completed", end.State, end.Reason,
			end.Error)
	}
	cpCheckArtifacts(t, cp.Client, s.ID, site.URL+"/")
}

// cpCheckArtifacts downloads every artifact of a session through c by its
// listed URL, checks its sha256, and checks that the HAR holds url.
func cpCheckArtifacts(t *testing.T, c *testkit.Client, id, url string) {
	t.Helper()
	list := c.Artifacts(id)
	testkit.Find(t, list, "har", "session.har")
	testkit.Find(t, list, "screenshot", "screenshots/home")
	for _, a := range list {
		if !strings.HasPrefix(a.URL, "/artifacts/"+id+"/") {
			t.Errorf("artifact %s has URL %q, not one of the control-plane", a.Name, a.URL)
			continue
		}
		body := c.Download(a)
		sum := sha256.Sum256(body)
		if got := hex.EncodeToString(sum[:]); got != a.SHA256 || int64(len(body)) != a.Size {
			t.Errorf("%s: downloaded %d bytes with sha256 %s; listed %d bytes, %s", a.Name,
				len(body), got, a.Size, a.SHA256)
		}
		if a.Kind == "har" {
			cpCheckHAR(t, body, url)
		}
	}
}

// cpCheckHAR parses a HAR and checks that it has an entry for url.
func cpCheckHAR(t *testing.T, raw []byte, url string) {
	t.Helper()
	var h struct {
		Log struct {
			Version string `json:"version"`
			Entries []struct {
				Request struct {
					URL string `json:"url"`
				} `json:"request"`
			} `json:"entries"`
		} `json:"log"`
	}
	if err := json.Unmarshal(raw, &h); err != nil {
		t.Fatalf("HAR does not parse: %v", err)
	}
	for _, e := range h.Log.Entries {
		if e.Request.URL == url {
			return
		}
	}
	t.Errorf("HAR %s has no entry for %s (%d entries)", h.Log.Version, url, len(h.Log.Entries))
}

// TestControlPlaneServe runs `camofleet serve` as a process and uses it as
// the README does: a Managed session with closeWhenDone whose artifacts are
// listed and downloaded through the control-plane. Then, with a session
// still running, SIGTERM: the process exits 0, the registry it leaves says
// the session ended worker_shutdown, and no process is left.
func TestControlPlaneServe(t *testing.T) {
	needEngine(t, "chromium")
	srv := testkit.StartProcess(t, "serve", testkit.Env{"CLOSE_GRACE_SEC": "5"})
	site := testkit.Site(t, nil)
	cpEventually(t, cpWait, "the embedded worker is up", func() bool {
		st := cpStatus(t, srv.Client)
		return len(st.Workers) == 1 && st.Workers[0].State == "up"
	})

	done := srv.Create(api.CreateSessionRequest{Mode: api.ModeManaged, Engine: "chromium",
		CloseWhenDone: true, Record: &api.Record{HAR: true},
		Steps: testkit.RawSteps(testkit.Step("goto", "url", site.URL),
			testkit.Step("screenshot", "name", "home", "fullPage", true))})
	if end := srv.WaitEnded(done.ID, cpWait); end.Reason != api.ReasonCompleted {
		t.Fatalf("session ended %s/%s (%s), want closed/completed", end.State, end.Reason,
			end.Error)
	}
	cpCheckArtifacts(t, srv.Client, done.ID, site.URL+"/")

	live := srv.Create(api.CreateSessionRequest{Mode: api.ModeManaged, Engine: "chromium",
		Steps: testkit.RawSteps(testkit.Step("goto", "url", site.URL))})
	srv.WaitFor(live.ID, cpWait, func(s api.Session) bool { return len(s.Steps) == 1 })
	srv.Signal(syscall.SIGTERM)
	if code := srv.Wait(cpShutdownWait); code != 0 {
		t.Fatalf("serve exit code %d after SIGTERM, want 0", code)
	}
	if got := cpRegistrySession(t, filepath.Join(srv.DataDir, "registry.db"), live.ID); got.State !=
		api.StateClosed || got.Reason != api.ReasonWorkerShutdown {
		t.Errorf("registry says the running session ended %s/%s, want closed/worker_shutdown",
			got.State, got.Reason)
	}
	if pids := testkit.Leftovers(srv.DataDir); len(pids) > 0 {
		t.Errorf("processes left after serve exited: %v", pids)
	}
}

// cpRegistrySession reads one session from a SQLite registry file.
func cpRegistrySession(t *testing.T, path, id string) api.Session {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	store, err := open.Open(ctx, path, slog.New(slog.NewTextHandler(io.Discard, nil)))
	if err != nil {
		t.Fatalf("open registry %s: %v", path, err)
	}
	defer store.Close()
	rec, err := store.GetSession(ctx, id)
	if err != nil {
		t.Fatalf("registry session %s: %v", id, err)
	}
	s, err := rec.API()
	if err != nil {
		t.Fatal(err)
	}
	return s
}
