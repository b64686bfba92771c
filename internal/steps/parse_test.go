package steps

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

// rawSteps turns JSON texts into raw steps.
func rawSteps(steps ...string) []json.RawMessage {
	raw := make([]json.RawMessage, len(steps))
	for i, s := range steps {
		raw[i] = json.RawMessage(s)
	}
	return raw
}

func TestParseValid(t *testing.T) {
	lim := Limits{AllowEvaluate: true, Engine: "chromium"}
	tests := []struct {
		name    string
		step    string
		timeout time.Duration
	}{
		{"goto", `{"action":"goto","url":"http://127.0.0.1:8000/"}`, DefaultTimeout},
		{"goto waitUntil", `{"action":"goto","url":"http://x/","waitUntil":"commit"}`, DefaultTimeout},
		{"click", `{"action":"click","selector":"#b","button":"right","clickCount":2}`, DefaultTimeout},
		{"fill", `{"action":"fill","selector":"#i","value":"x"}`, DefaultTimeout},
		{"fill empty value", `{"action":"fill","selector":"#i","value":""}`, DefaultTimeout},
		{"type", `{"action":"type","selector":"#i","text":"abc","delayMs":20}`, DefaultTimeout},
		{"press on element", `{"action":"press","selector":"#i","key":"Enter"}`, DefaultTimeout},
		{"press on keyboard", `{"action":"press","key":"Control+A"}`, DefaultTimeout},
		{"hover", `{"action":"hover","selector":"#h"}`, DefaultTimeout},
		{"check", `{"action":"check","selector":"#c"}`, DefaultTimeout},
		{"uncheck", `{"action":"uncheck","selector":"#c"}`, DefaultTimeout},
		{"select values", `{"action":"select","selector":"#s","values":["a","b"]}`, DefaultTimeout},
		{"select value", `{"action":"select","selector":"#s","value":"a"}`, DefaultTimeout},
		{"waitForSelector", `{"action":"waitForSelector","selector":"#x","state":"detached"}`,
			DefaultTimeout},
		{"waitForURL", `{"action":"waitForURL","url":"**/done"}`, DefaultTimeout},
		{"waitForLoadState", `{"action":"waitForLoadState","state":"networkidle"}`, DefaultTimeout},
		{"waitForLoadState default", `{"action":"waitForLoadState"}`, DefaultTimeout},
		{"wait", `{"action":"wait","ms":250,"timeoutMs":1000}`, time.Second},
		{"scroll to selector", `{"action":"scroll","selector":"#bottom"}`, DefaultTimeout},
		{"scroll to y", `{"action":"scroll","y":400}`, DefaultTimeout},
		{"screenshot", `{"action":"screenshot","name":"home","fullPage":true}`, DefaultTimeout},
		{"screenshot element", `{"action":"screenshot","name":"b","selector":"#b"}`,
			DefaultTimeout},
		{"extract text", `{"action":"extract","selector":"h1","what":"text"}`, DefaultTimeout},
		{"extract attribute all",
			`{"action":"extract","selector":"a","what":"attribute","attribute":"href","all":true}`,
			DefaultTimeout},
		{"evaluate", `{"action":"evaluate","expression":"document.title"}`, DefaultTimeout},
		{"pdf", `{"action":"pdf","name":"page"}`, DefaultTimeout},
		{"timeout", `{"action":"hover","selector":"#h","timeoutMs":600000}`, 10 * time.Minute},
		{"null timeout", `{"action":"hover","selector":"#h","timeoutMs":null}`, DefaultTimeout},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			steps, err := Parse(rawSteps(tc.step), lim)
			if err != nil {
				t.Fatalf("Parse: %v", err)
			}
			var head struct{ Action string }
			_ = json.Unmarshal([]byte(tc.step), &head)
			if steps[0].Action != head.Action || steps[0].Timeout != tc.timeout {
				t.Errorf("step = %s %v, want %s %v",
					steps[0].Action, steps[0].Timeout, head.Action, tc.timeout)
			}
		})
	}
}

