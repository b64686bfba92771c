package steps

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"image/png"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/camo-fleet/camo-fleet/internal/api"
	"github.com/mxschmitt/playwright-go"
)

// engine is one browser the tests run on; skip says why it is missing.
type engine struct {
	name    string
	binary  string
	browser playwright.Browser
	skip    string
}

// engines are shared by the whole package; TestMain launches them.
var engines = []*engine{
	{name: "chromium", binary: "/usr/bin/chromium"},
	{name: "firefox", binary: "/usr/bin/firefox-esr"},
}

// baseURL is the address of the test site.
var baseURL string

func TestMain(m *testing.M) {
	os.Exit(runTests(m))
}

// runTests starts the test site, Playwright and the browsers, runs the
// tests and stops everything.
func runTests(m *testing.M) int {
	srv := httptest.NewServer(site())
	defer srv.Close()
	baseURL = srv.URL

	pw, err := startPlaywright()
	if err != nil {
		fmt.Fprintf(os.Stderr, "start playwright: %v\n", err)
		return 1
	}
	if pw != nil {
		defer pw.Stop() //nolint:errcheck // nothing to do about it at exit
	}
	for _, e := range engines {
		if err := launch(pw, e); err != nil {
			fmt.Fprintf(os.Stderr, "launch %s: %v\n", e.name, err)
			return 1
		}
		if e.browser != nil {
			defer e.browser.Close() //nolint:errcheck // as above
		}
	}
	return m.Run()
}

// startPlaywright starts the pinned driver, or returns nil (and marks every
// engine skipped) when the driver is not installed.
func startPlaywright() (*playwright.Playwright, error) {
	cli, err := filepath.Abs("../../driver/node_modules/playwright-core/cli.js")
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(cli); err != nil {
		for _, e := range engines {
			e.skip = fmt.Sprintf("playwright driver not installed (%s): run npm ci in driver/", cli)
		}
		return nil, nil
	}
	os.Setenv("PLAYWRIGHT_NODEJS_PATH", "/usr/bin/node")
	os.Setenv("PLAYWRIGHT_CLI_PATH", cli)
	return playwright.Run(&playwright.RunOptions{SkipInstallBrowsers: true})
}

// launch starts e's browser, or marks e skipped when its binary is missing.
func launch(pw *playwright.Playwright, e *engine) error {
	if pw == nil {
		return nil
	}
	if _, err := os.Stat(e.binary); err != nil {
		e.skip = fmt.Sprintf("%s not installed: %s is missing", e.name, e.binary)
		return nil
	}
	var err error
	switch e.name {
	case "chromium":
		e.browser, err = pw.Chromium.Launch(playwright.BrowserTypeLaunchOptions{
			ExecutablePath: new(e.binary),
			Headless:       new(true),
			Args: []string{"--disable-background-networking", "--disable-component-update",
				"--disable-sync", "--no-first-run", "--disable-gpu"},
		})
	case "firefox":
		e.browser, err = pw.Firefox.Launch(playwright.BrowserTypeLaunchOptions{
			ExecutablePath: new(e.binary),
			Channel:        new("moz-firefox"),
			Headless:       new(true),
		})
	}
	return err
}

// eachEngine runs fn as a parallel subtest per engine.
func eachEngine(t *testing.T, fn func(t *testing.T, e *engine)) {
	t.Helper()
	for _, e := range engines {
		t.Run(e.name, func(t *testing.T) {
			if e.browser == nil {
				t.Skip(e.skip)
			}
			t.Parallel()
			fn(t, e)
		})
	}
}

// store keeps what Env.Save received.
type store struct {
	mu    sync.Mutex
	files map[string][]byte
	fail  error
}

// save is an Env.Save.
func (s *store) save(kind, name, ext string, data []byte) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail != nil {
		return "", s.fail
	}
	stored := kind + "s/" + name + "." + ext
	s.files[stored] = data
	return stored, nil
}

// file returns a stored file.
func (s *store) file(t *testing.T, name string) []byte {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	data, ok := s.files[name]
	if !ok {
		t.Fatalf("artifact %q was not saved", name)
	}
	return data
}

// newEnv opens a fresh 800x600 context and page on e's browser.
func newEnv(t *testing.T, e *engine) (Env, *store) {
	t.Helper()
	bctx, err := e.browser.NewContext(playwright.BrowserNewContextOptions{
		Viewport: &playwright.Size{Width: 800, Height: 600},
	})
	if err != nil {
		t.Fatalf("new context: %v", err)
	}
	t.Cleanup(func() { _ = bctx.Close() })
	page, err := bctx.NewPage()
	if err != nil {
		t.Fatalf("new page: %v", err)
	}
	st := &store{files: map[string][]byte{}}
	return Env{Page: page, Engine: e.name, Save: st.save}, st
}

