package e2e

import (
	"fmt"
	"math"
	"mime"
	"net/http"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/camo-fleet/camo-fleet/internal/api"
	"github.com/camo-fleet/camo-fleet/internal/testkit"
)

// dialogsPage opens each kind of dialog from a button; the handlers write
// what the dialog returned once it is gone.
const dialogsPage = `<!doctype html><title>dialogs</title>
<button id="alert" onclick="alert('hi'); document.title = 'after alert'">alert</button>
<button id="confirm" onclick="this.textContent = 'confirm:' + confirm('sure?')">confirm</button>
<button id="prompt" onclick="this.textContent = 'prompt:' + prompt('name?', 'x')">prompt</button>`

// leavePage asks before it is left.
const leavePage = `<!doctype html><title>leave</title>
<script>
addEventListener('beforeunload', e => { e.preventDefault(); e.returnValue = 'stay?'; });
</script>
<button id="touch">touch</button>`

// settled reads an expression once it differs from its first value, or
// after two seconds: a click may return before the dialog it opened is gone.
func settled(expr string) map[string]any {
	return testkit.Step("evaluate", "expression", `new Promise(done => {
  const read = () => `+expr+`, first = read(), t0 = Date.now();
  const poll = () => (read() !== first || Date.now() - t0 > 2000) ?
    done(read()) : setTimeout(poll, 20);
  poll(); })`)
}

// TestF05DialogsDoNotWedge: alert, confirm, prompt and beforeunload are
// dismissed by the default policy and logged as dialogs in console.jsonl;
// every step ends and the session keeps working.
func TestF05DialogsDoNotWedge(t *testing.T) {
	w := testkit.StartWorker(t, nil)
	site := testkit.Site(t, map[string]http.HandlerFunc{
		"/dialogs": testkit.HTML(dialogsPage),
		"/leave":   testkit.HTML(leavePage),
	})
	forEngine(t, w, func(t *testing.T, w *testkit.Worker, engine string) {
		s := newManaged(t, w, engine, api.Record{})
		step := testkit.Step
		res := stepsOK(t, w.Client, s.ID,
			step("goto", "url", site.URL+"/dialogs"),
			step("click", "selector", "#alert", "timeoutMs", 10000),
			settled("document.title"),
			step("click", "selector", "#confirm", "timeoutMs", 10000),
			settled("document.querySelector('#confirm').textContent"),
			step("click", "selector", "#prompt", "timeoutMs", 10000),
			settled("document.querySelector('#prompt').textContent"),
			step("goto", "url", site.URL+"/leave"),
			step("click", "selector", "#touch"),
			step("goto", "url", site.URL+"/", "timeoutMs", 10000),
			step("extract", "selector", "#h", "what", "text"))
		outputs := map[int]string{2: `"after alert"`, 4: `"confirm:false"`, 6: `"prompt:null"`,
			10: `"Hello"`}
		for i, want := range outputs {
			if got := asJSON(res[i].Output); got != want {
				t.Errorf("step %d (%s): %s, want %s", i, res[i].Action, got, want)
			}
		}
		if got := asJSON(res[9].Output); !strings.Contains(got, `"status":200`) {
			t.Errorf("goto away from the beforeunload page: %s", got)
		}

		var dialogs []string
		pollUntil(t, artifactWait, "four dialogs in console.jsonl", func() bool {
			console, _ := sessionLogs(t, w.Client, s.ID)
			dialogs = dialogs[:0]
			for _, l := range console {
				if l.Type == "dialog" {
					dialogs = append(dialogs, l.Text)
				}
			}
			return len(dialogs) >= 4
		})
		prefixes := []string{"alert: hi", "confirm: sure?", "prompt: name?", "beforeunload:"}
		for i, prefix := range prefixes {
			if i >= len(dialogs) || !strings.HasPrefix(dialogs[i], prefix) {
				t.Errorf("dialog %d: want %q; dialogs logged: %q", i, prefix, dialogs)
			}
		}
		if !strings.Contains(w.Log(), `"dialog_type":"beforeunload"`) {
			t.Error("the worker log has no dismissed beforeunload dialog")
		}
	})
}

