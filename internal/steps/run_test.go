package steps

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/camo-fleet/camo-fleet/internal/api"
	"github.com/mxschmitt/playwright-go"
)

// gotoHome opens the home page of the test site.
const gotoHome = `{"action":"goto","url":"{base}/"}`

// actionCase runs steps after gotoHome and checks the page and the output
// of the last step.
type actionCase struct {
	name  string
	steps []string
	check func(t *testing.T, env Env, st *store, out any)
}

// wantEval checks the value of an expression on the page.
func wantEval(expression string, want any) func(*testing.T, Env, *store, any) {
	return func(t *testing.T, env Env, _ *store, _ any) {
		t.Helper()
		if got := evalPage(t, env, expression); got != want {
			t.Errorf("%s = %#v, want %#v", expression, got, want)
		}
	}
}

// wantOutput checks the JSON encoding of the last step's output.
func wantOutput(want string) func(*testing.T, Env, *store, any) {
	return func(t *testing.T, _ Env, _ *store, out any) {
		t.Helper()
		got, err := json.Marshal(out)
		if err != nil {
			t.Fatalf("encode output %#v: %v", out, err)
		}
		if string(got) != strings.ReplaceAll(want, "{base}", baseURL) {
			t.Errorf("output = %s, want %s", got, want)
		}
	}
}

// wantScreenshot checks a screenshot's output against the stored PNG.
func wantScreenshot(
	artifact string, size func(w, h int) bool,
) func(*testing.T, Env, *store, any) {
	return func(t *testing.T, _ Env, st *store, out any) {
		t.Helper()
		o, ok := out.(ScreenshotOutput)
		if !ok || o.Artifact != artifact {
			t.Fatalf("output = %#v, want a ScreenshotOutput for %s", out, artifact)
		}
		w, h := decodePNG(t, st.file(t, artifact))
		if w != o.Width || h != o.Height || !size(w, h) {
			t.Errorf("PNG is %dx%d, output says %dx%d", w, h, o.Width, o.Height)
		}
	}
}

// valueOf is the expression of an element's value.
func valueOf(id string) string {
	return "document.getElementById('" + id + "').value"
}

// textOf is the expression of an element's text.
func textOf(id string) string {
	return "document.getElementById('" + id + "').textContent"
}

