package e2e

import (
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/camo-fleet/camo-fleet/internal/api"
	"github.com/camo-fleet/camo-fleet/internal/testkit"
)

// traceViewerDir is Playwright's trace viewer, a real single-page web
// application (Vite build: module scripts, preloads, stylesheets, a service
// worker) that comes with the pinned playwright-core, so nothing is
// downloaded for this test.
func traceViewerDir(t *testing.T) string {
	dir := filepath.Join(testkit.DriverDir(), "node_modules", "playwright-core", "lib", "vite",
		"traceViewer")
	if _, err := os.Stat(filepath.Join(dir, "index.html")); err != nil {
		t.Skipf("the trace viewer is not in the driver's playwright-core: %v", err)
	}
	return dir
}

// assetRE finds the scripts and stylesheets index.html loads.
var assetRE = regexp.MustCompile(`(?:src|href)="\./([^"]+\.(?:js|css))"`)

// TestWebAppTraceViewer serves a real web application on loopback, opens it
// with a Managed goto and checks that the HAR holds the application's own
// requests and that the screenshot shows the rendered application.
func TestWebAppTraceViewer(t *testing.T) {
	dir := traceViewerDir(t)
	index, err := os.ReadFile(filepath.Join(dir, "index.html"))
	if err != nil {
		t.Fatal(err)
	}
	var assets []string
	for _, m := range assetRE.FindAllStringSubmatch(string(index), -1) {
		assets = append(assets, m[1])
	}
	if len(assets) < 3 {
		t.Fatalf("index.html names only %v", assets)
	}
	app := httptest.NewServer(http.FileServer(http.Dir(dir)))
	t.Cleanup(app.Close)

	w := testkit.StartWorker(t, nil)
	forEngine(t, w, func(t *testing.T, w *testkit.Worker, engine string) {
		s := newManaged(t, w, engine, api.Record{HAR: true})
		res := stepsOK(t, w.Client, s.ID,
			testkit.Step("goto", "url", app.URL+"/", "waitUntil", "networkidle",
				"timeoutMs", 30000),
			testkit.Step("waitForSelector", "selector", "text=Drop Playwright Trace to load",
				"timeoutMs", 15000),
			testkit.Step("evaluate", "expression", "document.title"),
			testkit.Step("screenshot", "name", "app"))
		if got := asJSON(res[2].Output); got != `"Playwright Trace Viewer"` {
			t.Errorf("title %s", got)
		}
		shot := testkit.Find(t, w.Artifacts(s.ID), "screenshot", "screenshots/app.png")
		img := decodePNG(t, w.Download(shot))
		if all, chromatic := colours(img); all < 64 || chromatic < 16 {
			t.Errorf("the screenshot has %d colours, %d of them not grey: "+
				"the application did not render", all, chromatic)
		}

		endSession(t, w, s.ID)
		h := downloadHAR(t, w.Client, s.ID)
		for _, asset := range assets {
			if e, ok := h.entry(app.URL + "/" + asset); !ok || e.Response.Status != 200 {
				t.Errorf("HAR has no 200 entry for %s: %v", asset, h.urls())
			}
		}
	})
}