// TestF06KillStillWritesHAR: a session with HAR on makes one navigation and
// is then deleted, idles out or reaches its maximum lifetime; each time the
// HAR is a valid HAR 1.2 file with that navigation's entry.
func TestF06KillStillWritesHAR(t *testing.T) {
	w := testkit.StartWorker(t, nil)
	site := testkit.Site(t, nil)
	forEngine(t, w, func(t *testing.T, w *testkit.Worker, engine string) {
		create := func(idle, lifetime int) api.Session {
			s := w.Create(api.CreateSessionRequest{Mode: api.ModeManaged, Engine: engine,
				Record: &api.Record{HAR: true}, IdleTTLSec: idle, MaxDurationSec: lifetime})
			stepsOK(t, w.Client, s.ID, testkit.Step("goto", "url", site.URL+"/"))
			return s
		}
		check := func(s api.Session, state api.State, reason api.Reason) {
			t.Helper()
			end := w.WaitEnded(s.ID, sessionEndWait)
			if end.State != state || end.Reason != reason {
				t.Errorf("ended %s (%s), want %s (%s): %s", end.State, end.Reason, state, reason,
					end.Error)
			}
			e, ok := downloadHAR(t, w.Client, s.ID).entry(site.URL + "/")
			if !ok || e.Response.Status != 200 {
				t.Errorf("%s: HAR has no 200 entry for the navigation", reason)
			}
		}

		deleted := create(0, 0)
		if status, body := w.Do("DELETE", "/sessions/"+deleted.ID, nil); status != http.StatusOK {
			t.Fatalf("delete: status %d: %s", status, body)
		}
		check(deleted, api.StateKilled, api.ReasonKilled)

		check(create(2, 0), api.StateExpired, api.ReasonIdleTimeout)

		// The lifetime counts from the create request, so it must outlast a
		// start: twice the last one, and at least 10 seconds.
		last := w.Get(deleted.ID)
		startup := last.ReadyAt.Sub(last.CreatedAt).Seconds()
		lifetime := max(10, int(math.Ceil(2*startup)))
		check(create(600, lifetime), api.StateExpired, api.ReasonMaxDuration)
	})
}

// TestF07UnwritableArtifactFolder: (a) the artifact folder's path is taken
// by a file: the create fails with an error naming the folder, nothing is
// left running and the slot is free; (b) the session's folder becomes
// read-only while it runs: the failures are reported, and the session ends
// failed with a reason, its processes gone.
func TestF07UnwritableArtifactFolder(t *testing.T) {
	w := testkit.StartWorker(t, testkit.Env{"MAX_SESSIONS": "1"})
	site := testkit.Site(t, nil)
	sessions := filepath.Join(w.DataDir, "sessions")
	for _, engine := range engines {
		t.Run(engine, func(t *testing.T) {
			needEngine(t, engine)
			t.Run("path is a file", func(t *testing.T) {
				if err := os.RemoveAll(sessions); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(sessions, []byte("not a folder"), 0o600); err != nil {
					t.Fatal(err)
				}
				defer restoreFolder(t, sessions)
				status, body := w.Do("POST", "/sessions", api.CreateSessionRequest{
					Mode: api.ModeManaged, Engine: engine, Record: &api.Record{HAR: true}})
				e := refused(t, status, body, http.StatusServiceUnavailable, "")
				if e.Error.Code != "start_failed" || !strings.Contains(e.Error.Message, sessions) {
					t.Errorf("want start_failed naming %s: %s", sessions, body)
				}
				// The session that could not start is kept, failed, with why.
				id := failedIDRE.FindStringSubmatch(e.Error.Message)
				if len(id) != 2 {
					t.Fatalf("no session id in %q", e.Error.Message)
				}
				if got := w.Get(id[1]); got.State != api.StateFailed ||
					got.Reason != api.ReasonStartFailed || !strings.Contains(got.Error, sessions) {
					t.Errorf("failed session: %s (%s) %q", got.State, got.Reason, got.Error)
				}
				noLeftovers(t, w)
				if n := activeSessions(t, w.Client); n != 0 {
					t.Errorf("%d sessions hold a slot after the failed start", n)
				}
			})
			t.Run("read-only mid-session", func(t *testing.T) {
				checkReadOnlyMidSession(t, w, engine, site.URL)
			})
		})
	}
}