// testLimits are the limits of the tests on engine.
func testLimits(engine string) Limits {
	return Limits{AllowEvaluate: true, Engine: engine}
}

// parseSteps parses steps written as JSON, with {base} standing for the
// test site's address.
func parseSteps(t *testing.T, engine string, steps ...string) []Step {
	t.Helper()
	raw := make([]json.RawMessage, len(steps))
	for i, s := range steps {
		raw[i] = json.RawMessage(strings.ReplaceAll(s, "{base}", baseURL))
	}
	parsed, err := Parse(raw, testLimits(engine))
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	return parsed
}

// runOK runs steps and fails the test unless all of them succeed; it
// returns the output of the last one.
func runOK(t *testing.T, env Env, steps ...string) any {
	t.Helper()
	results := RunAll(context.Background(), env, parseSteps(t, env.Engine, steps...), nil)
	for _, r := range results {
		if r.Status != api.StepOK {
			t.Fatalf("step %d (%s): %s %+v", r.Index, r.Action, r.Status, r.Error)
		}
	}
	return results[len(results)-1].Output
}

// runOne runs one step and returns its result.
func runOne(ctx context.Context, t *testing.T, env Env, step string) api.StepResult {
	t.Helper()
	return Run(ctx, env, 0, parseSteps(t, env.Engine, step)[0])
}

// wantFailure checks that res failed with code.
func wantFailure(t *testing.T, res api.StepResult, code string) {
	t.Helper()
	if res.Status != api.StepFailed || res.Error == nil || res.Error.Code != code {
		t.Fatalf("result = %s %+v, want error %s", res.Status, res.Error, code)
	}
	if strings.Contains(res.Error.Message, "\n") || res.Error.Message == "" {
		t.Errorf("message %q is not one non-empty line", res.Error.Message)
	}
}

// evalPage evaluates expression on env's page outside of any step.
func evalPage(t *testing.T, env Env, expression string) any {
	t.Helper()
	v, err := env.Page.Evaluate(expression)
	if err != nil {
		t.Fatalf("evaluate %s: %v", expression, err)
	}
	return v
}

// decodePNG decodes a stored screenshot and returns its size.
func decodePNG(t *testing.T, data []byte) (int, int) {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("decode screenshot: %v", err)
	}
	return img.Bounds().Dx(), img.Bounds().Dy()
}

// errSaveFailed is what a failing store returns.
var errSaveFailed = errors.New("disk full")

// The pages of the test site.
const (
	homePage = `<!doctype html>
<html><head><title>Steps test</title></head><body>
<h1 id="heading">Hello <b>steps</b></h1>
<form id="form" onsubmit="event.preventDefault();
  document.getElementById('out').textContent = 'submitted:' + this.name.value">
  <input id="name" name="name">
  <input id="agree" type="checkbox">
  <select id="color"><option value="red">Red</option><option value="green">Green</option>
  </select>
  <select id="colors" multiple><option value="red">Red</option>
    <option value="green">Green</option><option value="blue">Blue</option></select>
  <button id="btn" type="button" onclick="this.textContent = 'clicked'">Click me</button>
  <button id="dbl" type="button" data-n="0"
    onclick="this.dataset.n++; this.textContent = 'clicks:' + this.dataset.n">Count</button>
  <button id="alert-btn" type="button"
    onclick="alert('hi'); document.title = 'after alert'">Alert</button>
</form>
<div id="hover" onmouseover="this.textContent = 'hovered'">hover me</div>
<a id="link" href="/second">Second</a>
<p id="out"></p>
<p id="key"></p>
<ul id="list"><li class="item" data-n="1">One</li><li class="item" data-n="2">Two</li>
  <li class="item" data-n="3">Three</li></ul>
<div style="height: 3000px"></div>
<p id="bottom">bottom</p>
<script>
document.addEventListener('keydown', e => { document.getElementById('key').textContent = e.key; });
</script>
</body></html>`

	secondPage = `<!doctype html><html><head><title>Second</title></head>
<body><p id="second">second page</p></body></html>`

	latePage = `<!doctype html><html><head><title>Late</title></head><body>
<script>
setTimeout(() => {
  const p = document.createElement('p');
  p.id = 'late';
  p.textContent = 'here';
  document.body.appendChild(p);
}, 300);
</script></body></html>`
)

// site serves the test pages.
func site() http.Handler {
	mux := http.NewServeMux()
	for path, body := range map[string]string{
		"/{$}":    homePage,
		"/second": secondPage,
		"/late":   latePage,
	} {
		mux.HandleFunc("GET "+path, func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			_, _ = w.Write([]byte(body))
		})
	}
	return mux
}

// closedPort returns a local TCP port that nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	_, port, _ := net.SplitHostPort(l.Addr().String())
	_ = l.Close()
	return port
}
