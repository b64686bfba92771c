package e2e

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"maps"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"

	"github.com/camo-fleet/camo-fleet/internal/api"
	"github.com/camo-fleet/camo-fleet/internal/artifact"
	"github.com/camo-fleet/camo-fleet/internal/engine"
	"github.com/camo-fleet/camo-fleet/internal/steps"
	"github.com/camo-fleet/camo-fleet/internal/testkit"
	"github.com/camo-fleet/camo-fleet/internal/worker"
)

// specFile is the Worker API description, relative to the repository root.
const specFile = "api/openapi.worker.yaml"

// loadSpec loads the Worker API description and fails the test unless it is
// a valid OpenAPI document.
func loadSpec(t *testing.T) *openapi3.T {
	t.Helper()
	doc, err := openapi3.NewLoader().LoadFromFile(filepath.Join(testkit.RepoRoot(), specFile))
	if err != nil {
		t.Fatalf("load %s: %v", specFile, err)
	}
	if err := doc.Validate(context.Background()); err != nil {
		t.Fatalf("%s is not a valid OpenAPI document: %v", specFile, err)
	}
	return doc
}

func TestOpenAPISpecIsValid(t *testing.T) {
	doc := loadSpec(t)
	if doc.OpenAPI != "3.0.3" {
		t.Errorf("openapi = %q, want 3.0.3", doc.OpenAPI)
	}
}

// muxRouteRE finds the method patterns registered in internal/worker/server.go.
var muxRouteRE = regexp.MustCompile(`mux\.Handle(?:Func)?\("([A-Z]+) (/[^"]*)"`)

// TestOpenAPIRoutesMatchServer checks that the spec describes exactly the
// routes the worker registers, no more and no fewer.
func TestOpenAPIRoutesMatchServer(t *testing.T) {
	doc := loadSpec(t)
	src, err := os.ReadFile(filepath.Join(testkit.RepoRoot(), "internal", "worker", "server.go"))
	if err != nil {
		t.Fatal(err)
	}
	var served []string
	for _, m := range muxRouteRE.FindAllStringSubmatch(string(src), -1) {
		// ServeMux's {name...} is one OpenAPI path parameter, {name}.
		served = append(served, m[1]+" "+strings.ReplaceAll(m[2], "...}", "}"))
	}
	if len(served) == 0 {
		t.Fatal("found no routes in internal/worker/server.go")
	}
	var described []string
	for path, item := range doc.Paths.Map() {
		for method := range item.Operations() {
			described = append(described, method+" "+path)
		}
	}
	slices.Sort(served)
	slices.Sort(described)
	if !slices.Equal(served, described) {
		t.Errorf("routes differ\nserver.go: %q\n%s: %q", served, specFile, described)
	}
}

// registerRE finds the actions registered in internal/steps/parse.go.
var registerRE = regexp.MustCompile(`register\("(\w+)"`)

// TestOpenAPIStepActionsMatchParser checks that every action the step parser
// knows has a schema in the Step discriminator and the Action enum.
func TestOpenAPIStepActionsMatchParser(t *testing.T) {
	doc := loadSpec(t)
	src, err := os.ReadFile(filepath.Join(testkit.RepoRoot(), "internal", "steps", "parse.go"))
	if err != nil {
		t.Fatal(err)
	}
	var known []string
	for _, m := range registerRE.FindAllStringSubmatch(string(src), -1) {
		known = append(known, m[1])
	}
	var mapped []string
	for action := range doc.Components.Schemas["Step"].Value.Discriminator.Mapping {
		mapped = append(mapped, action)
	}
	enum := enumStrings(doc.Components.Schemas["Action"].Value)
	for _, list := range [][]string{known, mapped, enum} {
		slices.Sort(list)
	}
	if !slices.Equal(known, mapped) || !slices.Equal(known, enum) {
		t.Errorf("actions differ\nparser: %q\nStep mapping: %q\nAction enum: %q", known, mapped, enum)
	}
}

func enumStrings(s *openapi3.Schema) []string {
	out := make([]string, 0, len(s.Enum))
	for _, v := range s.Enum {
		out = append(out, fmt.Sprint(v))
	}
	return out
}

// TestOpenAPIEnumsMatchGoConstants checks the spec's enums against the
// constants of the Go types they describe, read from the source.
func TestOpenAPIEnumsMatchGoConstants(t *testing.T) {
	doc := loadSpec(t)
	root := testkit.RepoRoot()
	cases := []struct {
		file, goType string
		schema       *openapi3.Schema
	}{
		{"internal/api/types.go", "Mode", doc.Components.Schemas["Mode"].Value},
		{"internal/api/types.go", "State", doc.Components.Schemas["State"].Value},
		{"internal/api/types.go", "Reason", doc.Components.Schemas["Reason"].Value},
		{"internal/api/types.go", "StepStatus", doc.Components.Schemas["StepStatus"].Value},
		{"internal/artifact/artifact.go", "Kind",
			doc.Components.Schemas["Artifact"].Value.Properties["kind"].Value},
	}
	for _, tc := range cases {
		t.Run(tc.goType, func(t *testing.T) {
			want := stringConsts(t, filepath.Join(root, tc.file), tc.goType)
			got := enumStrings(tc.schema)
			slices.Sort(want)
			slices.Sort(got)
			if len(want) == 0 || !slices.Equal(want, got) {
				t.Errorf("Go constants %q, spec enum %q", want, got)
			}
		})
	}
}