// failedIDRE finds the session id in a start_failed message.
var failedIDRE = regexp.MustCompile(`start session ([0-9a-f]{20})`)

// restoreFolder puts a folder back where a test put a file.
func restoreFolder(t *testing.T, dir string) {
	t.Helper()
	if err := os.Remove(dir); err != nil {
		t.Error(err)
	}
	if err := os.MkdirAll(dir, 0o750); err != nil {
		t.Error(err)
	}
}

func checkReadOnlyMidSession(t *testing.T, w *testkit.Worker, engine, base string) {
	// The slot of the failed start is free: this is the worker's only one.
	s := w.Create(api.CreateSessionRequest{Mode: api.ModeManaged, Engine: engine,
		Record: &api.Record{HAR: true, Screenshots: true}})
	stepsOK(t, w.Client, s.ID, testkit.Step("goto", "url", base+"/"))
	makeReadOnly(t, filepath.Join(w.DataDir, "sessions", s.ID))

	e := stepFails(t, w.Client, s.ID, testkit.Step("screenshot", "name", "shot"))
	if e.Code != "ARTIFACT_ERROR" {
		t.Errorf("screenshot into a read-only folder: %s, want ARTIFACT_ERROR", asJSON(e))
	}
	stepsOK(t, w.Client, s.ID, testkit.Step("goto", "url", base+"/?again"))
	end := endSession(t, w, s.ID)
	dir := filepath.Join(w.DataDir, "sessions", s.ID)
	if end.State != api.StateFailed || end.Reason != api.ReasonArtifactFailed ||
		!strings.Contains(end.Error, dir) {
		t.Errorf("ended %s (%s) %q, want failed (artifact_failed) with an error naming %s",
			end.State, end.Reason, end.Error, dir)
	}
	t.Logf("ended %s (%s): %s", end.State, end.Reason, end.Error)
	noLeftovers(t, w)
	if n := activeSessions(t, w.Client); n != 0 {
		t.Errorf("%d sessions hold a slot", n)
	}
}

// makeReadOnly makes a folder and what it holds unwritable, even for root
// (with the immutable attribute), and undoes it when the test ends.
func makeReadOnly(t *testing.T, dir string) {
	t.Helper()
	if os.Geteuid() != 0 {
		if err := exec.Command("chmod", "-R", "a-w", dir).Run(); err != nil {
			t.Fatalf("chmod: %v", err)
		}
		t.Cleanup(func() { _ = exec.Command("chmod", "-R", "u+w", dir).Run() })
		return
	}
	if out, err := exec.Command("chattr", "-R", "+i", dir).CombinedOutput(); err != nil {
		t.Skipf("root ignores permissions and chattr +i does not work here: %v: %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("chattr", "-R", "-i", dir).CombinedOutput(); err != nil {
			t.Errorf("chattr -i: %v: %s", err, out)
		}
	})
}

