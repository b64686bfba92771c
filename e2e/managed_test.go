package e2e

import (
	"bytes"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/camo-fleet/camo-fleet/internal/api"
	"github.com/camo-fleet/camo-fleet/internal/testkit"
)

// stepsPage has something for every input step.
const stepsPage = `<!doctype html>
<html><head><title>Form</title></head><body>
<h1 id="title" data-kind="greeting">Hello <em>fleet</em></h1>
<form id="form">
  <input id="q" name="q" onkeydown="if (event.key === 'Enter')
    document.getElementById('result').textContent = 'enter:' + this.value">
  <input id="t" name="t"> <input id="agree" type="checkbox">
  <select id="pick"><option value="a">A</option><option value="b">Bee</option></select>
  <button id="go" type="button" onclick="this.textContent = 'clicked'">Go</button>
</form>
<div id="hover" onmouseenter="this.textContent = 'hovered'">hover me</div>
<p id="result"></p>
<ul><li class="item">one</li><li class="item">two</li></ul>
<a id="next" href="/next">next</a>
<div style="height: 3000px"></div>
<p id="far">far away</p>
<script>
setTimeout(() => {
  const p = document.createElement('p');
  p.id = 'late';
  p.textContent = 'late';
  document.body.append(p);
}, 300);
</script>
</body></html>`

// stepsPageState reads what the input steps changed on stepsPage.
const stepsPageState = `({
  go: document.querySelector('#go').textContent,
  q: document.querySelector('#q').value,
  t: document.querySelector('#t').value,
  result: document.querySelector('#result').textContent,
  hover: document.querySelector('#hover').textContent,
  pick: document.querySelector('#pick').value,
})`

// farVisible says whether #far is inside the viewport.
const farVisible = `(() => { const r = document.querySelector('#far').getBoundingClientRect();
  return r.top >= 0 && r.bottom <= innerHeight; })()`

func stepsSite(t *testing.T) *httptest.Server {
	return testkit.Site(t, map[string]http.HandlerFunc{
		"/form": testkit.HTML(stepsPage),
		"/next": testkit.HTML(`<!doctype html><title>Next</title><p id="n">next page</p>`),
	})
}

// TestManagedSteps runs every Managed action through the Worker API on one
// session per engine and checks what each produced, then the failure codes,
// serialised runs and what happens when the session ends under a step.
func TestManagedSteps(t *testing.T) {
	w := testkit.StartWorker(t, testkit.Env{"STEP_TIMEOUT_SEC": "10"})
	site := stepsSite(t)
	forEngine(t, w, func(t *testing.T, w *testkit.Worker, engine string) {
		s := newManaged(t, w, engine, api.Record{})
		t.Run("every action", func(t *testing.T) { checkEveryAction(t, w, s.ID, site.URL) })
		t.Run("pdf", func(t *testing.T) { checkPDF(t, w, s.ID, engine) })
		t.Run("failures", func(t *testing.T) { checkStepFailures(t, w, s.ID, site.URL) })
		t.Run("serialised", func(t *testing.T) { checkSerialised(t, w, s.ID) })
		t.Run("ended", func(t *testing.T) { checkEndedUnderStep(t, w, s.ID) })
	})
}