func TestParseInvalid(t *testing.T) {
	ok := `{"action":"hover","selector":"#h"}`
	tests := []struct {
		name   string
		lim    Limits
		steps  []string
		field  string
		reason string // a part of the reason
		code   string
	}{
		{"empty list", Limits{}, nil, "steps", "must not be empty", ""},
		{"too many", Limits{MaxSteps: 2}, []string{ok, ok, ok}, "steps", "at most 2", ""},
		{"not an object", Limits{}, []string{ok, `"goto"`}, "steps[1]", "JSON object", ""},
		{"null step", Limits{}, []string{`null`}, "steps[0]", "JSON object", ""},
		{"no action", Limits{}, []string{`{"url":"http://x/"}`}, "steps[0].action",
			"is required", ""},
		{"action not a string", Limits{}, []string{`{"action":1}`}, "steps[0].action",
			"must be a string", ""},
		{"unknown action", Limits{}, []string{ok, ok, `{"action":"fly"}`}, "steps[2].action",
			"not a known action", ""},
		{"unknown field", Limits{}, []string{`{"action":"goto","url":"http://x/","foo":1}`},
			"steps[0].foo", "not a parameter of goto", ""},
		{"field of another action", Limits{}, []string{`{"action":"hover","selector":"a","key":"x"}`},
			"steps[0].key", "not a parameter", ""},
		{"wrong case", Limits{}, []string{`{"action":"goto","URL":"http://x/"}`},
			"steps[0].URL", "not a parameter", ""},
		{"missing url", Limits{}, []string{ok, `{"action":"goto"}`}, "steps[1].url",
			"is required", ""},
		{"empty url", Limits{}, []string{`{"action":"goto","url":" "}`}, "steps[0].url",
			"is required", ""},
		{"url not a string", Limits{}, []string{`{"action":"goto","url":42}`}, "steps[0].url",
			"must be a string", ""},
		{"bad waitUntil", Limits{}, []string{`{"action":"goto","url":"http://x/","waitUntil":"idle"}`},
			"steps[0].waitUntil", "must be one of", ""},
		{"negative timeout", Limits{}, []string{`{"action":"hover","selector":"a","timeoutMs":-1}`},
			"steps[0].timeoutMs", "between 1 and 600000", ""},
		{"zero timeout", Limits{}, []string{`{"action":"hover","selector":"a","timeoutMs":0}`},
			"steps[0].timeoutMs", "between 1", ""},
		{"timeout over max", Limits{MaxTimeout: time.Second},
			[]string{`{"action":"hover","selector":"a","timeoutMs":1001}`},
			"steps[0].timeoutMs", "between 1 and 1000", ""},
		{"fractional timeout", Limits{}, []string{`{"action":"hover","selector":"a","timeoutMs":1.5}`},
			"steps[0].timeoutMs", "must be an integer", ""},
		{"timeout as string", Limits{}, []string{`{"action":"hover","selector":"a","timeoutMs":"5"}`},
			"steps[0].timeoutMs", "must be an integer", ""},
		{"missing selector", Limits{}, []string{`{"action":"click"}`}, "steps[0].selector",
			"is required", ""},
		{"bad button", Limits{}, []string{`{"action":"click","selector":"a","button":"back"}`},
			"steps[0].button", "one of left, right, middle", ""},
		{"clickCount zero", Limits{}, []string{`{"action":"click","selector":"a","clickCount":0}`},
			"steps[0].clickCount", "between 1 and 10", ""},
		{"clickCount not a number", Limits{},
			[]string{`{"action":"click","selector":"a","clickCount":"2"}`},
			"steps[0].clickCount", "must be an integer", ""},
		{"fill without value", Limits{}, []string{`{"action":"fill","selector":"a"}`},
			"steps[0].value", "is required", ""},
		{"type without text", Limits{}, []string{`{"action":"type","selector":"a"}`},
			"steps[0].text", "is required", ""},
		{"type delay too long", Limits{},
			[]string{`{"action":"type","selector":"a","text":"x","delayMs":5000}`},
			"steps[0].delayMs", "between 0 and 1000", ""},
		{"press without key", Limits{}, []string{`{"action":"press","selector":"a"}`},
			"steps[0].key", "is required", ""},
		{"select without values", Limits{}, []string{`{"action":"select","selector":"s"}`},
			"steps[0].values", "is required", ""},
		{"select empty values", Limits{}, []string{`{"action":"select","selector":"s","values":[]}`},
			"steps[0].values", "must not be empty", ""},
		{"select values and value", Limits{},
			[]string{`{"action":"select","selector":"s","values":["a"],"value":"b"}`},
			"steps[0].value", "cannot be combined", ""},
		{"select values of numbers", Limits{},
			[]string{`{"action":"select","selector":"s","values":[1]}`},
			"steps[0].values", "must be an array of strings", ""},
		{"bad selector state", Limits{},
			[]string{`{"action":"waitForSelector","selector":"a","state":"gone"}`},
			"steps[0].state", "must be one of", ""},
		{"waitForURL without url", Limits{}, []string{`{"action":"waitForURL"}`},
			"steps[0].url", "is required", ""},
		{"bad load state", Limits{}, []string{`{"action":"waitForLoadState","state":"commit"}`},
			"steps[0].state", "must be one of", ""},
		{"wait without ms", Limits{}, []string{`{"action":"wait"}`}, "steps[0].ms",
			"is required", ""},
		{"negative wait", Limits{}, []string{`{"action":"wait","ms":-5}`}, "steps[0].ms",
			"between 0 and 30000", ""},
		{"wait over timeout", Limits{}, []string{`{"action":"wait","ms":2000,"timeoutMs":1000}`},
			"steps[0].ms", "between 0 and 1000", ""},
		{"scroll without target", Limits{}, []string{`{"action":"scroll"}`},
			"steps[0].selector", "unless x or y", ""},
		{"scroll selector and y", Limits{}, []string{`{"action":"scroll","selector":"a","y":5}`},
			"steps[0].y", "cannot be combined with selector", ""},
		{"scroll y not a number", Limits{}, []string{`{"action":"scroll","y":"5"}`},
			"steps[0].y", "must be a number", ""},
		{"screenshot without name", Limits{}, []string{`{"action":"screenshot"}`},
			"steps[0].name", "is required", ""},
		{"screenshot unsafe name", Limits{}, []string{`{"action":"screenshot","name":"../.."}`},
			"steps[0].name", "letter or a digit", ""},
		{"screenshot fullPage of element", Limits{},
			[]string{`{"action":"screenshot","name":"a","selector":"a","fullPage":true}`},
			"steps[0].fullPage", "cannot be combined", ""},
		{"fullPage not a boolean", Limits{},
			[]string{`{"action":"screenshot","name":"a","fullPage":"yes"}`},
			"steps[0].fullPage", "must be a boolean", ""},
		{"extract without what", Limits{}, []string{`{"action":"extract","selector":"a"}`},
			"steps[0].what", "is required", ""},
		{"extract bad what", Limits{}, []string{`{"action":"extract","selector":"a","what":"css"}`},
			"steps[0].what", "one of text, html, attribute", ""},
		{"extract attribute without name", Limits{},
			[]string{`{"action":"extract","selector":"a","what":"attribute"}`},
			"steps[0].attribute", "is required", ""},
		{"extract attribute with text", Limits{},
			[]string{`{"action":"extract","selector":"a","what":"text","attribute":"href"}`},
			"steps[0].attribute", "only valid", ""},
		{"evaluate disabled", Limits{}, []string{ok, `{"action":"evaluate","expression":"1"}`},
			"steps[1].action", "evaluate is disabled on this worker", CodeEvaluateDisabled},
		{"evaluate without expression", Limits{AllowEvaluate: true},
			[]string{`{"action":"evaluate"}`}, "steps[0].expression", "is required", ""},
		{"pdf on firefox", Limits{Engine: "firefox"}, []string{`{"action":"pdf","name":"p"}`},
			"steps[0].action", "only by chromium", CodeUnsupportedByEngine},
		{"pdf on camoufox", Limits{Engine: "camoufox"}, []string{`{"action":"pdf","name":"p"}`},
			"steps[0].action", "only by chromium", CodeUnsupportedByEngine},
		{"pdf without name", Limits{Engine: "chromium"}, []string{`{"action":"pdf"}`},
			"steps[0].name", "is required", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			steps, err := Parse(rawSteps(tc.steps...), tc.lim)
			var fe *FieldError
			if !errors.As(err, &fe) {
				t.Fatalf("Parse = %v, %v; want a *FieldError", steps, err)
			}
			if fe.Field != tc.field || !strings.Contains(fe.Reason, tc.reason) || fe.Code != tc.code {
				t.Errorf("error = %q %q %q, want %q containing %q, code %q",
					fe.Field, fe.Reason, fe.Code, tc.field, tc.reason, tc.code)
			}
		})
	}
}