// TestF08ShortVideo: a two-second Chromium session with video, ended at
// once, leaves a playable video; whenever the API lists a video, the file
// is already complete, and it never lists one while the session runs.
// Firefox cannot record video and is refused at create (TestArtifacts).
func TestF08ShortVideo(t *testing.T) {
	needEngine(t, "chromium")
	w := testkit.StartWorker(t, nil)
	site := testkit.Site(t, map[string]http.HandlerFunc{
		"/spin": testkit.HTML(`<!doctype html><div id="d" style="width:200px;height:200px"></div>
<script>let n = 0; setInterval(() => { document.getElementById('d').style.background =
  'hsl(' + (n += 30) + ',80%,50%)'; }, 50);</script>`),
	})
	s := w.Create(api.CreateSessionRequest{Mode: api.ModeManaged, Engine: "chromium",
		Record: &api.Record{Video: true}})

	watch := make(chan []string, 1)
	stop := make(chan struct{})
	go func() { watch <- watchVideoListing(w, s.ID, stop) }()

	stepsOK(t, w.Client, s.ID, testkit.Step("goto", "url", site.URL+"/spin"),
		testkit.Step("wait", "ms", 1500))
	end := endSession(t, w, s.ID)
	close(stop)
	for _, problem := range <-watch {
		t.Error(problem)
	}
	if end.State != api.StateKilled || end.Error != "" {
		t.Fatalf("ended %s (%s): %s", end.State, end.Reason, end.Error)
	}
	videos := ofKind(w.Artifacts(s.ID), "video")
	if len(videos) != 1 {
		t.Fatalf("videos after the end: %+v", videos)
	}
	if v := probeVideo(t, w.Download(videos[0])); v.Seconds <= 0 || v.Frames < 2 {
		t.Errorf("video %s: %+v", videos[0].Name, v)
	}
}

// watchVideoListing lists the session's artifacts until stop and returns
// what was wrong: a video listed while the session still ran, or one that
// could not be fetched the moment it was listed.
func watchVideoListing(w *testkit.Worker, id string, stop <-chan struct{}) []string {
	var problems []string
	c := &http.Client{Timeout: 10 * time.Second}
	for {
		select {
		case <-stop:
			return problems
		case <-time.After(50 * time.Millisecond):
		}
		var list struct{ Artifacts []testkit.Artifact }
		var sess api.Session
		if getJSON(c, w.Base+"/artifacts?session="+id, &list) != nil ||
			getJSON(c, w.Base+"/sessions/"+id, &sess) != nil {
			continue
		}
		for _, a := range ofKind(list.Artifacts, "video") {
			if sess.State == api.StateReady || sess.State == api.StateRunning {
				problems = append(problems, fmt.Sprintf("video %s listed while the session is %s",
					a.Name, sess.State))
			}
			resp, err := c.Get(w.Base + a.URL)
			if err != nil || resp.StatusCode != http.StatusOK || resp.ContentLength != a.Size {
				problems = append(problems, fmt.Sprintf(
					"video %s listed with %d bytes but fetched: %v %v", a.Name, a.Size, err, resp))
			}
			if resp != nil {
				resp.Body.Close()
			}
		}
		if len(problems) > 0 {
			return problems
		}
	}
}