func checkEveryAction(t *testing.T, w *testkit.Worker, id, base string) {
	step := testkit.Step
	res := stepsOK(t, w.Client, id,
		step("goto", "url", base+"/form", "waitUntil", "domcontentloaded"),
		step("waitForLoadState", "state", "load"),
		step("waitForSelector", "selector", "#late"),
		step("click", "selector", "#go"),
		step("fill", "selector", "#q", "value", "fleet"),
		step("type", "selector", "#t", "text", "abc", "delayMs", 5),
		step("press", "selector", "#q", "key", "Enter"),
		step("hover", "selector", "#hover"),
		step("check", "selector", "#agree"),
		step("evaluate", "expression", "document.querySelector('#agree').checked"),
		step("uncheck", "selector", "#agree"),
		step("evaluate", "expression", "document.querySelector('#agree').checked"),
		step("select", "selector", "#pick", "values", []string{"Bee"}),
		step("scroll", "y", 700),
		step("evaluate", "expression", "Math.round(scrollY)"),
		step("scroll", "selector", "#far"),
		step("evaluate", "expression", farVisible),
		step("extract", "selector", "#title", "what", "text"),
		step("extract", "selector", "#title", "what", "attribute", "attribute", "data-kind"),
		step("extract", "selector", "#title", "what", "html"),
		step("extract", "selector", ".item", "what", "text", "all", true),
		step("evaluate", "expression", stepsPageState),
		step("screenshot", "name", "form"),
		step("click", "selector", "#next"),
		step("waitForURL", "url", "**/next"),
		step("wait", "ms", 50),
		step("extract", "selector", "#n", "what", "text"),
	)
	want := map[int]string{
		0:  `{"url":"` + base + `/form","status":200}`,
		9:  `true`,
		11: `false`,
		14: `700`,
		16: `true`,
		17: `"Hello fleet"`,
		18: `"greeting"`,
		19: `"Hello <em>fleet</em>"`,
		20: `["one","two"]`,
		21: `{"go":"clicked","hover":"hovered","pick":"b","q":"fleet","result":"enter:fleet",` +
			`"t":"abc"}`,
		22: `{"artifact":"screenshots/form.png","width":800,"height":600}`,
		26: `"next page"`,
	}
	for i, r := range res {
		got := asJSON(r.Output)
		if wantOut, ok := want[i]; ok && !sameJSON(got, wantOut) {
			t.Errorf("step %d (%s): output %s, want %s", i, r.Action, got, wantOut)
		}
		if _, ok := want[i]; !ok && r.Output != nil {
			t.Errorf("step %d (%s): output %s, want none", i, r.Action, got)
		}
	}
	testkit.Find(t, w.Artifacts(id), "screenshot", "screenshots/form.png")
}

// sameJSON compares two JSON texts by value.
func sameJSON(a, b string) bool {
	var va, vb any
	if json.Unmarshal([]byte(a), &va) != nil || json.Unmarshal([]byte(b), &vb) != nil {
		return false
	}
	return asJSON(va) == asJSON(vb)
}

// checkPDF prints the page on Chromium; Firefox refuses the step before
// anything runs, naming the action.
func checkPDF(t *testing.T, w *testkit.Worker, id, engine string) {
	step := testkit.Step("pdf", "name", "page")
	if engine != "chromium" {
		status, body := w.Do("POST", "/sessions/"+id+"/actions",
			map[string]any{"steps": []any{step}})
		e := refused(t, status, body, http.StatusBadRequest, "steps[0].action")
		if !strings.Contains(e.Error.Message, "chromium") {
			t.Errorf("refusal does not say pdf needs chromium: %s", body)
		}
		return
	}
	res := stepsOK(t, w.Client, id, step)
	if got := asJSON(res[0].Output); got != `{"artifact":"pdf/page.pdf"}` {
		t.Fatalf("pdf output %s", got)
	}
	a := testkit.Find(t, w.Artifacts(id), "pdf", "pdf/page.pdf")
	data := w.Download(a)
	if !bytes.HasPrefix(data, []byte("%PDF-")) || a.ContentType != "application/pdf" {
		t.Fatalf("pdf artifact %s (%s) starts with %q", a.Name, a.ContentType,
			data[:min(len(data), 8)])
	}
}

// checkStepFailures checks the stable code of each kind of failure, that a
// failure skips the rest of its run and that the session works afterwards.
func checkStepFailures(t *testing.T, w *testkit.Worker, id, base string) {
	step := testkit.Step
	status, res := w.Steps(id,
		step("waitForSelector", "selector", "#missing", "timeoutMs", 500),
		step("extract", "selector", "#title", "what", "text"))
	if status != http.StatusOK || len(res.Results) != 2 ||
		res.Results[1].Status != api.StepSkipped {
		t.Fatalf("failed run: status %d, results %s", status, asJSON(res.Results))
	}
	e := res.Results[0].Error
	if e == nil || e.Code != "TIMEOUT" || !strings.Contains(e.Message, "500ms") {
		t.Errorf("missing element: %s, want TIMEOUT after 500ms", asJSON(e))
	}
	cases := []struct {
		name    string
		step    map[string]any
		code    string
		message string
	}{
		{"default timeout (STEP_TIMEOUT_SEC)", step("click", "selector", "#missing"), "TIMEOUT",
			"10000ms"},
		{"closed port", step("goto", "url", closedURL(t)), "NAVIGATION_FAILED", ""},
		{"page exception", step("evaluate", "expression", "(() => { throw new Error('boom') })()"),
			"EVALUATE_ERROR", "boom"},
		{"local file", step("goto", "url", "file:///etc/passwd"), "URL_BLOCKED",
			"file:///etc/passwd"},
	}
	for _, c := range cases {
		e := stepFails(t, w.Client, id, c.step)
		if e.Code != c.code || !strings.Contains(e.Message, c.message) {
			t.Errorf("%s: %s, want code %s and %q in the message", c.name, asJSON(e), c.code,
				c.message)
		}
	}
	res2 := stepsOK(t, w.Client, id, step("goto", "url", base+"/next"),
		step("extract", "selector", "#n", "what", "text"))
	if got := asJSON(res2[1].Output); got != `"next page"` {
		t.Errorf("after the failures: extract %s", got)
	}
}