// stringConsts returns the values of the string constants of type goType
// declared in file.
func stringConsts(t *testing.T, file, goType string) []string {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), file, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	ast.Inspect(f, func(n ast.Node) bool {
		vs, ok := n.(*ast.ValueSpec)
		if !ok {
			return true
		}
		if id, ok := vs.Type.(*ast.Ident); !ok || id.Name != goType {
			return true
		}
		for _, v := range vs.Values {
			if lit, ok := v.(*ast.BasicLit); ok && lit.Kind == token.STRING {
				s, _ := strconv.Unquote(lit.Value)
				out = append(out, s)
			}
		}
		return true
	})
	return out
}

// TestOpenAPISchemasMatchGoTypes checks that every wire type's JSON fields
// are the properties of its schema and, for answers, that the fields always
// present (no omitempty) are the required ones.
func TestOpenAPISchemasMatchGoTypes(t *testing.T) {
	doc := loadSpec(t)
	cases := []struct {
		schema string
		value  any
		answer bool // required must equal the fields without omitempty
	}{
		{"CreateSessionRequest", api.CreateSessionRequest{}, false},
		{"RecordRequest", api.Record{}, false},
		{"ActionsRequest", api.ActionsRequest{}, true},
		{"Record", api.Record{}, true},
		{"Viewport", api.Viewport{}, true},
		{"Session", api.Session{}, true},
		{"StateChange", api.StateChange{}, true},
		{"SessionList", api.SessionList{}, true},
		{"ActionsResponse", api.ActionsResponse{}, true},
		{"StepResult", api.StepResult{}, true},
		{"StepError", api.StepError{}, true},
		{"GotoOutput", steps.GotoOutput{}, true},
		{"ScreenshotOutput", steps.ScreenshotOutput{}, true},
		{"PDFOutput", steps.PDFOutput{}, true},
		{"Error", api.Error{}, true},
		{"ErrorBody", api.ErrorBody{}, true},
		{"Health", worker.Health{}, true},
		{"EngineAvailability", engine.Availability{}, true},
		{"Capabilities", engine.Capabilities{}, true},
		{"Artifact", artifact.Artifact{}, true},
		{"ArtifactList", worker.ArtifactList{}, true},
		{"Logs", worker.Logs{}, true},
	}
	for _, tc := range cases {
		t.Run(tc.schema, func(t *testing.T) {
			ref := doc.Components.Schemas[tc.schema]
			if ref == nil {
				t.Fatalf("no schema %s", tc.schema)
			}
			s := ref.Value
			fields, always := jsonFields(reflect.TypeOf(tc.value))
			props := slices.Sorted(maps.Keys(s.Properties))
			if !slices.Equal(fields, props) {
				t.Errorf("Go JSON fields %q, schema properties %q", fields, props)
			}
			if s.AdditionalProperties.Has == nil || *s.AdditionalProperties.Has {
				t.Errorf("schema allows additional properties; the Go type has none")
			}
			required := slices.Sorted(slices.Values(s.Required))
			if tc.answer && !slices.Equal(always, required) {
				t.Errorf("fields always sent %q, schema requires %q", always, required)
			}
		})
	}
}

// jsonFields returns the JSON names of a struct's fields, sorted, and those
// encoding/json always writes.
func jsonFields(t reflect.Type) (all, always []string) {
	for i := range t.NumField() {
		f := t.Field(i)
		name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" || !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		all = append(all, name)
		if !slices.Contains(strings.Split(opts, ","), "omitempty") {
			always = append(always, name)
		}
	}
	slices.Sort(all)
	slices.Sort(always)
	return all, always
}