// TestF09HostileDownloadNames: downloads named "../../x.sh" and
// "отчёт📄.pdf", started by click steps, are kept inside the session's
// downloads folder under safe base names; the page's names are kept in
// the metadata.
func TestF09HostileDownloadNames(t *testing.T) {
	w := testkit.StartWorker(t, nil)
	files := map[string]string{"/get/script": "echo owned\n", "/get/report": "%PDF-1.4 report\n"}
	site := testkit.Site(t, map[string]http.HandlerFunc{
		"/downloads": testkit.HTML(`<!doctype html><a id="script" href="/get/script">script</a>
<a id="report" href="/get/report">report</a>`),
		"/get/script": attachment(`attachment; filename="../../x.sh"`, files["/get/script"]),
		"/get/report": attachment(`attachment; filename="report.pdf"; filename*=UTF-8''`+
			`%D0%BE%D1%82%D1%87%D1%91%D1%82%F0%9F%93%84.pdf`, files["/get/report"]),
	})
	forEngine(t, w, func(t *testing.T, w *testkit.Worker, engine string) {
		s := newManaged(t, w, engine, api.Record{})
		stepsOK(t, w.Client, s.ID, testkit.Step("goto", "url", site.URL+"/downloads"),
			testkit.Step("click", "selector", "#script"),
			testkit.Step("click", "selector", "#report"))
		var got []testkit.Artifact
		pollUntil(t, artifactWait, "two downloads listed", func() bool {
			got = ofKind(w.Artifacts(s.ID), "download")
			return len(got) >= 2
		})
		dir := filepath.Join(w.DataDir, "sessions", s.ID, "downloads")
		for _, want := range []struct{ original, body string }{
			{"x.sh", files["/get/script"]}, {"отчёт📄.pdf", files["/get/report"]},
		} {
			i := slices.IndexFunc(got, func(a testkit.Artifact) bool {
				return strings.HasSuffix(a.OriginalName, want.original)
			})
			if i < 0 {
				t.Errorf("no download with original name %q: %+v", want.original, got)
				continue
			}
			a := got[i]
			base := strings.TrimPrefix(a.Name, "downloads/")
			if !strings.HasPrefix(a.Name, "downloads/") || strings.ContainsAny(base, `/\`) ||
				strings.HasPrefix(base, ".") || filepath.Base(base) != base {
				t.Errorf("stored name %q is not a safe base name in downloads/", a.Name)
			}
			data, err := os.ReadFile(filepath.Join(dir, base))
			if err != nil || string(data) != want.body {
				t.Errorf("%s on disk: %q, %v", a.Name, data, err)
			}
			if body := string(w.Download(a)); body != want.body {
				t.Errorf("%s served %q", a.Name, body)
			}
		}
		if hits := filesNamed(t, w.DataDir, "x.sh"); len(hits) > 0 {
			t.Errorf("a download escaped as %v", hits)
		}
		// A browser that opens a finished download (Firefox does with PDFs)
		// shows it from a file: URL, which the policy blocks; nothing of the
		// kind may follow a download.
		stepsOK(t, w.Client, s.ID, testkit.Step("wait", "ms", 1000))
		if n := blockLines(w.Log(), s.ID); n > 0 {
			t.Errorf("%d navigations blocked after the downloads", n)
		}
		endSession(t, w, s.ID)
	})
}

// attachment answers body as a download with the given Content-Disposition;
// the type follows the name, as a real server's would.
func attachment(disposition, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		ext := path.Ext(strings.TrimSuffix(disposition, `"`))
		w.Header().Set("Content-Type", mime.TypeByExtension(ext))
		w.Header().Set("Content-Disposition", disposition)
		_, _ = w.Write([]byte(body))
	}
}

// filesNamed lists files called name anywhere under root.
func filesNamed(t *testing.T, root, name string) []string {
	t.Helper()
	var hits []string
	_ = filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err == nil && d.Name() == name {
			hits = append(hits, p)
		}
		return nil
	})
	return hits
}

// xhrPage fires 20 requests at once and marks the page when all answered.
const xhrPage = `<!doctype html><title>xhr</title><script>
let left = 20;
for (let i = 0; i < 20; i++) {
  const x = new XMLHttpRequest();
  x.open('GET', '/data/' + i);
  x.onloadend = () => { if (--left === 0) document.body.append(Object.assign(
    document.createElement('p'), { id: 'done' })); };
  x.send();
}
</script>`

// TestF10NetworkLogNoDeadlock: a page fires 20 XHRs while the network log
// records sizes; the goto completes and the log has all 21 requests, each
// with its response size. Every call here has a deadline, and the test is
// meant for -race.
func TestF10NetworkLogNoDeadlock(t *testing.T) {
	w := testkit.StartWorker(t, nil)
	payload := strings.Repeat("d", 1000)
	site := testkit.Site(t, map[string]http.HandlerFunc{
		"/xhr":   testkit.HTML(xhrPage),
		"/data/": serveBody("application/json", `"`+payload[2:]+`"`),
	})
	c := testkit.NewClient(t, w.Base)
	c.HTTP.Timeout = time.Minute
	forEngine(t, w, func(t *testing.T, w *testkit.Worker, engine string) {
		s := newManaged(t, w, engine, api.Record{HAR: true})
		stepsOK(t, c, s.ID, testkit.Step("goto", "url", site.URL+"/xhr", "timeoutMs", 20000),
			testkit.Step("waitForSelector", "selector", "#done", "state", "attached",
				"timeoutMs", 20000))
		want := []string{site.URL + "/xhr"}
		for i := range 20 {
			want = append(want, fmt.Sprintf("%s/data/%d", site.URL, i))
		}
		var network []networkLine
		pollUntil(t, artifactWait, "21 requests in network.jsonl", func() bool {
			_, network = sessionLogs(t, c, s.ID)
			return len(network) >= len(want)
		})
		seen := map[string]int{}
		for _, l := range network {
			seen[l.URL]++
			sized := l.Status == 200 && l.Bytes == int64(len(payload))
			if strings.Contains(l.URL, "/data/") && !sized {
				t.Errorf("%s: status %d, %d bytes, want 200 and %d", l.URL, l.Status, l.Bytes,
					len(payload))
			}
		}
		for _, u := range want {
			if seen[u] != 1 {
				t.Errorf("%s logged %d times", u, seen[u])
			}
		}
		if n := len(network) - seen[site.URL+"/favicon.ico"]; n != len(want) {
			t.Errorf("%d requests logged, want %d: %+v", n, len(want), network)
		}
	})
}

// TestF16NoLocalFiles: Managed gotos to local files, view-source:,
// browser-internal pages, a data: page whose script goes to a file: URL and
// a redirect to file: are all blocked: each is a step error with code
// URL_BLOCKED and a line in the worker log, and the session keeps working.
func TestF16NoLocalFiles(t *testing.T) {
	w := testkit.StartWorker(t, testkit.Env{"ALLOW_DATA_URLS": "true"})
	site := testkit.Site(t, map[string]http.HandlerFunc{
		"/to-file": func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, "file:///etc/passwd", http.StatusFound)
		},
	})
	targets := []string{
		"file:///etc/passwd",
		"view-source:file:///etc/hostname",
		"about:config",
		"chrome://settings",
		"data:text/html,<script>location.href='file:///etc/passwd'</script>",
		site.URL + "/to-file",
	}
	forEngine(t, w, func(t *testing.T, w *testkit.Worker, engine string) {
		s := newManaged(t, w, engine, api.Record{})
		for i, target := range targets {
			goTo := testkit.Step("goto", "url", target, "timeoutMs", 10000)
			e := stepFails(t, w.Client, s.ID, goTo)
			if e.Code != "URL_BLOCKED" {
				t.Errorf("goto %s: %s, want URL_BLOCKED", target, asJSON(e))
			}
			what := fmt.Sprintf("%d blocks in the worker log", i+1)
			pollUntil(t, artifactWait, what, func() bool {
				return blockLines(w.Log(), s.ID) >= i+1
			})
		}
		res := stepsOK(t, w.Client, s.ID,
			testkit.Step("goto", "url", site.URL+"/", "timeoutMs", 10000),
			testkit.Step("extract", "selector", "#h", "what", "text"),
			testkit.Step("evaluate", "expression", "location.protocol"))
		if got := asJSON(res[1].Output) + asJSON(res[2].Output); got != `"Hello""http:"` {
			t.Errorf("after the blocks: %s", got)
		}
	})
}

// blockLines counts the worker's log lines about blocked navigations of a
// session.
func blockLines(log, id string) int {
	n := 0
	for _, line := range strings.Split(log, "\n") {
		if strings.Contains(line, "navigation blocked by URL policy") &&
			strings.Contains(line, id) {
			n++
		}
	}
	return n
}
