package e2e

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"image"
	"image/color"
	"image/png"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/camo-fleet/camo-fleet/internal/api"
	"github.com/camo-fleet/camo-fleet/internal/testkit"
)

// appPage loads a stylesheet, a script and an image, logs to the console
// and is taller than the viewport.
const appPage = `<!doctype html>
<html><head><title>App</title><link rel="stylesheet" href="/app.css"></head><body>
<div id="box"></div><img src="/pixel.png" alt="">
<div style="height: 2400px"></div>
<script src="/app.js"></script>
</body></html>`

const appScript = `console.log('app ready');
console.warn('careful');
const p = document.createElement('p');
p.id = 'ready';
document.body.append(p);`

// appSite serves appPage and its subresources.
func appSite(t *testing.T) (base string, subresources []string) {
	var img bytes.Buffer
	pix := image.NewRGBA(image.Rect(0, 0, 4, 4))
	for i := range pix.Pix {
		pix.Pix[i] = 200
	}
	pix.Set(1, 1, color.RGBA{255, 0, 0, 255})
	if err := png.Encode(&img, pix); err != nil {
		t.Fatal(err)
	}
	srv := testkit.Site(t, map[string]http.HandlerFunc{
		"/app": testkit.HTML(appPage),
		"/app.css": serveBody("text/css", "body { margin: 0; background: #fafafa } "+
			"#box { width: 120px; height: 80px; background: #36c }"),
		"/app.js":    serveBody("text/javascript", appScript),
		"/pixel.png": serveBody("image/png", img.String()),
	})
	return srv.URL, []string{"/app.css", "/app.js", "/pixel.png"}
}

// serveBody answers a fixed body of a content type.
func serveBody(contentType, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", contentType)
		_, _ = w.Write([]byte(body))
	}
}

// TestArtifacts records everything a session can record and checks each
// artifact: screenshots are PNGs of the right size, the logs are readable
// while the session runs, the HAR is HAR 1.2 with the page and its
// subresources, and a Chromium video is playable and listed only at the end.
func TestArtifacts(t *testing.T) {
	w := testkit.StartWorker(t, nil)
	base, subs := appSite(t)
	forEngine(t, w, func(t *testing.T, w *testkit.Worker, engine string) {
		video := engine == "chromium"
		s := newManaged(t, w, engine, api.Record{HAR: true, Screenshots: true, Video: video})
		res := stepsOK(t, w.Client, s.ID,
			testkit.Step("goto", "url", base+"/app"),
			testkit.Step("waitForSelector", "selector", "#ready", "state", "attached"),
			testkit.Step("screenshot", "name", "view"),
			testkit.Step("screenshot", "name", "full", "fullPage", true),
			testkit.Step("screenshot", "name", "box", "selector", "#box"))

		live := w.Artifacts(s.ID)
		for _, a := range live {
			if a.Kind != "screenshot" {
				t.Errorf("listed while the session runs: %s %s", a.Kind, a.Name)
			}
		}
		checkScreenshots(t, w.Client, live, res[2:])
		checkLogs(t, w.Client, s.ID, base, subs)

		if end := endSession(t, w, s.ID); end.State != api.StateKilled {
			t.Fatalf("ended %s (%s): %s", end.State, end.Reason, end.Error)
		}
		final := w.Artifacts(s.ID)
		checkListed(t, w.Client, final)
		testkit.Find(t, final, "screenshot", "screenshots/final.png")
		checkHAR(t, w.Client, s.ID, base, subs)
		videos := ofKind(final, "video")
		if !video {
			if len(videos) > 0 {
				t.Errorf("%s listed a video: %+v", engine, videos)
			}
			return
		}
		if len(videos) != 1 {
			t.Fatalf("videos: %+v", videos)
		}
		if v := probeVideo(t, w.Download(videos[0])); v.Seconds <= 0 || v.Frames == 0 {
			t.Errorf("video %s: %+v", videos[0].Name, v)
		}
	})
	t.Run("firefox refuses video", func(t *testing.T) {
		status, body := w.Do("POST", "/sessions", api.CreateSessionRequest{Mode: api.ModeManaged,
			Engine: "firefox", Record: &api.Record{Video: true}})
		e := refused(t, status, body, http.StatusBadRequest, "record.video")
		if !strings.Contains(e.Error.Message, "video") {
			t.Errorf("refusal does not say why: %s", body)
		}
	})
}

// endSession deletes a session and returns it once it has ended.
func endSession(t *testing.T, w *testkit.Worker, id string) api.Session {
	t.Helper()
	if status, body := w.Do("DELETE", "/sessions/"+id, nil); status != http.StatusOK {
		t.Fatalf("delete: status %d: %s", status, body)
	}
	return w.WaitEnded(id, sessionEndWait)
}