// TestOpenAPIStepSchemasAgreeWithParser checks, step by step, that the Step
// schema accepts what the worker's step parser accepts and refuses what it
// refuses, so a client can check a step list before sending it.
func TestOpenAPIStepSchemasAgreeWithParser(t *testing.T) {
	stepSchema := loadSpec(t).Components.Schemas["Step"].Value
	lim := steps.Limits{Engine: "chromium", AllowEvaluate: true}
	cases := []struct {
		name, step string
		valid      bool
	}{
		{"goto", `{"action":"goto","url":"https://example.com/"}`, true},
		{"goto all", `{"action":"goto","url":"/x","waitUntil":"commit","timeoutMs":600000}`, true},
		{"click", `{"action":"click","selector":"#a","button":"right","clickCount":2}`, true},
		{"fill empty", `{"action":"fill","selector":"#a","value":""}`, true},
		{"type", `{"action":"type","selector":"#a","text":"hi","delayMs":1000}`, true},
		{"press page", `{"action":"press","key":"Enter"}`, true},
		{"press element", `{"action":"press","selector":"#a","key":"Control+A"}`, true},
		{"hover", `{"action":"hover","selector":"#a"}`, true},
		{"check", `{"action":"check","selector":"#a"}`, true},
		{"uncheck", `{"action":"uncheck","selector":"#a"}`, true},
		{"select values", `{"action":"select","selector":"#a","values":["x","y"]}`, true},
		{"select value", `{"action":"select","selector":"#a","value":"x"}`, true},
		{"waitForSelector", `{"action":"waitForSelector","selector":"#a","state":"hidden"}`, true},
		{"waitForURL", `{"action":"waitForURL","url":"**/done","waitUntil":"networkidle"}`, true},
		{"waitForLoadState", `{"action":"waitForLoadState"}`, true},
		{"waitForLoadState state", `{"action":"waitForLoadState","state":"networkidle"}`, true},
		{"wait", `{"action":"wait","ms":0}`, true},
		{"scroll selector", `{"action":"scroll","selector":"#a"}`, true},
		{"scroll x", `{"action":"scroll","x":10}`, true},
		{"scroll xy", `{"action":"scroll","x":0,"y":-5.5}`, true},
		{"screenshot", `{"action":"screenshot","name":"home","fullPage":true}`, true},
		{"screenshot element", `{"action":"screenshot","name":"h","selector":"#a"}`, true},
		{"screenshot element not full",
			`{"action":"screenshot","name":"h","selector":"#a","fullPage":false}`, true},
		{"extract", `{"action":"extract","selector":"li","what":"text","all":true}`, true},
		{"extract attribute",
			`{"action":"extract","selector":"a","what":"attribute","attribute":"href"}`, true},
		{"evaluate", `{"action":"evaluate","expression":"1+1"}`, true},
		{"pdf", `{"action":"pdf","name":"page"}`, true},

		{"not an object", `"goto"`, false},
		{"no action", `{"url":"https://example.com/"}`, false},
		{"unknown action", `{"action":"tap","selector":"#a"}`, false},
		{"action not a string", `{"action":5}`, false},
		{"unknown parameter", `{"action":"goto","url":"/x","URL":"/y"}`, false},
		{"goto no url", `{"action":"goto"}`, false},
		{"goto blank url", `{"action":"goto","url":"  "}`, false},
		{"goto url not a string", `{"action":"goto","url":5}`, false},
		{"goto bad waitUntil", `{"action":"goto","url":"/x","waitUntil":"idle"}`, false},
		{"timeout zero", `{"action":"goto","url":"/x","timeoutMs":0}`, false},
		{"timeout too long", `{"action":"goto","url":"/x","timeoutMs":600001}`, false},
		{"timeout fraction", `{"action":"goto","url":"/x","timeoutMs":1.5}`, false},
		{"click no selector", `{"action":"click"}`, false},
		{"click bad button", `{"action":"click","selector":"#a","button":"side"}`, false},
		{"click too many", `{"action":"click","selector":"#a","clickCount":11}`, false},
		{"fill no value", `{"action":"fill","selector":"#a"}`, false},
		{"type no text", `{"action":"type","selector":"#a"}`, false},
		{"type slow", `{"action":"type","selector":"#a","text":"x","delayMs":1001}`, false},
		{"press no key", `{"action":"press","selector":"#a"}`, false},
		{"select both", `{"action":"select","selector":"#a","values":["x"],"value":"x"}`, false},
		{"select neither", `{"action":"select","selector":"#a"}`, false},
		{"select empty", `{"action":"select","selector":"#a","values":[]}`, false},
		{"waitForSelector bad state",
			`{"action":"waitForSelector","selector":"#a","state":"gone"}`, false},
		{"waitForLoadState commit", `{"action":"waitForLoadState","state":"commit"}`, false},
		{"wait no ms", `{"action":"wait"}`, false},
		{"wait negative", `{"action":"wait","ms":-1}`, false},
		{"scroll nothing", `{"action":"scroll"}`, false},
		{"scroll both", `{"action":"scroll","selector":"#a","x":1}`, false},
		{"screenshot no name", `{"action":"screenshot"}`, false},
		{"screenshot name unsafe", `{"action":"screenshot","name":"..."}`, false},
		{"screenshot full and element",
			`{"action":"screenshot","name":"h","selector":"#a","fullPage":true}`, false},
		{"extract no what", `{"action":"extract","selector":"#a"}`, false},
		{"extract bad what", `{"action":"extract","selector":"#a","what":"value"}`, false},
		{"extract attribute missing", `{"action":"extract","selector":"#a","what":"attribute"}`, false},
		{"extract stray attribute",
			`{"action":"extract","selector":"#a","what":"text","attribute":"href"}`, false},
		{"evaluate blank", `{"action":"evaluate","expression":" "}`, false},
		{"pdf no name", `{"action":"pdf"}`, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var v any
			if err := json.Unmarshal([]byte(tc.step), &v); err != nil {
				t.Fatal(err)
			}
			specErr := stepSchema.VisitJSON(v)
			_, parseErr := steps.Parse([]json.RawMessage{json.RawMessage(tc.step)}, lim)
			if (specErr == nil) != tc.valid {
				t.Errorf("spec valid = %v, want %v: %v", specErr == nil, tc.valid, specErr)
			}
			if (parseErr == nil) != tc.valid {
				t.Errorf("parser valid = %v, want %v: %v", parseErr == nil, tc.valid, parseErr)
			}
		})
	}
}