var actionCases = []actionCase{
	{"goto", []string{`{"action":"goto","url":"{base}/second","waitUntil":"domcontentloaded"}`},
		wantOutput(`{"url":"{base}/second","status":200}`)},
	{"goto about:blank", []string{`{"action":"goto","url":"about:blank"}`},
		wantOutput(`{"url":"about:blank","status":null}`)},
	{"click", []string{`{"action":"click","selector":"#btn"}`}, wantEval(textOf("btn"), "clicked")},
	{"double click", []string{`{"action":"click","selector":"#dbl","clickCount":2}`},
		wantEval(textOf("dbl"), "clicks:2")},
	{"fill", []string{`{"action":"fill","selector":"#name","value":"Ada"}`},
		wantEval(valueOf("name"), "Ada")},
	{"type", []string{`{"action":"type","selector":"#name","text":"Bob","delayMs":5}`},
		wantEval(valueOf("name"), "Bob")},
	{"press on element", []string{
		`{"action":"fill","selector":"#name","value":"x"}`,
		`{"action":"press","selector":"#name","key":"Enter"}`,
	}, wantEval(textOf("out"), "submitted:x")},
	{"press on keyboard", []string{`{"action":"press","key":"q"}`}, wantEval(textOf("key"), "q")},
	{"hover", []string{`{"action":"hover","selector":"#hover"}`},
		wantEval(textOf("hover"), "hovered")},
	{"check", []string{`{"action":"check","selector":"#agree"}`},
		wantEval("document.getElementById('agree').checked", true)},
	{"uncheck", []string{
		`{"action":"check","selector":"#agree"}`,
		`{"action":"uncheck","selector":"#agree"}`,
	}, wantEval("document.getElementById('agree').checked", false)},
	{"select value by label", []string{`{"action":"select","selector":"#color","value":"Green"}`},
		wantEval(valueOf("color"), "green")},
	{"select values", []string{`{"action":"select","selector":"#colors","values":["red","blue"]}`},
		wantEval("[...document.querySelectorAll('#colors option:checked')]"+
			".map(o => o.value).join()", "red,blue")},
	{"waitForSelector", []string{
		`{"action":"goto","url":"{base}/late"}`,
		`{"action":"waitForSelector","selector":"#late"}`,
	}, wantEval(textOf("late"), "here")},
	{"waitForSelector hidden", []string{`{"action":"waitForSelector","selector":"#never",` +
		`"state":"hidden","timeoutMs":2000}`}, wantOutput(`null`)},
	{"waitForURL glob", []string{
		`{"action":"click","selector":"#link"}`,
		`{"action":"waitForURL","url":"**/second"}`,
	}, wantEval("location.pathname", "/second")},
	{"waitForURL exact", []string{
		`{"action":"click","selector":"#link"}`,
		`{"action":"waitForURL","url":"{base}/second","waitUntil":"domcontentloaded"}`,
	}, wantEval("document.title", "Second")},
	{"waitForLoadState", []string{`{"action":"waitForLoadState","state":"networkidle"}`},
		wantEval("document.readyState", "complete")},
	{"wait", []string{`{"action":"wait","ms":50}`}, wantOutput(`null`)},
	{"scroll to y", []string{`{"action":"scroll","y":1000}`}, wantEval("window.scrollY", 1000)},
	{"scroll to selector", []string{`{"action":"scroll","selector":"#bottom"}`},
		wantEval("window.scrollY > 2000", true)},
	{"screenshot", []string{`{"action":"screenshot","name":"home.png"}`},
		wantScreenshot("screenshots/home.png", func(w, h int) bool { return w == 800 && h == 600 })},
	// Firefox leaves the 12px of the scroll bar out of a full-page capture.
	{"screenshot full page", []string{`{"action":"screenshot","name":"full","fullPage":true}`},
		wantScreenshot("screenshots/full.png", func(w, h int) bool { return w > 780 && h > 3000 })},
	{"screenshot element", []string{`{"action":"screenshot","name":"btn","selector":"#btn"}`},
		wantScreenshot("screenshots/btn.png", func(w, h int) bool { return w < 200 && h < 100 })},
	{"extract text", []string{`{"action":"extract","selector":"#heading","what":"text"}`},
		wantOutput(`"Hello steps"`)},
	{"extract html", []string{`{"action":"extract","selector":"#heading","what":"html"}`},
		wantOutput(`"Hello \u003cb\u003esteps\u003c/b\u003e"`)},
	{"extract attribute", []string{
		`{"action":"extract","selector":"#link","what":"attribute","attribute":"href"}`,
	}, wantOutput(`"/second"`)},
	{"extract missing attribute", []string{
		`{"action":"extract","selector":"#link","what":"attribute","attribute":"title"}`,
	}, wantOutput(`""`)},
	{"extract all text", []string{`{"action":"extract","selector":".item","what":"text","all":true}`},
		wantOutput(`["One","Two","Three"]`)},
	{"extract all html", []string{`{"action":"extract","selector":"h1 b","what":"html","all":true}`},
		wantOutput(`["steps"]`)},
	{"extract all attributes", []string{
		`{"action":"extract","selector":".item","what":"attribute","attribute":"data-n","all":true}`,
	}, wantOutput(`["1","2","3"]`)},
	{"extract all of nothing", []string{`{"action":"extract","selector":".none","what":"text",` +
		`"all":true}`}, wantOutput(`[]`)},
	{"evaluate", []string{`{"action":"evaluate","expression":"document.title"}`},
		wantOutput(`"Steps test"`)},
	{"evaluate object", []string{
		`{"action":"evaluate","expression":"({n: 1.5, list: [true, null, 'x'], nested: {a: 2}})"}`,
	}, wantOutput(`{"list":[true,null,"x"],"n":1.5,"nested":{"a":2}}`)},
	{"evaluate function", []string{`{"action":"evaluate","expression":"() => 6 * 7"}`},
		wantOutput(`42`)},
	{"evaluate undefined", []string{`{"action":"evaluate","expression":"undefined"}`},
		wantOutput(`null`)},
}

// TestActions runs the cases one after the other on one page per engine:
// opening a page costs about a second here, and gotoHome resets the page.
func TestActions(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *engine) {
		env, st := newEnv(t, e)
		for _, tc := range actionCases {
			t.Run(tc.name, func(t *testing.T) {
				out := runOK(t, env, append([]string{gotoHome}, tc.steps...)...)
				tc.check(t, env, st, out)
			})
		}
	})
}

