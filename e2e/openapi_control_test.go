package e2e

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"maps"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/camo-fleet/camo-fleet/internal/api"
	"github.com/camo-fleet/camo-fleet/internal/artifact"
	"github.com/camo-fleet/camo-fleet/internal/controlplane"
	"github.com/camo-fleet/camo-fleet/internal/testkit"
	"github.com/camo-fleet/camo-fleet/internal/worker"
)

// controlSpecFile is the Control API description, relative to the
// repository root.
const controlSpecFile = "api/openapi.control.yaml"

// loadControlSpec loads the Control API description and fails the test
// unless it is a valid OpenAPI document.
func loadControlSpec(t *testing.T) *openapi3.T {
	t.Helper()
	path := filepath.Join(testkit.RepoRoot(), controlSpecFile)
	doc, err := openapi3.NewLoader().LoadFromFile(path)
	if err != nil {
		t.Fatalf("load %s: %v", controlSpecFile, err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("%s is not a valid OpenAPI document: %v", controlSpecFile, err)
	}
	return doc
}

func TestControlPlaneOpenAPISpecIsValid(t *testing.T) {
	if doc := loadControlSpec(t); doc.OpenAPI != "3.0.3" {
		t.Errorf("openapi = %q, want 3.0.3", doc.OpenAPI)
	}
}

// TestControlPlaneOpenAPIRoutes checks that the spec describes exactly the
// routes internal/controlplane/http.go registers.
func TestControlPlaneOpenAPIRoutes(t *testing.T) {
	doc := loadControlSpec(t)
	src, err := os.ReadFile(filepath.Join(testkit.RepoRoot(), "internal/controlplane/http.go"))
	if err != nil {
		t.Fatal(err)
	}
	var served []string
	for _, m := range muxRouteRE.FindAllStringSubmatch(string(src), -1) {
		served = append(served, m[1]+" "+strings.ReplaceAll(m[2], "...}", "}"))
	}
	var described []string
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			described = append(described, method+" "+path)
		}
	}
	slices.Sort(served)
	slices.Sort(described)
	if len(served) == 0 || !slices.Equal(served, described) {
		t.Errorf("routes differ\nhttp.go: %q\n%s: %q", served, controlSpecFile, described)
	}
}

// TestControlPlaneOpenAPISharedSchemas checks that every schema the two
// specs share is the same in both, except ErrorBody, whose codes the
// control-plane extends with its own.
func TestControlPlaneOpenAPISharedSchemas(t *testing.T) {
	ctl, wk := loadControlSpec(t), loadSpec(t)
	shared := 0
	for name, ref := range ctl.Components.Schemas {
		other := wk.Components.Schemas[name]
		if other == nil || name == "ErrorBody" || strings.HasPrefix(name, "Codes") {
			continue
		}
		shared++
		a, _ := json.Marshal(ref)
		b, _ := json.Marshal(other)
		if string(a) != string(b) {
			t.Errorf("schema %s differs from %s's", name, specFile)
		}
	}
	wkCodes := enumStrings(wk.Components.Schemas["ErrorBody"].Value.Properties["code"].Value)
	ctlCodes := enumStrings(ctl.Components.Schemas["ErrorBody"].Value.Properties["code"].Value)
	for _, c := range wkCodes {
		if !slices.Contains(ctlCodes, c) {
			t.Errorf("the worker's error code %s is not among the control-plane's", c)
		}
	}
	if shared < 40 {
		t.Errorf("only %d schemas shared with %s", shared, specFile)
	}
}

// TestControlPlaneOpenAPIGoTypes checks the control-plane's own answer
// types against their schemas.
func TestControlPlaneOpenAPIGoTypes(t *testing.T) {
	doc := loadControlSpec(t)
	for name, v := range map[string]any{"Status": controlplane.Status{},
		"WorkerStatus": controlplane.WorkerStatus{}, "SessionPage": controlplane.SessionPage{}} {
		t.Run(name, func(t *testing.T) {
			s := doc.Components.Schemas[name].Value
			fields, always := jsonFields(reflect.TypeOf(v))
			if props := slices.Sorted(maps.Keys(s.Properties)); !slices.Equal(fields, props) {
				t.Errorf("Go JSON fields %q, schema properties %q", fields, props)
			}
			if req := slices.Sorted(slices.Values(s.Required)); !slices.Equal(always, req) {
				t.Errorf("fields always sent %q, schema requires %q", always, req)
			}
		})
	}
}

