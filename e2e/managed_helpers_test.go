package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"image"
	"image/png"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/camo-fleet/camo-fleet/internal/api"
	"github.com/camo-fleet/camo-fleet/internal/testkit"
)

// Waits of the Managed and artifact tests; generous, as the machines are
// small and Firefox is slow to start on them.
const (
	sessionEndWait = 2 * time.Minute
	artifactWait   = 30 * time.Second
	probeWait      = 30 * time.Second
)

// forEngine runs fn for each engine as a parallel subtest, so the two
// browsers of a test overlap and no more than two run at once. fn gets the
// worker with a client bound to the subtest: a failed call fails the
// subtest, not its finished parent.
func forEngine(t *testing.T, w *testkit.Worker,
	fn func(t *testing.T, w *testkit.Worker, engine string)) {
	t.Helper()
	for _, engine := range engines {
		t.Run(engine, func(t *testing.T) {
			needEngine(t, engine)
			t.Parallel()
			fn(t, bind(t, w), engine)
		})
	}
}

// bind returns w with a client that reports to t.
func bind(t *testing.T, w *testkit.Worker) *testkit.Worker {
	bound := *w
	bound.Client = testkit.NewClient(t, w.Base)
	return &bound
}

// newManaged creates a Managed session with the given recordings and a
// 800x600 viewport.
func newManaged(t *testing.T, w *testkit.Worker, engine string, rec api.Record) api.Session {
	t.Helper()
	return w.Create(api.CreateSessionRequest{Mode: api.ModeManaged, Engine: engine, Record: &rec,
		Viewport: &api.Viewport{Width: 800, Height: 600}})
}

// stepsOK runs steps and fails the test unless every one of them is ok.
func stepsOK(t *testing.T, c *testkit.Client, id string, steps ...map[string]any) []api.StepResult {
	t.Helper()
	status, res := c.Steps(id, steps...)
	if status != http.StatusOK {
		t.Fatalf("actions: status %d", status)
	}
	if len(res.Results) != len(steps) {
		t.Fatalf("actions: %d results for %d steps: %s", len(res.Results), len(steps),
			asJSON(res.Results))
	}
	for _, r := range res.Results {
		if r.Status != api.StepOK {
			t.Fatalf("step %d (%s) %s: %s", r.Index, r.Action, r.Status, asJSON(r.Error))
		}
	}
	return res.Results
}

// stepFails runs one step and returns its error, failing the test unless
// the step failed.
func stepFails(t *testing.T, c *testkit.Client, id string, step map[string]any) api.StepError {
	t.Helper()
	status, res := c.Steps(id, step)
	if status != http.StatusOK || len(res.Results) != 1 {
		t.Fatalf("actions: status %d, %d results", status, len(res.Results))
	}
	r := res.Results[0]
	if r.Status != api.StepFailed || r.Error == nil {
		t.Fatalf("step %s: status %s (%s), want an error", r.Action, r.Status, asJSON(r.Output))
	}
	return *r.Error
}

// asJSON renders v for messages and comparisons.
func asJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return "<" + err.Error() + ">"
	}
	return string(b)
}

// apiError is the error body of the Worker API.
type apiError struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
		Field   string `json:"field"`
	} `json:"error"`
}

// refused checks that an answer is a JSON error with the wanted status and,
// when field is not empty, that it names field; it returns the body.
func refused(t *testing.T, status int, body []byte, wantStatus int, field string) apiError {
	t.Helper()
	var e apiError
	if err := json.Unmarshal(body, &e); err != nil {
		t.Fatalf("status %d: body is not a JSON error: %v: %s", status, err, body)
	}
	if status != wantStatus {
		t.Fatalf("status %d, want %d: %s", status, wantStatus, body)
	}
	if e.Error.Code == "" || e.Error.Message == "" {
		t.Fatalf("error without code or message: %s", body)
	}
	if field != "" && e.Error.Field != field {
		t.Fatalf("error names field %q, want %q: %s", e.Error.Field, field, body)
	}
	return e
}