func TestPDF(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *engine) {
		if e.name != "chromium" {
			_, err := Parse(rawSteps(`{"action":"pdf","name":"p"}`), testLimits(e.name))
			if fe, ok := err.(*FieldError); !ok || fe.Code != CodeUnsupportedByEngine {
				t.Fatalf("Parse = %v, want UNSUPPORTED_BY_ENGINE", err)
			}
			return
		}
		env, st := newEnv(t, e)
		out := runOK(t, env, gotoHome, `{"action":"pdf","name":"Home page.pdf"}`)
		if o, ok := out.(PDFOutput); !ok || o.Artifact != "pdfs/Home-page.pdf" {
			t.Fatalf("output = %#v, want pdfs/Home-page.pdf", out)
		}
		if data := st.file(t, "pdfs/Home-page.pdf"); !strings.HasPrefix(string(data), "%PDF-") {
			t.Errorf("stored file is not a PDF: %.20q", data)
		}
	})
}

func TestPDFOnOtherEngine(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *engine) {
		if e.name == "chromium" {
			t.Skip("pdf runs on chromium")
		}
		env, _ := newEnv(t, e)
		steps, err := Parse(rawSteps(`{"action":"pdf","name":"p"}`), testLimits("chromium"))
		if err != nil {
			t.Fatal(err)
		}
		wantFailure(t, Run(context.Background(), env, 0, steps[0]), CodeUnsupportedByEngine)
	})
}

func TestFailures(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *engine) {
		tests := []struct {
			name   string
			step   string
			code   string
			inText string
		}{
			{"missing element", `{"action":"click","selector":"#missing","timeoutMs":500}`,
				CodeTimeout, "500ms"},
			{"page exception", `{"action":"evaluate","expression":"(() => { throw new Error('boom') })()"}`,
				CodeEvaluateError, "boom"},
			{"syntax error", `{"action":"evaluate","expression":"1 +"}`, CodeEvaluateError, ""},
			{"not JSON", `{"action":"evaluate","expression":"NaN"}`, CodeEvaluateError,
				"not JSON"},
			{"never settles", `{"action":"evaluate","expression":"new Promise(() => {})",` +
				`"timeoutMs":300}`, CodeTimeout, "timed out"},
			{"check fails", `{"action":"check","selector":"#btn","timeoutMs":2000}`,
				CodeStepFailed, ""},
		}
		env, _ := newEnv(t, e)
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				runOK(t, env, gotoHome)
				start := time.Now()
				res := runOne(context.Background(), t, env, tc.step)
				wantFailure(t, res, tc.code)
				if !strings.Contains(res.Error.Message, tc.inText) {
					t.Errorf("message %q does not mention %q", res.Error.Message, tc.inText)
				}
				if d := time.Since(start); d > 5*time.Second {
					t.Errorf("failure took %s", d)
				}
			})
		}
	})
}

func TestGotoClosedPort(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *engine) {
		env, _ := newEnv(t, e)
		res := runOne(context.Background(), t, env, `{"action":"goto","url":"`+closedPortURL(t)+`"}`)
		wantFailure(t, res, CodeNavigationFailed)
		if !strings.Contains(res.Error.Message, refusedText[e.name]) {
			t.Errorf("message %q does not mention %q", res.Error.Message, refusedText[e.name])
		}
	})
}

// refusedText is what each engine says of a refused connection: Firefox
// over WebDriver BiDi only says "unknown error".
var refusedText = map[string]string{"chromium": "net::ERR_CONNECTION_REFUSED", "firefox": ""}

// closedPortURL returns the URL of a local port nothing listens on.
func closedPortURL(t *testing.T) string {
	t.Helper()
	return "http://127.0.0.1:" + closedPort(t) + "/"
}

func TestRunAllSkipsAfterFailure(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *engine) {
		env, _ := newEnv(t, e)
		steps := parseSteps(t, e.name, gotoHome,
			`{"action":"click","selector":"#missing","timeoutMs":300}`,
			`{"action":"click","selector":"#btn"}`,
			`{"action":"wait","ms":10}`)
		var seen []api.StepResult
		results := RunAll(context.Background(), env, steps, func(r api.StepResult) {
			seen = append(seen, r)
		})

		want := []api.StepStatus{api.StepOK, api.StepFailed, api.StepSkipped, api.StepSkipped}
		for i, r := range results {
			if r.Index != i || r.Action != steps[i].Action || r.Status != want[i] {
				t.Errorf("result %d = %d %s %s, want %s", i, r.Index, r.Action, r.Status, want[i])
			}
		}
		if len(seen) != len(results) {
			t.Errorf("onResult saw %d results, want %d", len(seen), len(results))
		}
		if got := evalPage(t, env, textOf("btn")); got != "Click me" {
			t.Errorf("a skipped step ran: button says %q", got)
		}
	})
}