// checkScreenshots decodes each screenshot step's PNG: the viewport one is
// the viewport's size, the full page one is taller, the element one the
// element's size, and each matches what its step reported.
func checkScreenshots(t *testing.T, c *testkit.Client, list []testkit.Artifact,
	res []api.StepResult) {
	t.Helper()
	want := map[string]func(w, h int) bool{
		"screenshots/view.png": func(w, h int) bool { return w == 800 && h == 600 },
		"screenshots/full.png": func(w, h int) bool { return w > 760 && w <= 800 && h >= 2400 },
		"screenshots/box.png":  func(w, h int) bool { return w == 120 && h == 80 },
	}
	for _, r := range res {
		var out struct {
			Artifact      string
			Width, Height int
		}
		if err := json.Unmarshal([]byte(asJSON(r.Output)), &out); err != nil {
			t.Fatalf("screenshot output %s: %v", asJSON(r.Output), err)
		}
		a := testkit.Find(t, list, "screenshot", out.Artifact)
		img := decodePNG(t, c.Download(a))
		w, h := img.Bounds().Dx(), img.Bounds().Dy()
		if ok := want[a.Name]; ok == nil || !ok(w, h) || w != out.Width || h != out.Height {
			t.Errorf("%s: %dx%d, step said %dx%d", a.Name, w, h, out.Width, out.Height)
		}
		if a.ContentType != "image/png" {
			t.Errorf("%s: content type %s", a.Name, a.ContentType)
		}
	}
}

// checkLogs reads console.jsonl and network.jsonl through GET /logs.
func checkLogs(t *testing.T, c *testkit.Client, id, base string, subs []string) {
	t.Helper()
	var console []consoleLine
	var network []networkLine
	pollUntil(t, artifactWait, "console and network logs", func() bool {
		console, network = sessionLogs(t, c, id)
		last := func(l consoleLine) bool { return l.Text == "careful" }
		return slices.ContainsFunc(console, last) && len(network) >= len(subs)+1
	})
	for _, want := range []consoleLine{
		{Type: "log", Text: "app ready"}, {Type: "warning", Text: "careful"},
	} {
		if !slices.ContainsFunc(console, func(l consoleLine) bool {
			return l.Type == want.Type && l.Text == want.Text && l.Page != ""
		}) {
			t.Errorf("console.jsonl has no %s %q: %+v", want.Type, want.Text, console)
		}
	}
	types := map[string]string{"/app": "document", "/app.css": "stylesheet", "/app.js": "script",
		"/pixel.png": "image"}
	for path, rt := range types {
		if !slices.ContainsFunc(network, func(l networkLine) bool {
			return l.URL == base+path && l.Status == 200 && l.ResourceType == rt &&
				l.Method == "GET" && l.Bytes > 0
		}) {
			t.Errorf("network.jsonl has no GET %s (%s, 200, with a size): %+v", path, rt, network)
		}
	}
}

// checkListed downloads every listed artifact and checks its size and hash.
func checkListed(t *testing.T, c *testkit.Client, list []testkit.Artifact) {
	t.Helper()
	kinds := map[string]bool{}
	for _, a := range list {
		data := c.Download(a)
		sum := sha256.Sum256(data)
		if int64(len(data)) != a.Size || hex.EncodeToString(sum[:]) != a.SHA256 {
			t.Errorf("%s: %d bytes, sha256 %x; listed %d, %s", a.Name, len(data), sum, a.Size,
				a.SHA256)
		}
		kinds[a.Kind] = true
	}
	for _, k := range []string{"har", "console", "network", "screenshot"} {
		if !kinds[k] {
			t.Errorf("no %s artifact in %+v", k, list)
		}
	}
}

// checkHAR checks that the HAR has the page and each subresource, answered
// 200, attached to a page of the document.
func checkHAR(t *testing.T, c *testkit.Client, id, base string, subs []string) {
	t.Helper()
	h := downloadHAR(t, c, id)
	pages := map[string]bool{}
	for _, p := range h.Log.Pages {
		pages[p.ID] = true
	}
	for _, path := range append([]string{"/app"}, subs...) {
		e, ok := h.entry(base + path)
		if !ok {
			t.Errorf("HAR has no entry for %s: %v", path, h.urls())
			continue
		}
		if e.Response.Status != 200 || !pages[e.Pageref] {
			t.Errorf("HAR entry %s: status %d, pageref %q (pages %v)", path, e.Response.Status,
				e.Pageref, pages)
		}
	}
}