// specClient sends real requests to a worker and validates each request and
// answer against the spec.
type specClient struct {
	t      *testing.T
	router routers.Router
	base   string
	http   *http.Client
}

// call is one request to send.
type call struct {
	method, path string
	header       http.Header
	body         []byte
	// refused marks a request built to break the spec: the spec must refuse
	// it just as the worker does.
	refused bool
}

// answer is what the worker sent back.
type answer struct {
	status int
	header http.Header
	body   []byte
	// conn is the open websocket of a 101 answer; the caller closes it.
	conn io.Closer
}

func newSpecClient(t *testing.T, doc *openapi3.T, w *testkit.Worker) *specClient {
	t.Helper()
	r, err := gorillamux.NewRouter(doc)
	if err != nil {
		t.Fatalf("router: %v", err)
	}
	return &specClient{t: t, router: r, base: w.Base, http: w.HTTP}
}

// do sends c, fails the test unless the worker answers want, and validates
// the request and the answer against the spec.
func (sc *specClient) do(c call, want int) answer {
	sc.t.Helper()
	res := sc.send(c)
	if res.status != want {
		sc.t.Fatalf("%s %s: status %d, want %d: %s", c.method, c.path, res.status, want, res.body)
	}
	sc.validate(c, res)
	return res
}

// json sends body encoded as JSON and decodes the answer into out.
func (sc *specClient) json(method, path string, body any, want int, out any) answer {
	sc.t.Helper()
	c := call{method: method, path: path}
	if body != nil {
		c.body = mustJSON(sc.t, body)
		c.header = http.Header{"Content-Type": {"application/json"}}
	}
	res := sc.do(c, want)
	if out != nil {
		if err := json.Unmarshal(res.body, out); err != nil {
			sc.t.Fatalf("%s %s: decode %s: %v", method, path, res.body, err)
		}
	}
	return res
}

// refused sends a request that breaks the spec and checks the error answer.
func (sc *specClient) refused(c call, want int, code, field string) {
	sc.t.Helper()
	c.refused = true
	sc.checkError(sc.do(c, want), code, field)
}

// failed sends a request the spec allows and checks the error answer.
func (sc *specClient) failed(c call, want int, code string) answer {
	sc.t.Helper()
	res := sc.do(c, want)
	sc.checkError(res, code, "")
	return res
}

func (sc *specClient) checkError(res answer, code, field string) {
	sc.t.Helper()
	var e api.Error
	if err := json.Unmarshal(res.body, &e); err != nil {
		sc.t.Fatalf("error body %s: %v", res.body, err)
	}
	if e.Error.Code != code || (field != "" && e.Error.Field != field) {
		sc.t.Errorf("error %+v, want code %s field %q", e.Error, code, field)
	}
}

func (sc *specClient) send(c call) answer {
	sc.t.Helper()
	req, err := http.NewRequest(c.method, sc.base+c.path, bytes.NewReader(c.body))
	if err != nil {
		sc.t.Fatal(err)
	}
	for k, v := range c.header {
		req.Header[k] = v
	}
	resp, err := sc.http.Do(req)
	if err != nil {
		sc.t.Fatalf("%s %s: %v", c.method, c.path, err)
	}
	if resp.StatusCode == http.StatusSwitchingProtocols {
		return answer{status: resp.StatusCode, header: resp.Header, conn: resp.Body}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		sc.t.Fatalf("%s %s: read body: %v", c.method, c.path, err)
	}
	return answer{status: resp.StatusCode, header: resp.Header, body: body}
}