// pollUntil calls cond until it holds or timeout passes.
func pollUntil(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s", what, timeout)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// activeSessions reads the number of running sessions from /health.
func activeSessions(t *testing.T, c *testkit.Client) int {
	t.Helper()
	var h struct {
		Active int `json:"active"`
	}
	c.JSON("GET", "/health", nil, &h)
	return h.Active
}

// harDoc is the part of a HAR 1.2 document the tests read.
type harDoc struct {
	Log struct {
		Version string `json:"version"`
		Creator struct {
			Name string `json:"name"`
		} `json:"creator"`
		Pages []struct {
			ID string `json:"id"`
		} `json:"pages"`
		Entries []harItem `json:"entries"`
	} `json:"log"`
}

// harItem is one HAR entry.
type harItem struct {
	Pageref         string  `json:"pageref"`
	StartedDateTime string  `json:"startedDateTime"`
	Time            float64 `json:"time"`
	Request         struct {
		Method string `json:"method"`
		URL    string `json:"url"`
	} `json:"request"`
	Response struct {
		Status  int `json:"status"`
		Content struct {
			Size     int64  `json:"size"`
			MimeType string `json:"mimeType"`
		} `json:"content"`
	} `json:"response"`
	Timings map[string]float64 `json:"timings"`
}

// downloadHAR fetches the session's HAR and checks that it is a HAR 1.2
// document whose entries have the fields the format requires.
func downloadHAR(t *testing.T, c *testkit.Client, id string) harDoc {
	t.Helper()
	a := testkit.Find(t, c.Artifacts(id), "har", "session.har")
	raw := c.Download(a)
	var h harDoc
	if err := json.Unmarshal(raw, &h); err != nil {
		t.Fatalf("HAR is not JSON: %v", err)
	}
	if h.Log.Version != "1.2" || h.Log.Creator.Name == "" {
		t.Fatalf("HAR version %q, creator %q", h.Log.Version, h.Log.Creator.Name)
	}
	for _, e := range h.Log.Entries {
		if _, err := time.Parse(time.RFC3339Nano, e.StartedDateTime); err != nil {
			t.Errorf("HAR entry %s: startedDateTime %q: %v", e.Request.URL, e.StartedDateTime, err)
		}
		if e.Request.Method == "" || e.Timings == nil {
			t.Errorf("HAR entry %s without method or timings", e.Request.URL)
		}
	}
	return h
}

// entry returns the HAR entry for url.
func (h harDoc) entry(url string) (harItem, bool) {
	for _, e := range h.Log.Entries {
		if e.Request.URL == url {
			return e, true
		}
	}
	return harItem{}, false
}

// urls lists the URLs of the HAR's entries.
func (h harDoc) urls() []string {
	out := make([]string, 0, len(h.Log.Entries))
	for _, e := range h.Log.Entries {
		out = append(out, e.Request.URL)
	}
	return out
}

// consoleLine and networkLine are lines of console.jsonl and network.jsonl.
type consoleLine struct {
	Type string `json:"type"`
	Text string `json:"text"`
	URL  string `json:"url"`
	Page string `json:"page"`
}

type networkLine struct {
	Method       string `json:"method"`
	URL          string `json:"url"`
	Status       int    `json:"status"`
	ResourceType string `json:"resourceType"`
	Bytes        int64  `json:"bytes"`
	Failure      string `json:"failure"`
}

// sessionLogs reads a session's console and network logs through GET /logs.
func sessionLogs(t *testing.T, c *testkit.Client, id string) ([]consoleLine, []networkLine) {
	t.Helper()
	var out struct {
		Console []consoleLine `json:"console"`
		Network []networkLine `json:"network"`
	}
	c.JSON("GET", "/logs?session="+id, nil, &out)
	return out.Console, out.Network
}

// decodePNG decodes a PNG or fails the test.
func decodePNG(t *testing.T, data []byte) image.Image {
	t.Helper()
	img, err := png.Decode(bytes.NewReader(data))
	if err != nil {
		t.Fatalf("not a PNG: %v", err)
	}
	return img
}

// colours counts the distinct colours of img, and among them the ones that
// are not a shade of grey: text alone on a blank page has only greys.
func colours(img image.Image) (all, chromatic int) {
	seen := map[[3]uint32]bool{}
	b := img.Bounds()
	for y := b.Min.Y; y < b.Max.Y; y++ {
		for x := b.Min.X; x < b.Max.X; x++ {
			r, g, bl, _ := img.At(x, y).RGBA()
			c := [3]uint32{r >> 8, g >> 8, bl >> 8}
			if !seen[c] {
				seen[c] = true
				if c[0] != c[1] || c[1] != c[2] {
					chromatic++
				}
			}
		}
	}
	return len(seen), chromatic
}

// videoFacts is what ffprobe reads from a video: its duration and the number
// of frames it could decode.
type videoFacts struct {
	Seconds float64
	Frames  int
}

// probeVideo decodes a whole video with ffprobe; damage fails the test.
func probeVideo(t *testing.T, data []byte) videoFacts {
	t.Helper()
	if _, err := exec.LookPath("ffprobe"); err != nil {
		t.Skipf("ffprobe is not installed: %v", err)
	}
	f := filepath.Join(t.TempDir(), "video.webm")
	if err := os.WriteFile(f, data, 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), probeWait)
	defer cancel()
	cmd := exec.CommandContext(ctx, "ffprobe", "-v", "error", "-count_frames",
		"-select_streams", "v:0", "-show_entries", "stream=nb_read_frames:format=duration",
		"-of", "json", f)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil || strings.TrimSpace(stderr.String()) != "" {
		t.Fatalf("ffprobe: %v: %s", err, stderr.String())
	}
	var out struct {
		Streams []struct {
			Frames string `json:"nb_read_frames"`
		} `json:"streams"`
		Format struct {
			Duration string `json:"duration"`
		} `json:"format"`
	}
	if err := json.Unmarshal(stdout.Bytes(), &out); err != nil || len(out.Streams) != 1 {
		t.Fatalf("ffprobe output %s: %v", stdout.String(), err)
	}
	var v videoFacts
	v.Seconds, _ = strconv.ParseFloat(out.Format.Duration, 64)
	v.Frames, _ = strconv.Atoi(out.Streams[0].Frames)
	return v
}

// ofKind returns the artifacts of a kind.
func ofKind(list []testkit.Artifact, kind string) []testkit.Artifact {
	var out []testkit.Artifact
	for _, a := range list {
		if a.Kind == kind {
			out = append(out, a)
		}
	}
	return out
}

// noLeftovers fails the test if a process of the worker's sessions is alive.
func noLeftovers(t *testing.T, w *testkit.Worker) {
	t.Helper()
	pollUntil(t, 15*time.Second, "session processes gone", func() bool {
		return len(testkit.Leftovers(w.DataDir)) == 0
	})
}

// getJSON fetches url into out; it reports instead of failing the test, for
// use in goroutines.
func getJSON(c *http.Client, url string, out any) error {
	resp, err := c.Get(url)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(out)
}
