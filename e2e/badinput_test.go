package e2e

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/camo-fleet/camo-fleet/internal/api"
	"github.com/camo-fleet/camo-fleet/internal/testkit"
)

// badRequest is one malformed request and the answer it must get.
type badRequest struct {
	name        string
	contentType string // "" means application/json
	body        string
	status      int
	field       string // the field the error must name; "" when none is to blame
}

// maxBody is the MAX_BODY_BYTES of the bad-input worker.
const maxBody = 4096

// chromiumWith is a create body for a Managed Chromium session plus fields.
func chromiumWith(fields string) string {
	return `{"mode":"managed","engine":"chromium"` + fields + `}`
}

// createCases are bodies POST /sessions must refuse before anything starts.
var createCases = []badRequest{
	{"unknown field", "", chromiumWith(`,"colour":"red"`), 400, "colour"},
	{"string for a number", "", chromiumWith(`,"idleTtlSec":"60"`), 400, "idleTtlSec"},
	{"number too big for its type", "", chromiumWith(`,"idleTtlSec":1e400`), 400, "idleTtlSec"},
	{"nested wrong type", "", chromiumWith(`,"viewport":{"width":"800","height":600}`), 400,
		"viewport.width"},
	{"boolean for an object", "", chromiumWith(`,"record":true`), 400, "record"},
	{"object for a list", "", chromiumWith(`,"steps":{}`), 400, "steps"},
	{"unknown engine", "", `{"mode":"managed","engine":"netscape"}`, 400, "engine"},
	{"engine in capitals", "", `{"mode":"managed","engine":"CHROMIUM"}`, 400, "engine"},
	{"no engine", "", `{"mode":"managed"}`, 400, "engine"},
	{"unknown mode", "", `{"mode":"remote","engine":"chromium"}`, 400, "mode"},
	{"no mode", "", `{"engine":"chromium"}`, 400, "mode"},
	{"null body", "", `null`, 400, "mode"},
	{"steps on a direct session", "", `{"mode":"direct","engine":"chromium",` +
		`"steps":[{"action":"goto","url":"http://127.0.0.1/"}]}`, 400, "steps"},
	{"closeWhenDone on a direct session", "",
		`{"mode":"direct","engine":"chromium","closeWhenDone":true}`, 400, "closeWhenDone"},
	{"closeWhenDone without steps", "", chromiumWith(`,"closeWhenDone":true`), 400,
		"closeWhenDone"},
	{"viewport too narrow", "", chromiumWith(`,"viewport":{"width":50,"height":600}`), 400,
		"viewport.width"},
	{"viewport too tall", "", chromiumWith(`,"viewport":{"width":800,"height":99999}`), 400,
		"viewport.height"},
	{"negative idle TTL", "", chromiumWith(`,"idleTtlSec":-1`), 400, "idleTtlSec"},
	{"lifetime too long", "", chromiumWith(`,"maxDurationSec":99999999`), 400, "maxDurationSec"},
	{"bad label key", "", chromiumWith(`,"labels":{"bad key!":"x"}`), 400, "labels.bad key!"},
	{"step without its url", "", chromiumWith(`,"steps":[{"action":"goto"}]`), 400,
		"steps[0].url"},
	{"evaluate disabled (ALLOW_EVALUATE=false)", "", chromiumWith(`,"steps":[` +
		`{"action":"goto","url":"http://127.0.0.1/"},{"action":"evaluate","expression":"1"}]`),
		400, "steps[1].action"},
	{"pdf on firefox", "",
		`{"mode":"managed","engine":"firefox","steps":[{"action":"pdf","name":"p"}]}`, 400,
		"steps[0].action"},
	{"too large (MAX_BODY_BYTES)", "",
		chromiumWith(`,"labels":{"a":"` + strings.Repeat("x", maxBody) + `"}`), 413, "body"},
	{"malformed JSON", "", `{"mode":"managed",`, 400, "body"},
	{"trailing comma", "", `{"mode":"managed","engine":"chromium",}`, 400, "body"},
	{"two objects", "", `{"mode":"managed","engine":"chromium"}{}`, 400, "body"},
	{"array", "", `[]`, 400, "body"},
	{"empty body", "", ``, 400, "body"},
	{"text/plain", "text/plain", chromiumWith(""), 400, "Content-Type"},
	{"form", "application/x-www-form-urlencoded", `mode=managed&engine=chromium`, 400,
		"Content-Type"},
}