// TestControlPlaneOpenAPILive drives a real control-plane in front of a
// real worker (chromium, one slot, no queue) through every endpoint and
// validates each request and answer against the Control API spec.
func TestControlPlaneOpenAPILive(t *testing.T) {
	needEngine(t, "chromium")
	doc := loadControlSpec(t)
	w := testkit.StartWorker(t, testkit.Env{"WORKER_ID": "spec-worker", "MAX_SESSIONS": "1"})
	cp := testkit.StartControlPlane(t, testkit.Env{"WORKERS": w.Base, "QUEUE_MAX": "0"})
	cpWaitWorkers(t, cp.Client, "spec-worker")
	r, err := gorillamux.NewRouter(doc)
	if err != nil {
		t.Fatalf("router: %v", err)
	}
	sc := &specClient{t: t, router: r, base: cp.Base, http: cp.HTTP}
	site := testkit.Site(t, map[string]http.HandlerFunc{"/": testkit.HTML(formPage)})

	ctlOperations(t, sc)
	ctlRefusals(t, sc)
	done := ctlFinished(t, sc, site.URL)
	busy := ctlBusy(t, sc, site.URL, done)
	ctlArtifacts(t, sc, done)
	ctlDirect(t, sc, busy)
	ctlWorkers(t, sc, w.Base)
	ctlAudit(t, sc)
}

// ctlOperations checks health, metrics, status and the workers list.
func ctlOperations(t *testing.T, sc *specClient) {
	var h map[string]any
	sc.json("GET", "/health", nil, http.StatusOK, &h)
	if res := sc.do(call{method: "GET", path: "/metrics"}, http.StatusOK); !strings.Contains(
		string(res.body), "camofleet_cp_queue_length") {
		t.Errorf("metrics lack camofleet_cp_queue_length")
	}
	var st controlplane.Status
	sc.json("GET", "/status", nil, http.StatusOK, &st)
	if len(st.Workers) != 1 || st.Capacity != 1 {
		t.Errorf("/status: %+v", st)
	}
	var list struct {
		Workers []controlplane.WorkerStatus `json:"workers"`
	}
	sc.json("GET", "/workers", nil, http.StatusOK, &list)
	if len(list.Workers) != 1 || list.Workers[0].ID != "spec-worker" {
		t.Errorf("/workers: %+v", list.Workers)
	}
	sc.refused(call{method: "GET", path: "/events?lastEventId=soon"}, http.StatusBadRequest,
		"invalid_field", "Last-Event-ID")
}

// ctlRefusals sends requests the control-plane refuses before any session
// exists.
func ctlRefusals(t *testing.T, sc *specClient) {
	managed := map[string]any{"mode": "managed", "engine": "chromium"}
	with := func(k string, v any) call {
		m := maps.Clone(managed)
		m[k] = v
		return jsonCall(t, "POST", "/sessions", m)
	}
	plain := call{method: "POST", path: "/sessions", body: mustJSON(t, managed)}
	for _, tc := range []struct {
		c     call
		field string
	}{
		{with("colour", "red"), "colour"},
		{with("mode", "remote"), "mode"},
		{with("engine", "netscape"), "engine"},
		{with("steps", []any{map[string]any{"action": "goto"}}), "steps[0].url"},
		{plain, "Content-Type"},
		{call{method: "GET", path: "/sessions?limit=0"}, "limit"},
		{call{method: "GET", path: "/sessions?state=asleep"}, "state"},
		{call{method: "GET", path: "/sessions?label=team"}, "label"},
		{call{method: "GET", path: "/artifacts"}, "session"},
		{call{method: "GET", path: "/logs"}, "session"},
		{call{method: "GET", path: "/audit?limit=0"}, "limit"},
		{jsonCall(t, "POST", "/workers", map[string]string{"url": "ftp://x"}), "url"},
	} {
		sc.refused(tc.c, http.StatusBadRequest, "invalid_field", tc.field)
	}
	sc.failed(call{method: "GET", path: "/sessions?cursor=nonsense"}, http.StatusBadRequest,
		"invalid_field")
	huge := with("steps", []any{map[string]any{"action": "goto",
		"url": "https://example.com/?q=" + strings.Repeat("a", 1<<20)}})
	sc.failed(huge, http.StatusRequestEntityTooLarge, "body_too_large")
	sc.failed(with("engine", "camoufox"), http.StatusServiceUnavailable, "engine_unavailable")

	for _, c := range []call{
		{method: "GET", path: "/sessions/" + unknownID},
		{method: "DELETE", path: "/sessions/" + unknownID},
		jsonCall(t, "POST", "/sessions/"+unknownID+"/actions",
			api.ActionsRequest{Steps: testkit.RawSteps(testkit.Step("wait", "ms", 1))}),
		wsCall(t, unknownID, "x"),
		{method: "GET", path: "/artifacts?session=" + unknownID},
		{method: "GET", path: "/artifacts/" + unknownID + "/session.har"},
		{method: "GET", path: "/logs?session=" + unknownID},
	} {
		sc.failed(c, http.StatusNotFound, "not_found")
	}
	res := sc.send(call{method: "GET", path: "/nowhere"})
	if res.status != http.StatusNotFound || !strings.Contains(string(res.body), `"no_route"`) {
		t.Errorf("GET /nowhere: %d %s, want 404 no_route", res.status, res.body)
	}
}