// validate checks the request against the spec (it must pass unless it was
// built to be refused) and the answer with its real status, headers and body.
func (sc *specClient) validate(c call, res answer) {
	sc.t.Helper()
	req, err := http.NewRequest(c.method, sc.base+c.path, bytes.NewReader(c.body))
	if err != nil {
		sc.t.Fatal(err)
	}
	req.Header = c.header.Clone()
	if req.Header == nil {
		req.Header = http.Header{}
	}
	route, params, err := sc.router.FindRoute(req)
	if err != nil {
		sc.t.Errorf("%s %s: not in %s: %v", c.method, c.path, specFile, err)
		return
	}
	opts := &openapi3filter.Options{MultiError: true, IncludeResponseStatus: true}
	in := &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route,
		Options: opts}
	err = openapi3filter.ValidateRequest(context.Background(), in)
	switch {
	case c.refused && err == nil:
		sc.t.Errorf("%s %s %s: the worker refused it, the spec accepts it", c.method, c.path, c.body)
	case !c.refused && err != nil:
		sc.t.Errorf("%s %s: request does not match the spec: %v", c.method, c.path, err)
	}
	out := &openapi3filter.ResponseValidationInput{RequestValidationInput: in,
		Status: res.status, Header: res.header, Options: opts}
	out.SetBodyBytes(res.body)
	if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
		sc.t.Errorf("%s %s: answer %d does not match the spec: %v\nbody: %.2000s",
			c.method, c.path, res.status, err, res.body)
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// jsonCall is a POST or similar with a JSON body.
func jsonCall(t *testing.T, method, path string, body any) call {
	return call{method: method, path: path, body: mustJSON(t, body),
		header: http.Header{"Content-Type": {"application/json"}}}
}

// wsCall is a websocket upgrade request for a session.
func wsCall(t *testing.T, id, token string) call {
	key := make([]byte, 16)
	if _, err := rand.Read(key); err != nil {
		t.Fatal(err)
	}
	return call{method: "GET", path: "/sessions/" + id + "/ws?token=" + url.QueryEscape(token),
		header: http.Header{
			"Upgrade":               {"websocket"},
			"Connection":            {"Upgrade"},
			"Sec-Websocket-Version": {"13"},
			"Sec-Websocket-Key":     {base64.StdEncoding.EncodeToString(key)},
		}}
}

// unknownID is a well-formed id no session has.
const unknownID = "00000000000000000000"

// formPage is the page the Managed steps work on.
const formPage = `<!doctype html><title>Form</title>
<h1 id="h" data-kind="greeting">Hello</h1>
<input id="name"> <textarea id="notes"></textarea>
<input type="checkbox" id="agree">
<select id="color"><option value="red">Red</option><option value="blue">Blue</option></select>
<select id="many" multiple><option>a</option><option>b</option><option>c</option></select>
<button id="go" onclick="document.getElementById('out').textContent='clicked'">Go</button>
<p id="out"></p><a id="next" href="/done">next</a>
<div style="height:3000px"></div><p id="bottom">bottom</p>
<script>console.log("form loaded")</script>`

// TestOpenAPILive drives a real worker and real Chromium through every
// endpoint and validates each request and answer against the spec.
func TestOpenAPILive(t *testing.T) {
	needEngine(t, "chromium")
	doc := loadSpec(t)
	w := testkit.StartWorker(t, testkit.Env{"MAX_SESSIONS": "2"})
	sc := newSpecClient(t, doc, w)
	site := testkit.Site(t, map[string]http.HandlerFunc{
		"/":     testkit.HTML(formPage),
		"/done": testkit.HTML(`<!doctype html><title>Done</title><p>done</p>`),
	})

	health := checkHealth(t, sc)
	checkRefusals(t, sc, health)
	id := checkManaged(t, sc, doc, site.URL)
	checkArtifactsAndLogs(t, sc, id)
	checkDirect(t, sc)
	checkEnded(t, sc, id)
	checkDirectDisabled(t, doc)
}

func checkHealth(t *testing.T, sc *specClient) worker.Health {
	var h worker.Health
	sc.json("GET", "/health", nil, http.StatusOK, &h)
	res := sc.do(call{method: "GET", path: "/metrics"}, http.StatusOK)
	if !bytes.Contains(res.body, []byte("# TYPE ")) {
		t.Errorf("metrics are not in the Prometheus text format: %.300s", res.body)
	}
	return h
}

// checkRefusals sends requests the worker refuses before any session exists.
func checkRefusals(t *testing.T, sc *specClient, h worker.Health) {
	managed := map[string]any{"mode": "managed", "engine": "chromium"}
	with := func(k string, v any) call {
		m := maps.Clone(managed)
		m[k] = v
		return jsonCall(t, "POST", "/sessions", m)
	}
	plain := call{method: "POST", path: "/sessions", body: mustJSON(t, managed)}
	text := plain
	text.header = http.Header{"Content-Type": {"text/plain"}}
	for _, tc := range []struct {
		c     call
		field string
	}{
		{with("colour", "red"), "colour"},
		{with("viewport", map[string]int{"width": 50, "height": 600}), "viewport.width"},
		{with("steps", []any{map[string]any{"action": "goto"}}), "steps[0].url"},
		{with("mode", "remote"), "mode"},
		{plain, "Content-Type"},
		{text, "Content-Type"},
		{call{method: "GET", path: "/sessions?limit=0"}, "limit"},
		{call{method: "GET", path: "/artifacts"}, "session"},
		{call{method: "GET", path: "/logs?session=" + unknownID + "&kind=dom"}, "kind"},
	} {
		sc.refused(tc.c, http.StatusBadRequest, "invalid_field", tc.field)
	}

	// Too large, but otherwise a good request.
	huge := with("steps", []any{map[string]any{"action": "goto",
		"url": "https://example.com/?q=" + strings.Repeat("a", 1<<20)}})
	sc.failed(huge, http.StatusRequestEntityTooLarge, "body_too_large")

	for _, c := range []call{
		{method: "GET", path: "/sessions/" + unknownID},
		{method: "DELETE", path: "/sessions/" + unknownID},
		jsonCall(t, "POST", "/sessions/"+unknownID+"/actions",
			api.ActionsRequest{Steps: testkit.RawSteps(testkit.Step("wait", "ms", 1))}),
		wsCall(t, unknownID, "x"),
		{method: "GET", path: "/artifacts?session=" + unknownID},
		{method: "GET", path: "/artifacts/" + unknownID + "/screenshots%2Fhome.png"},
		{method: "GET", path: "/logs?session=" + unknownID},
	} {
		sc.failed(c, http.StatusNotFound, "not_found")
	}

	for _, e := range h.Engines {
		if !e.Available {
			sc.failed(with("engine", e.Name), http.StatusServiceUnavailable, "engine_unavailable")
		}
	}
}