func TestLimitsDefaults(t *testing.T) {
	tests := []struct {
		name string
		in   Limits
		want Limits
	}{
		{"zero", Limits{}, Limits{MaxSteps: 100, DefaultTimeout: 30 * time.Second,
			MaxTimeout: 10 * time.Minute}},
		{"default over max", Limits{DefaultTimeout: time.Hour, MaxTimeout: time.Minute},
			Limits{MaxSteps: 100, DefaultTimeout: time.Minute, MaxTimeout: time.Minute}},
		{"kept", Limits{MaxSteps: 5, DefaultTimeout: time.Second, MaxTimeout: time.Minute,
			AllowEvaluate: true, Engine: "firefox"},
			Limits{MaxSteps: 5, DefaultTimeout: time.Second, MaxTimeout: time.Minute,
				AllowEvaluate: true, Engine: "firefox"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.in.withDefaults(); got != tc.want {
				t.Errorf("withDefaults = %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestSafeName(t *testing.T) {
	tests := []struct {
		name, in, ext, want string
	}{
		{"plain", "home", "png", "home"},
		{"extension dropped", "home.PNG", "png", "home"},
		{"other extension kept", "home.pdf", "png", "home.pdf"},
		{"path", "../../etc/passwd", "png", "etc-passwd"},
		{"spaces and unicode", "page d'accueil é", "png", "page-d-accueil"},
		{"only dots", "...", "pdf", ""},
		{"long", strings.Repeat("a", 100), "png", strings.Repeat("a", maxNameLen)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := safeName(tc.in, tc.ext); got != tc.want {
				t.Errorf("safeName(%q) = %q, want %q", tc.in, got, tc.want)
			}
		})
	}
}
