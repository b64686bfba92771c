package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/camo-fleet/camo-fleet/internal/api"
	"github.com/camo-fleet/camo-fleet/internal/testkit"
)

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// matchLines checks that each pattern matches a line of out, in order.
func matchLines(t *testing.T, out string, patterns ...string) {
	t.Helper()
	lines := strings.Split(out, "\n")
	i := 0
	for _, p := range patterns {
		re := regexp.MustCompile(p)
		for i < len(lines) && !re.MatchString(lines[i]) {
			i++
		}
		if i == len(lines) {
			t.Fatalf("no line matching %q (in order) in:\n%s", p, out)
		}
		i++
	}
}

func TestRunYAML(t *testing.T) {
	needChromium(t)
	w := testkit.StartWorker(t, nil)
	site := testkit.Site(t, nil)
	file := writeFile(t, "run.yaml", fmt.Sprintf(`# three steps
engine: chromium
record: {har: true}
labels: {suite: cli}
steps:
  - action: goto
    url: %s
  - action: extract
    selector: h1
    what: text
  - action: screenshot
    name: home
`, site.URL))

	out := invocation{t: t, base: w.Base}.run("run", file).want(t, ExitOK)
	matchLines(t, out.stdout,
		`^session [0-9a-f]{20}: chromium \S+ ready in \S+; 3 steps to run$`,
		`^\[1/3\] goto        ok +\d+ms  `+regexp.QuoteMeta(site.URL)+`/ \(200\)$`,
		`^\[2/3\] extract     ok +\S+  "Hello"$`,
		`^\[3/3\] screenshot  ok +\S+  screenshots/home\.png \d+x\d+$`,
		`^3 of 3 steps passed$`,
		`^session [0-9a-f]{20} ended: killed \(reason killed\)$`,
		`^KIND +NAME +SIZE +URL$`,
		`^screenshot +screenshots/home\.png +.* `+
			`http://127\.0\.0\.1:\d+/artifacts/[0-9a-f]{20}/screenshots/home\.png$`,
		`^har +session\.har `,
		`^run took `,
	)
	if strings.Contains(out.stdout, "\r") {
		t.Error("a spinner was drawn although stdout is not a terminal")
	}

	id := sessionID.FindString(out.stdout)
	s := w.Get(id)
	if s.State != api.StateKilled || s.Mode != api.ModeManaged || s.Labels["suite"] != "cli" ||
		len(s.Steps) != 3 {
		t.Fatalf("the run's session: %s, %s, labels %v, %d steps", s.State, s.Mode, s.Labels,
			len(s.Steps))
	}
}

func TestRunFailingStep(t *testing.T) {
	needChromium(t)
	w := testkit.StartWorker(t, nil)
	site := testkit.Site(t, nil)
	file := writeFile(t, "fail.json", fmt.Sprintf(`[
  {"action": "goto", "url": %q},
  {"action": "click", "selector": "#missing", "timeoutMs": 1000},
  {"action": "screenshot", "name": "never"}
]`, site.URL))

	out := invocation{t: t, base: w.Base}.run("run", file).want(t, ExitStepFailed)
	matchLines(t, out.stdout,
		`^\[1/3\] goto        ok `,
		`^\[2/3\] click       error +\S+  TIMEOUT: `,
		`^\[3/3\] screenshot  skipped$`,
		`^1 of 3 steps passed; step 2 \(click\) failed$`,
		`^session [0-9a-f]{20} ended: killed`,
		`^KIND +NAME`,
	)
	s := w.Get(sessionID.FindString(out.stdout))
	if !s.State.Ended() || len(s.Steps) != 2 {
		t.Fatalf("session %s with %d steps; want ended after 2", s.State, len(s.Steps))
	}
}

func TestRunJSONOutputAndKeep(t *testing.T) {
	needChromium(t)
	w := testkit.StartWorker(t, nil)
	site := testkit.Site(t, nil)
	in := invocation{t: t, base: w.Base,
		stdin: `{"keep": true, "steps": [{"action": "goto", "url": "` + site.URL + `"}]}`}

	out := in.run("run", "-", "--output", "json").want(t, ExitOK)
	lines := strings.Split(strings.TrimSpace(out.stdout), "\n")
	if len(lines) != 2 {
		t.Fatalf("want 2 JSON lines (create, step) for a kept run, got %d", len(lines))
	}
	var s api.Session
	var step api.ActionsResponse
	if json.Unmarshal([]byte(lines[0]), &s) != nil || json.Unmarshal([]byte(lines[1]), &step) != nil {
		t.Fatalf("lines are not the API's answers:\n%s", out.stdout)
	}
	if step.SessionID != s.ID || len(step.Results) != 1 || step.Results[0].Status != api.StepOK {
		t.Fatalf("step answer %+v", step)
	}
	if got := w.Get(s.ID); got.State != api.StateReady {
		t.Fatalf("kept session is %s, want ready", got.State)
	}
	in.run("kill", s.ID).want(t, ExitOK)
}

func TestRunStepRefusedByAPI(t *testing.T) {
	needChromium(t)
	w := testkit.StartWorker(t, testkit.Env{"ALLOW_EVALUATE": "false"})
	site := testkit.Site(t, nil)
	file := writeFile(t, "eval.yaml", fmt.Sprintf(`- {action: goto, url: %q}
- {action: evaluate, expression: "1+1"}
`, site.URL))

	out := invocation{t: t, base: w.Base}.run("run", file).want(t, ExitAPI)
	// The API saw a one-step list; the error names the step's place in the file.
	if !strings.Contains(out.stderr, "field steps[1].action") {
		t.Fatalf("stderr %q does not name steps[1]", out.stderr)
	}
	s := w.Get(sessionID.FindString(out.stdout))
	if !s.State.Ended() {
		t.Fatalf("session left %s after the refused step", s.State)
	}
}

func TestRunInterrupted(t *testing.T) {
	needChromium(t)
	w := testkit.StartWorker(t, nil)
	site := testkit.Site(t, nil)
	file := writeFile(t, "slow.yaml", fmt.Sprintf(`- {action: goto, url: %q}
- {action: wait, ms: 60000, timeoutMs: 70000}
`, site.URL))

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr syncBuffer
	in := invocation{t: t, base: w.Base}
	done := make(chan int)
	go func() { done <- Run(ctx, in.env(&stdout, &stderr), []string{"run", file}) }()

	deadline := time.Now().Add(cmdTimeout)
	for !strings.Contains(stdout.String(), "[1/2] goto") {
		if time.Now().After(deadline) {
			t.Fatalf("the first step did not finish:\n%s\n%s", stdout.String(), stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	time.Sleep(500 * time.Millisecond) // into the wait step
	start := time.Now()
	cancel()
	select {
	case code := <-done:
		if code != ExitInterrupted {
			t.Fatalf("exit %d, want %d; stderr %s", code, ExitInterrupted, stderr.String())
		}
	case <-time.After(killTimeout):
		t.Fatal("the run did not stop after the interrupt")
	}
	if d := time.Since(start); d > 30*time.Second {
		t.Errorf("stopping took %s", d)
	}
	id := sessionID.FindString(stdout.String())
	if s := w.Get(id); s.State != api.StateKilled {
		t.Fatalf("interrupted run left its session %s", s.State)
	}
	if !strings.Contains(stderr.String(), "interrupted; ending session "+id) {
		t.Errorf("stderr %q", stderr.String())
	}
}