func TestCancel(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *engine) {
		tests := []struct {
			name string
			step string
		}{
			{"waiting for an element", `{"action":"waitForSelector","selector":"#never",` +
				`"timeoutMs":20000}`},
			{"sleeping", `{"action":"wait","ms":20000,"timeoutMs":30000}`},
			{"evaluating", `{"action":"evaluate","expression":"new Promise(() => {})"}`},
		}
		env, _ := newEnv(t, e)
		for _, tc := range tests {
			t.Run(tc.name, func(t *testing.T) {
				runOK(t, env, gotoHome)
				ctx, cancel := context.WithCancel(context.Background())
				time.AfterFunc(200*time.Millisecond, cancel)
				start := time.Now()
				wantFailure(t, runOne(ctx, t, env, tc.step), CodeCancelled)
				if d := time.Since(start); d > 2*time.Second {
					t.Errorf("cancelled step took %s", d)
				}
			})
		}
	})
}

func TestCancelledBeforeStart(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *engine) {
		env, _ := newEnv(t, e)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		results := RunAll(ctx, env, parseSteps(t, e.name, gotoHome, gotoHome), nil)
		wantFailure(t, results[0], CodeCancelled)
		if results[1].Status != api.StepSkipped {
			t.Errorf("second step is %s, want skipped", results[1].Status)
		}
	})
}

func TestDeadline(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *engine) {
		env, _ := newEnv(t, e)
		runOK(t, env, gotoHome)
		ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
		defer cancel()
		start := time.Now()
		res := runOne(ctx, t, env, `{"action":"waitForSelector","selector":"#never",`+
			`"timeoutMs":20000}`)
		wantFailure(t, res, CodeTimeout)
		if d := time.Since(start); d > 2*time.Second {
			t.Errorf("step past the deadline took %s", d)
		}
	})
}

func TestPageClosedMidRun(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *engine) {
		env, _ := newEnv(t, e)
		steps := parseSteps(t, e.name, gotoHome,
			`{"action":"waitForSelector","selector":"#never","timeoutMs":20000}`,
			`{"action":"click","selector":"#btn"}`)
		start := time.Now()
		results := RunAll(context.Background(), env, steps, func(r api.StepResult) {
			if r.Index == 0 { // the wait for #never starts now
				time.AfterFunc(300*time.Millisecond, func() { _ = env.Page.Close() })
			}
		})
		wantFailure(t, results[1], CodeBrowserClosed)
		if results[2].Status != api.StepSkipped {
			t.Errorf("step after the close is %s, want skipped", results[2].Status)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Errorf("run took %s", d)
		}
		wantFailure(t, Run(context.Background(), env, 0, steps[2]), CodeBrowserClosed)
	})
}

func TestSaveFails(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *engine) {
		env, st := newEnv(t, e)
		st.fail = errSaveFailed
		res := RunAll(context.Background(), env, parseSteps(t, e.name, gotoHome,
			`{"action":"screenshot","name":"home"}`), nil)
		wantFailure(t, res[1], CodeArtifactError)
		if !strings.Contains(res[1].Error.Message, "disk full") {
			t.Errorf("message %q does not say why", res[1].Error.Message)
		}
	})
}

// titleAfterAlert reads the title once the alert's click handler has run
// to its end, which it cannot do while the alert is open.
const titleAfterAlert = `new Promise(done => { const poll = () => ` +
	`document.title === 'after alert' ? done(document.title) : setTimeout(poll, 20); poll(); })`

func TestDialogDoesNotHang(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *engine) {
		env, _ := newEnv(t, e)
		// The browser side dismisses dialogs in production; this stands in.
		env.Page.OnDialog(func(d playwright.Dialog) { _ = d.Dismiss() })
		out := runOK(t, env, gotoHome,
			`{"action":"click","selector":"#alert-btn","timeoutMs":5000}`,
			`{"action":"evaluate","expression":"`+titleAfterAlert+`","timeoutMs":5000}`)
		if got, _ := json.Marshal(out); string(got) != `"after alert"` {
			t.Errorf("title = %s, want \"after alert\"", got)
		}
	})
}

func TestStepNotParsed(t *testing.T) {
	eachEngine(t, func(t *testing.T, e *engine) {
		env, _ := newEnv(t, e)
		wantFailure(t, Run(context.Background(), env, 3, Step{Action: "goto"}), CodeStepFailed)
	})
}