// checkManaged creates a Managed session with steps, runs a step of every
// action on it, and returns its id.
func checkManaged(t *testing.T, sc *specClient, doc *openapi3.T, siteURL string) string {
	req := api.CreateSessionRequest{Mode: api.ModeManaged, Engine: "chromium",
		Record:   &api.Record{HAR: true, Screenshots: true},
		Viewport: &api.Viewport{Width: 1024, Height: 700}, Labels: map[string]string{"suite": "openapi"},
		Steps: testkit.RawSteps(testkit.Step("goto", "url", siteURL),
			testkit.Step("screenshot", "name", "home"))}
	var s api.Session
	res := sc.json("POST", "/sessions", req, http.StatusCreated, &s)
	if loc := res.header.Get("Location"); loc != "/sessions/"+s.ID {
		t.Errorf("Location = %q, want /sessions/%s", loc, s.ID)
	}
	waitSteps(t, sc, s.ID, 2)

	checkList(t, sc, s.ID)
	checkActions(t, sc, doc, s.ID, siteURL)
	return s.ID
}

// waitSteps polls the session until n step results are in, all ok.
func waitSteps(t *testing.T, sc *specClient, id string, n int) {
	deadline := time.Now().Add(time.Minute)
	for {
		var s api.Session
		sc.json("GET", "/sessions/"+id, nil, http.StatusOK, &s)
		if len(s.Steps) == n && s.State == api.StateReady {
			for _, r := range s.Steps {
				if r.Status != api.StepOK {
					t.Fatalf("initial step %d %s: %s %+v", r.Index, r.Action, r.Status, r.Error)
				}
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("session %s: %d of %d steps after a minute, state %s", id, len(s.Steps), n, s.State)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func checkList(t *testing.T, sc *specClient, id string) {
	var list api.SessionList
	q := "state=ready&engine=chromium&mode=managed&label=suite%3Dopenapi&limit=10&offset=0"
	sc.json("GET", "/sessions?"+q, nil, http.StatusOK, &list)
	if len(list.Sessions) != 1 || list.Sessions[0].ID != id {
		t.Errorf("filtered list = %+v, want only %s", list.Sessions, id)
	}
	sc.json("GET", "/sessions?label=suite&mode=direct", nil, http.StatusOK, &list)
	if len(list.Sessions) != 0 {
		t.Errorf("direct sessions: %+v, want none", list.Sessions)
	}
	sc.json("GET", "/sessions", nil, http.StatusOK, &list)
	if len(list.Sessions) != 1 {
		t.Errorf("all sessions: %d, want 1", len(list.Sessions))
	}
}

// checkActions runs one step of each action (all must pass), then a run
// that fails, and checks the outputs against the output schemas.
func checkActions(t *testing.T, sc *specClient, doc *openapi3.T, id, siteURL string) {
	S := testkit.Step
	run := []map[string]any{
		S("goto", "url", siteURL, "waitUntil", "load", "timeoutMs", 15000),
		S("waitForLoadState", "state", "domcontentloaded"),
		S("waitForSelector", "selector", "#go", "state", "visible"),
		S("fill", "selector", "#name", "value", "Ada"),
		S("type", "selector", "#notes", "text", "hi", "delayMs", 5),
		S("press", "selector", "#notes", "key", "End"),
		S("press", "key", "Tab"),
		S("hover", "selector", "#go"),
		S("click", "selector", "#go", "button", "left", "clickCount", 1),
		S("check", "selector", "#agree"),
		S("uncheck", "selector", "#agree"),
		S("select", "selector", "#color", "value", "blue"),
		S("select", "selector", "#many", "values", []string{"a", "b"}),
		S("scroll", "selector", "#bottom"),
		S("scroll", "x", 0, "y", 100),
		S("wait", "ms", 10),
		S("extract", "selector", "#out", "what", "text"),
		S("extract", "selector", "#h", "what", "attribute", "attribute", "data-kind"),
		S("extract", "selector", "#many option", "what", "html", "all", true),
		S("evaluate", "expression", "document.title"),
		S("screenshot", "name", "form", "fullPage", true),
		S("screenshot", "name", "heading", "selector", "#h"),
		S("pdf", "name", "form"),
		S("click", "selector", "#next"),
		S("waitForURL", "url", "**/done"),
	}
	var out api.ActionsResponse
	sc.json("POST", "/sessions/"+id+"/actions", api.ActionsRequest{Steps: testkit.RawSteps(run...)},
		http.StatusOK, &out)
	if len(out.Results) != len(run) {
		t.Fatalf("%d results for %d steps", len(out.Results), len(run))
	}
	for i, r := range out.Results {
		if r.Status != api.StepOK {
			t.Errorf("step %d %s: %s %+v", i, r.Action, r.Status, r.Error)
		}
	}
	checkOutputs(t, doc, out.Results)

	sc.json("POST", "/sessions/"+id+"/actions", api.ActionsRequest{Steps: testkit.RawSteps(
		S("waitForSelector", "selector", "#missing", "timeoutMs", 300),
		S("hover", "selector", "p"))}, http.StatusOK, &out)
	if len(out.Results) != 2 || out.Results[0].Status != api.StepFailed ||
		out.Results[0].Error == nil || out.Results[0].Error.Code != steps.CodeTimeout ||
		out.Results[1].Status != api.StepSkipped {
		t.Errorf("failing run: %+v", out.Results)
	}

	sc.refused(jsonCall(t, "POST", "/sessions/"+id+"/actions", api.ActionsRequest{}),
		http.StatusBadRequest, "invalid_field", "steps")
	sc.refused(jsonCall(t, "POST", "/sessions/"+id+"/actions", map[string]any{
		"steps": []any{S("click", "selector", "#go", "clickCount", 0)}}),
		http.StatusBadRequest, "invalid_field", "steps[0].clickCount")
	sc.failed(wsCall(t, id, "x"), http.StatusConflict, "wrong_mode")
}

// checkOutputs validates the outputs that have a schema and a few values.
func checkOutputs(t *testing.T, doc *openapi3.T, results []api.StepResult) {
	schemas := map[string]string{"goto": "GotoOutput", "screenshot": "ScreenshotOutput",
		"pdf": "PDFOutput"}
	for _, r := range results {
		name, ok := schemas[r.Action]
		if !ok {
			continue
		}
		var v any
		if err := json.Unmarshal(mustJSON(t, r.Output), &v); err != nil {
			t.Fatal(err)
		}
		if err := doc.Components.Schemas[name].Value.VisitJSON(v); err != nil {
			t.Errorf("step %d %s: output %v does not match %s: %v", r.Index, r.Action, v, name, err)
		}
	}
	want := map[int]any{16: "clicked", 17: "greeting", 18: []any{"a", "b", "c"}, 19: "Form"}
	for i, w := range want {
		var got any
		_ = json.Unmarshal(mustJSON(t, results[i].Output), &got)
		if !reflect.DeepEqual(got, w) {
			t.Errorf("step %d %s: output %v, want %v", i, results[i].Action, got, w)
		}
	}
}

func checkArtifactsAndLogs(t *testing.T, sc *specClient, id string) {
	var list worker.ArtifactList
	sc.json("GET", "/artifacts?session="+id, nil, http.StatusOK, &list)
	shot := findArtifact(t, list.Artifacts, "screenshots/form.png")
	findArtifact(t, list.Artifacts, "pdf/form.pdf")

	path := "/artifacts/" + id + "/" + url.PathEscape(shot.Name)
	res := sc.do(call{method: "GET", path: path}, http.StatusOK)
	sum := sha256.Sum256(res.body)
	if hex.EncodeToString(sum[:]) != shot.SHA256 || res.header.Get("Content-Type") != "image/png" {
		t.Errorf("download: sha256 %x, type %s; listed %s",
			sum, res.header.Get("Content-Type"), shot.SHA256)
	}
	part := sc.do(call{method: "GET", path: path, header: http.Header{"Range": {"bytes=0-7"}}},
		http.StatusPartialContent)
	if !bytes.Equal(part.body, res.body[:8]) {
		t.Errorf("range 0-7 = %x, want %x", part.body, res.body[:8])
	}
	// The listed URL keeps the slashes of the name; it serves the same file.
	status, body := sc.rawGet(t, shot.URL)
	if status != http.StatusOK || !bytes.Equal(body, res.body) {
		t.Errorf("GET %s: status %d, %d bytes; want the %d bytes above",
			shot.URL, status, len(body), len(res.body))
	}
	sc.failed(call{method: "GET", path: "/artifacts/" + id + "/screenshots%2Fnone.png"},
		http.StatusNotFound, "not_found")

	var logs worker.Logs
	sc.json("GET", "/logs?session="+id, nil, http.StatusOK, &logs)
	if len(logs.Console) == 0 || len(logs.Network) == 0 {
		t.Errorf("logs: %d console and %d network records", len(logs.Console), len(logs.Network))
	}
	sc.json("GET", "/logs?session="+id+"&kind=console&offset=0&limit=1", nil, http.StatusOK, &logs)
	if len(logs.Console) != 1 || len(logs.Network) != 0 {
		t.Errorf("console page: %d console and %d network records", len(logs.Console), len(logs.Network))
	}
}

// rawGet fetches a path as it is, without spec validation.
func (sc *specClient) rawGet(t *testing.T, path string) (int, []byte) {
	t.Helper()
	res := sc.send(call{method: "GET", path: path})
	return res.status, res.body
}

func findArtifact(t *testing.T, list []artifact.Artifact, name string) artifact.Artifact {
	t.Helper()
	for _, a := range list {
		if a.Name == name {
			return a
		}
	}
	t.Fatalf("no artifact %s in %+v", name, list)
	return artifact.Artifact{}
}

// checkDirect creates a Direct session, fills the worker, and connects to
// the session's websocket.
func checkDirect(t *testing.T, sc *specClient) {
	var s api.Session
	sc.json("POST", "/sessions", api.CreateSessionRequest{Mode: api.ModeDirect, Engine: "chromium"},
		http.StatusCreated, &s)
	u, err := url.Parse(s.WSEndpoint)
	if err != nil || u.Query().Get("token") == "" {
		t.Fatalf("wsEndpoint %q: %v", s.WSEndpoint, err)
	}

	// Two sessions run: the worker is full.
	res := sc.failed(jsonCall(t, "POST", "/sessions", api.CreateSessionRequest{Mode: api.ModeManaged,
		Engine: "chromium"}), http.StatusTooManyRequests, "capacity")
	if res.header.Get("Retry-After") == "" {
		t.Errorf("429 without Retry-After")
	}

	token := u.Query().Get("token")
	sc.failed(wsCall(t, s.ID, "wrong"), http.StatusUnauthorized, "token_invalid")
	ws := sc.do(wsCall(t, s.ID, token), http.StatusSwitchingProtocols)
	sc.failed(wsCall(t, s.ID, token), http.StatusConflict, "client_connected")
	if err := ws.conn.Close(); err != nil {
		t.Errorf("close websocket: %v", err)
	}

	end := waitEnded(t, sc, s.ID)
	if end.Reason != api.ReasonClientClosed {
		t.Errorf("direct session ended %s/%s, want client_closed", end.State, end.Reason)
	}
	if end.WSEndpoint != "" {
		t.Errorf("GET shows the wsEndpoint %q", end.WSEndpoint)
	}
}

func waitEnded(t *testing.T, sc *specClient, id string) api.Session {
	deadline := time.Now().Add(time.Minute)
	for {
		var s api.Session
		sc.json("GET", "/sessions/"+id, nil, http.StatusOK, &s)
		if s.State.Ended() {
			return s
		}
		if time.Now().After(deadline) {
			t.Fatalf("session %s has not ended after a minute: %s", id, s.State)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// checkEnded ends the Managed session and checks what an ended session
// refuses and keeps.
func checkEnded(t *testing.T, sc *specClient, id string) {
	var s api.Session
	sc.json("DELETE", "/sessions/"+id, nil, http.StatusOK, &s)
	if s.State != api.StateKilled || s.Reason != api.ReasonKilled {
		t.Errorf("deleted session is %s/%s", s.State, s.Reason)
	}
	sc.failed(jsonCall(t, "POST", "/sessions/"+id+"/actions",
		api.ActionsRequest{Steps: testkit.RawSteps(testkit.Step("wait", "ms", 1))}),
		http.StatusConflict, "session_ended")
	sc.failed(call{method: "DELETE", path: "/sessions/" + id}, http.StatusConflict, "session_ended")

	var list worker.ArtifactList
	sc.json("GET", "/artifacts?session="+id, nil, http.StatusOK, &list)
	har := findArtifact(t, list.Artifacts, artifact.HARName)
	findArtifact(t, list.Artifacts, "screenshots/final.png")
	sc.do(call{method: "GET", path: "/artifacts/" + id + "/" + har.Name}, http.StatusOK)
}

// checkDirectDisabled checks the websocket of a worker with Direct mode off.
func checkDirectDisabled(t *testing.T, doc *openapi3.T) {
	w := testkit.StartWorker(t, testkit.Env{"ALLOW_DIRECT": "false"})
	sc := newSpecClient(t, doc, w)
	sc.failed(wsCall(t, unknownID, "x"), http.StatusForbidden, "direct_disabled")
	sc.failed(jsonCall(t, "POST", "/sessions", map[string]any{"mode": "direct", "engine": "chromium"}),
		http.StatusForbidden, "direct_disabled")
}