// ctlFinished runs a Managed session to its end (closeWhenDone) and returns
// its id.
func ctlFinished(t *testing.T, sc *specClient, siteURL string) string {
	req := api.CreateSessionRequest{Mode: api.ModeManaged, Engine: "chromium", CloseWhenDone: true,
		Record: &api.Record{HAR: true}, Labels: map[string]string{"suite": "control"},
		Steps: testkit.RawSteps(testkit.Step("goto", "url", siteURL),
			testkit.Step("screenshot", "name", "form"))}
	var s api.Session
	res := sc.json("POST", "/sessions", req, http.StatusCreated, &s)
	if loc := res.header.Get("Location"); loc != "/sessions/"+s.ID || s.WorkerID != "spec-worker" {
		t.Errorf("Location %q, workerId %q", loc, s.WorkerID)
	}
	ctlWaitEnded(t, sc, s.ID)
	return s.ID
}

func ctlWaitEnded(t *testing.T, sc *specClient, id string) api.Session {
	t.Helper()
	deadline := time.Now().Add(cpWait)
	for {
		var s api.Session
		sc.json("GET", "/sessions/"+id, nil, http.StatusOK, &s)
		if s.State.Ended() {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("session %s has not ended: %s", id, s.State)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// ctlBusy fills the only slot with a Managed session, checks the 429 of a
// full fleet without a queue, pages through the sessions and runs actions;
// it returns the running session's id.
func ctlBusy(t *testing.T, sc *specClient, siteURL, done string) string {
	var s api.Session
	sc.json("POST", "/sessions", api.CreateSessionRequest{Mode: api.ModeManaged,
		Engine: "chromium", Labels: map[string]string{"suite": "control"}}, http.StatusCreated, &s)
	res := sc.failed(jsonCall(t, "POST", "/sessions", api.CreateSessionRequest{
		Mode: api.ModeManaged, Engine: "chromium"}), http.StatusTooManyRequests, "queue_full")
	if res.header.Get("Retry-After") == "" {
		t.Errorf("429 without Retry-After")
	}

	var first, second controlplane.SessionPage
	sc.json("GET", "/sessions?limit=1&label=suite%3Dcontrol&state=ready,closed", nil,
		http.StatusOK, &first)
	if len(first.Sessions) != 1 || first.Sessions[0].ID != s.ID || first.Next == "" {
		t.Fatalf("first page: %+v", first)
	}
	sc.json("GET", "/sessions?limit=1&label=suite%3Dcontrol&state=ready,closed&cursor="+
		url.QueryEscape(first.Next), nil, http.StatusOK, &second)
	if len(second.Sessions) != 1 || second.Sessions[0].ID != done || second.Next != "" {
		t.Errorf("second page: %+v", second)
	}

	var out api.ActionsResponse
	sc.json("POST", "/sessions/"+s.ID+"/actions", api.ActionsRequest{Steps: testkit.RawSteps(
		testkit.Step("goto", "url", siteURL), testkit.Step("click", "selector", "#go"),
		testkit.Step("extract", "selector", "#out", "what", "text"))}, http.StatusOK, &out)
	if len(out.Results) != 3 || out.Results[2].Output != "clicked" {
		t.Errorf("actions: %+v", out.Results)
	}
	sc.refused(jsonCall(t, "POST", "/sessions/"+s.ID+"/actions", api.ActionsRequest{}),
		http.StatusBadRequest, "invalid_field", "steps")
	sc.failed(jsonCall(t, "POST", "/sessions/"+done+"/actions",
		api.ActionsRequest{Steps: testkit.RawSteps(testkit.Step("wait", "ms", 1))}),
		http.StatusConflict, "session_ended")
	sc.failed(wsCall(t, s.ID, "x"), http.StatusConflict, "wrong_mode")
	return s.ID
}

// ctlArtifacts lists and downloads a finished session's artifacts and
// reads its logs.
func ctlArtifacts(t *testing.T, sc *specClient, id string) {
	var list worker.ArtifactList
	sc.json("GET", "/artifacts?session="+id, nil, http.StatusOK, &list)
	har := findArtifact(t, list.Artifacts, artifact.HARName)
	shot := findArtifact(t, list.Artifacts, "screenshots/form.png")
	res := sc.do(call{method: "GET", path: har.URL}, http.StatusOK)
	if sum := sha256.Sum256(res.body); hex.EncodeToString(sum[:]) != har.SHA256 {
		t.Errorf("HAR downloaded through the control-plane has another sha256 than listed")
	}
	path := "/artifacts/" + id + "/" + url.PathEscape(shot.Name)
	part := sc.do(call{method: "GET", path: path, header: http.Header{"Range": {"bytes=0-7"}}},
		http.StatusPartialContent)
	if string(part.body) != "\x89PNG\r\n\x1a\n" {
		t.Errorf("range 0-7 of the screenshot: %q", part.body)
	}
	sc.do(call{method: "GET", path: path, header: http.Header{
		"If-Modified-Since": {res.header.Get("Last-Modified")}}}, http.StatusNotModified)
	sc.failed(call{method: "GET", path: "/artifacts/" + id + "/screenshots%2Fnone.png"},
		http.StatusNotFound, "not_found")

	var logs worker.Logs
	sc.json("GET", "/logs?session="+id+"&kind=network&limit=10", nil, http.StatusOK, &logs)
	if len(logs.Network) == 0 {
		t.Errorf("no network records through the control-plane")
	}
	sc.refused(call{method: "GET", path: "/logs?session=" + id + "&kind=dom"},
		http.StatusBadRequest, "invalid_field", "kind")
}

// ctlDirect ends the busy session, then creates a Direct one and connects
// to its websocket through the control-plane.
func ctlDirect(t *testing.T, sc *specClient, busy string) {
	var s api.Session
	sc.json("DELETE", "/sessions/"+busy, nil, http.StatusOK, &s)
	if s.State != api.StateKilled {
		t.Errorf("DELETE: state %s", s.State)
	}
	sc.failed(call{method: "DELETE", path: "/sessions/" + busy}, http.StatusConflict,
		"session_ended")

	sc.json("POST", "/sessions", api.CreateSessionRequest{Mode: api.ModeDirect, Engine: "chromium"},
		http.StatusCreated, &s)
	u, err := url.Parse(s.WSEndpoint)
	if err != nil || !strings.HasPrefix(sc.base, "http://"+u.Host) {
		t.Fatalf("wsEndpoint %q is not on the control-plane %s", s.WSEndpoint, sc.base)
	}
	sc.refused(call{method: "GET", path: "/sessions/" + s.ID + "/ws?token=x"},
		http.StatusBadRequest, "bad_upgrade", "")
	sc.failed(wsCall(t, s.ID, "wrong"), http.StatusBadGateway, "backend_unavailable")
	ws := sc.do(wsCall(t, s.ID, u.Query().Get("token")), http.StatusSwitchingProtocols)
	if err := ws.conn.Close(); err != nil {
		t.Errorf("close websocket: %v", err)
	}
	if end := ctlWaitEnded(t, sc, s.ID); end.Reason != api.ReasonClientClosed {
		t.Errorf("direct session ended %s/%s, want client_closed", end.State, end.Reason)
	}
}

// ctlWorkers registers workers: the known one again, one that does not
// answer and one that takes the known one's id.
func ctlWorkers(t *testing.T, sc *specClient, known string) {
	var st controlplane.WorkerStatus
	sc.json("POST", "/workers", map[string]string{"url": known}, http.StatusOK, &st)
	if st.ID != "spec-worker" || st.State != "up" {
		t.Errorf("registered again: %+v", st)
	}
	sc.failed(jsonCall(t, "POST", "/workers", map[string]string{"url": "http://127.0.0.1:1"}),
		http.StatusBadGateway, "worker_unreachable")
	twin := testkit.StartWorker(t, testkit.Env{"WORKER_ID": "spec-worker"})
	sc.failed(jsonCall(t, "POST", "/workers", map[string]string{"url": twin.Base}),
		http.StatusConflict, "worker_id_taken")
}

// ctlAudit reads the audit log.
func ctlAudit(t *testing.T, sc *specClient) {
	var out struct {
		Audit []struct {
			Action string `json:"action"`
		} `json:"audit"`
	}
	sc.json("GET", "/audit?action=session.create&limit=10", nil, http.StatusOK, &out)
	if len(out.Audit) < 3 {
		t.Errorf("audit has %d session.create records, want 3 or more", len(out.Audit))
	}
	sc.json("GET", "/audit", nil, http.StatusOK, &out)
}