// actionCases are bodies POST /sessions/{id}/actions must refuse on a
// running Managed session.
var actionCases = []badRequest{
	{"unknown field", "", `{"steps":[{"action":"wait","ms":1}],"then":"close"}`, 400, "then"},
	{"no steps", "", `{}`, 400, "steps"},
	{"empty steps", "", `{"steps":[]}`, 400, "steps"},
	{"steps not a list", "", `{"steps":"goto"}`, 400, "steps"},
	{"step not an object", "", `{"steps":[1]}`, 400, "steps[0]"},
	{"unknown action", "", `{"steps":[{"action":"teleport"}]}`, 400, "steps[0].action"},
	{"no action", "", `{"steps":[{"url":"http://127.0.0.1/"}]}`, 400, "steps[0].action"},
	{"unknown parameter", "", `{"steps":[{"action":"goto","url":"http://127.0.0.1/","bogus":1}]}`,
		400, "steps[0].bogus"},
	{"parameter of the wrong type", "", `{"steps":[{"action":"click","selector":5}]}`, 400,
		"steps[0].selector"},
	{"timeout not a number", "", `{"steps":[{"action":"wait","ms":1,"timeoutMs":"x"}]}`, 400,
		"steps[0].timeoutMs"},
	{"timeout zero", "", `{"steps":[{"action":"wait","ms":1,"timeoutMs":0}]}`, 400,
		"steps[0].timeoutMs"},
	{"wait longer than its timeout", "", `{"steps":[{"action":"wait","ms":5000,"timeoutMs":100}]}`,
		400, "steps[0].ms"},
	{"bad second step", "",
		`{"steps":[{"action":"wait","ms":1},{"action":"extract","selector":"p"}]}`, 400,
		"steps[1].what"},
	{"evaluate disabled (ALLOW_EVALUATE=false)", "",
		`{"steps":[{"action":"evaluate","expression":"1"}]}`, 400, "steps[0].action"},
	{"too large (MAX_BODY_BYTES)", "", `{"steps":[{"action":"wait","ms":1,"x":"` +
		strings.Repeat("x", maxBody) + `"}]}`, 413, "body"},
	{"malformed JSON", "", `{"steps":[`, 400, "body"},
	{"empty body", "", ``, 400, "body"},
	{"text/plain", "text/plain", `{"steps":[{"action":"wait","ms":1}]}`, 400, "Content-Type"},
}

// sendRaw posts a raw body with a content type ("" for application/json).
func sendRaw(t *testing.T, base, path string, c badRequest) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest("POST", base+path, strings.NewReader(c.body))
	if err != nil {
		t.Fatal(err)
	}
	ct := c.contentType
	if ct == "" {
		ct = "application/json"
	}
	req.Header.Set("Content-Type", ct)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, body
}

// TestBadInput sends malformed and refused requests to the Worker API:
// each gets a 4xx with a JSON error body naming the field to blame, never a
// 500; no session is created and no process is started for them; the
// sessions that do run are unharmed.
func TestBadInput(t *testing.T) {
	w := testkit.StartWorker(t, testkit.Env{"ALLOW_EVALUATE": "false",
		"MAX_BODY_BYTES": "4096"})
	for _, c := range createCases {
		t.Run("create/"+c.name, func(t *testing.T) {
			status, body := sendRaw(t, w.Base, "/sessions", c)
			refused(t, status, body, c.status, c.field)
		})
	}
	t.Run("no session or process left", func(t *testing.T) {
		var list api.SessionList
		w.JSON("GET", "/sessions", nil, &list)
		if len(list.Sessions) != 0 {
			t.Errorf("refused creates left sessions: %s", asJSON(list.Sessions))
		}
		noLeftovers(t, w)
	})
	t.Run("unknown session", func(t *testing.T) { checkUnknownSession(t, w) })
	forEngine(t, w, func(t *testing.T, w *testkit.Worker, engine string) {
		s := newManaged(t, w, engine, api.Record{})
		for _, c := range actionCases {
			status, body := sendRaw(t, w.Base, "/sessions/"+s.ID+"/actions", c)
			t.Run("actions/"+c.name, func(t *testing.T) {
				refused(t, status, body, c.status, c.field)
			})
		}
		res := stepsOK(t, w.Client, s.ID, testkit.Step("goto", "url", "about:blank"))
		if res[0].Index != 0 {
			t.Errorf("refused runs left step results: the first real step is %d", res[0].Index)
		}
		endSession(t, w, s.ID)

		d := w.Create(api.CreateSessionRequest{Mode: api.ModeDirect, Engine: engine})
		status, body := w.Do("POST", "/sessions/"+d.ID+"/actions",
			map[string]any{"steps": []any{testkit.Step("goto", "url", "about:blank")}})
		if e := refused(t, status, body, http.StatusConflict, ""); e.Error.Code != "wrong_mode" {
			t.Errorf("steps on a direct session: %s, want code wrong_mode", body)
		}
		endSession(t, w, d.ID)
	})
}

// checkUnknownSession: every session route answers 404 with a JSON error
// for a session that does not exist.
func checkUnknownSession(t *testing.T, w *testkit.Worker) {
	const id = "0123456789abcdef0123"
	for _, r := range []struct{ method, path string }{
		{"GET", "/sessions/" + id},
		{"DELETE", "/sessions/" + id},
		{"POST", "/sessions/" + id + "/actions"},
		{"POST", "/sessions/not-an-id/actions"},
		{"GET", "/artifacts?session=" + id},
		{"GET", "/artifacts/" + id + "/session.har"},
		{"GET", "/logs?session=" + id},
	} {
		var body any
		if r.method == "POST" {
			body = map[string]any{"steps": []any{testkit.Step("wait", "ms", 1)}}
		}
		status, raw := w.Do(r.method, r.path, body)
		if e := refused(t, status, raw, http.StatusNotFound, ""); e.Error.Code != "not_found" {
			t.Errorf("%s %s: %s, want code not_found", r.method, r.path, raw)
		}
	}
}