// closedURL is an http URL of a local port nothing listens on.
func closedURL(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return "http://" + addr + "/"
}

// pushOrder appends a mark to a list kept in the page.
func pushOrder(mark string) map[string]any {
	return testkit.Step("evaluate", "expression",
		"(window.order = (window.order || []).concat('"+mark+"')).length")
}

// postSteps sends a run from a goroutine; it reports instead of failing.
func postSteps(base, id string, steps ...map[string]any) (int, api.ActionsResponse, error) {
	body, _ := json.Marshal(map[string]any{"steps": steps})
	url := base + "/sessions/" + id + "/actions"
	resp, err := http.Post(url, "application/json", bytes.NewReader(body))
	if err != nil {
		return 0, api.ActionsResponse{}, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	var out api.ActionsResponse
	if err == nil && resp.StatusCode == http.StatusOK {
		err = json.Unmarshal(raw, &out)
	}
	return resp.StatusCode, out, err
}

type postResult struct {
	status int
	res    api.ActionsResponse
	err    error
}

// startRun posts a run in the background and waits until the session runs it.
func startRun(t *testing.T, w *testkit.Worker, id string,
	steps ...map[string]any) <-chan postResult {
	t.Helper()
	done := make(chan postResult, 1)
	go func() {
		status, res, err := postSteps(w.Base, id, steps...)
		done <- postResult{status, res, err}
	}()
	w.WaitFor(id, artifactWait, func(s api.Session) bool { return s.State == api.StateRunning })
	return done
}

// checkSerialised sends a second run while a first one runs: the second
// waits, and the runs do not interleave.
func checkSerialised(t *testing.T, w *testkit.Worker, id string) {
	first := startRun(t, w, id, pushOrder("a1"), testkit.Step("wait", "ms", 1500), pushOrder("a2"))
	second := stepsOK(t, w.Client, id, pushOrder("b1"), pushOrder("b2"))
	got := <-first
	if got.err != nil || got.status != http.StatusOK || len(got.res.Results) != 3 {
		t.Fatalf("first run: status %d, %v, %s", got.status, got.err, asJSON(got.res.Results))
	}
	for _, r := range got.res.Results {
		if r.Status != api.StepOK {
			t.Fatalf("first run: %s", asJSON(got.res.Results))
		}
	}
	if last := got.res.Results[2].Index; second[0].Index != last+1 {
		t.Errorf("second run starts at step %d, first ended at %d", second[0].Index, last)
	}
	order := stepsOK(t, w.Client, id, testkit.Step("evaluate", "expression", "window.order"))
	if got := asJSON(order[0].Output); got != `["a1","a2","b1","b2"]` {
		t.Errorf("runs interleaved: order %s", got)
	}
}

// checkEndedUnderStep deletes the session while a step waits: the step is
// cancelled, and steps sent afterwards are refused with 409.
func checkEndedUnderStep(t *testing.T, w *testkit.Worker, id string) {
	run := startRun(t, w, id, testkit.Step("wait", "ms", 60000, "timeoutMs", 60000))
	status, body := w.Do("DELETE", "/sessions/"+id, nil)
	if status != http.StatusOK {
		t.Fatalf("delete: status %d: %s", status, body)
	}
	select {
	case got := <-run:
		if got.err != nil || got.status != http.StatusOK || len(got.res.Results) != 1 {
			t.Fatalf("run under delete: status %d, %v", got.status, got.err)
		}
		if e := got.res.Results[0].Error; e == nil || e.Code != "CANCELLED" {
			t.Errorf("step under delete: %s, want CANCELLED", asJSON(got.res.Results[0]))
		}
	case <-time.After(artifactWait):
		t.Fatal("the run did not return after the session ended")
	}
	status, body = w.Do("POST", "/sessions/"+id+"/actions",
		map[string]any{"steps": []any{testkit.Step("goto", "url", "about:blank")}})
	refused(t, status, body, http.StatusConflict, "")
	if !strings.Contains(string(body), "session_ended") {
		t.Errorf("steps on an ended session: %s, want code session_ended", body)
	}
}
