package cli

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/camo-fleet/camo-fleet/internal/api"
	"github.com/camo-fleet/camo-fleet/internal/testkit"
)

func TestParseRunFile(t *testing.T) {
	yes := true
	no := false
	tests := []struct {
		name    string
		format  string // "" sniffs, as for stdin
		data    string
		want    runFile
		actions []string
		steps   []string // the steps as JSON
	}{
		{
			name:   "YAML list",
			format: formatYAML,
			data: `# a comment
- action: goto
  url: https://example.com/
- {action: extract, selector: h1, what: text}
- action: wait
  ms: 1e3
`,
			want:    runFile{Engine: "chromium"},
			actions: []string{"goto", "extract", "wait"},
			steps: []string{`{"action":"goto","url":"https://example.com/"}`,
				`{"action":"extract","selector":"h1","what":"text"}`,
				`{"action":"wait","ms":1000}`},
		},
		{
			name:   "YAML object",
			format: formatYAML,
			data: `engine: firefox
headless: false
record: {har: true, video: false, screenshots: true}
viewport:
  width: 1024
  height: 700
labels: {team: search, ticket: "12"}
keep: true
steps:
  - action: goto
    url: https://example.com/
    timeoutMs: 0x3e8
`,
			want: runFile{Engine: "firefox", Headless: &no, Keep: true,
				Record:   &api.Record{HAR: true, Screenshots: true},
				Viewport: &api.Viewport{Width: 1024, Height: 700},
				Labels:   map[string]string{"team": "search", "ticket": "12"}},
			actions: []string{"goto"},
			steps:   []string{`{"action":"goto","timeoutMs":1000,"url":"https://example.com/"}`},
		},
		{
			name:   "JSON list",
			format: formatJSON,
			data: `[{"action": "goto", "url": "https://example.com/"},
				{"action": "press", "key": "Enter"}]`,
			want:    runFile{Engine: "chromium"},
			actions: []string{"goto", "press"},
			steps: []string{`{"action":"goto","url":"https://example.com/"}`,
				`{"action":"press","key":"Enter"}`},
		},
		{
			name:   "JSON object",
			format: formatJSON,
			data: "\xef\xbb\xbf" + `{
	"engine": "chromium", "headless": true, "keep": false,
	"steps": [{"action": "scroll", "y": 1.5e2}]
}`,
			want:    runFile{Engine: "chromium", Headless: &yes},
			actions: []string{"scroll"},
			steps:   []string{`{"action":"scroll","y":1.5e2}`},
		},
		{
			name:    "sniffed JSON",
			data:    `{"steps": [{"action": "wait", "ms": 5}]}`,
			want:    runFile{Engine: "chromium"},
			actions: []string{"wait"},
			steps:   []string{`{"action":"wait","ms":5}`},
		},
		{
			name:    "sniffed YAML in flow style",
			data:    `[{action: wait, ms: 5}]`,
			want:    runFile{Engine: "chromium"},
			actions: []string{"wait"},
			steps:   []string{`{"action":"wait","ms":5}`},
		},
		{
			name:    "YAML anchors",
			format:  formatYAML,
			data:    "- &w {action: wait, ms: 5}\n- *w\n",
			want:    runFile{Engine: "chromium"},
			actions: []string{"wait", "wait"},
			steps:   []string{`{"action":"wait","ms":5}`, `{"action":"wait","ms":5}`},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rf, err := parseRunFile("run", []byte(tt.data), tt.format)
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			if !reflect.DeepEqual(rf.Actions, tt.actions) {
				t.Errorf("actions %q, want %q", rf.Actions, tt.actions)
			}
			if len(rf.Steps) != len(tt.steps) {
				t.Fatalf("%d steps, want %d", len(rf.Steps), len(tt.steps))
			}
			for i, raw := range rf.Steps {
				if !jsonEqual(t, raw, tt.steps[i]) {
					t.Errorf("step %d: %s, want %s", i, raw, tt.steps[i])
				}
			}
			rf.Steps, rf.Actions = nil, nil
			if !reflect.DeepEqual(*rf, tt.want) {
				t.Errorf("got %+v, want %+v", *rf, tt.want)
			}
		})
	}
}

func jsonEqual(t *testing.T, a []byte, b string) bool {
	t.Helper()
	var x, y any
	if err := json.Unmarshal(a, &x); err != nil {
		t.Fatalf("step %s: %v", a, err)
	}
	if err := json.Unmarshal([]byte(b), &y); err != nil {
		t.Fatalf("want %s: %v", b, err)
	}
	return reflect.DeepEqual(x, y)
}

func TestParseRunFileErrors(t *testing.T) {
	tests := []struct {
		name   string
		format string
		data   string
		want   string // the whole error
	}{
		{"empty", formatYAML, "# nothing\n",
			"run: is empty: want a list of steps or an object with steps"},
		{"scalar", formatYAML, "hello\n", "run:1: a run file is a list of steps, or an object " +
			"with steps (and engine, headless, record, viewport, labels, keep); got a string"},
		{"unknown field", formatYAML, "engine: chromium\negine: firefox\nsteps: []\n",
			`run:2: unknown field "egine": want one of engine, headless, record, viewport, ` +
				"labels, steps, keep"},
		{"no steps", formatYAML, "engine: chromium\n", "run:1: steps is required: a list of steps"},
		{"empty steps", formatJSON, `{"steps": []}`, "run:1: steps must not be empty"},
		{"steps not a list", formatYAML, "steps:\n  action: goto\n",
			"run:2: steps must be a list of steps, not an object"},
		{"missing parameter", formatYAML,
			"steps:\n  - action: goto\n    url: https://x/\n  - action: click\n",
			"run:4: steps[1].selector is required"},
		{"bad parameter", formatYAML,
			"- action: goto\n  url: https://x/\n- action: wait\n  ms: soon\n",
			"run:4: steps[1].ms must be an integer"},
		{"unknown action", formatJSON, "[\n  {\"action\": \"goto\", \"url\": \"https://x/\"},\n" +
			"  {\"action\": \"fly\"}\n]", `run:3: steps[1].action is not a known action: "fly"`},
		{"unknown parameter", formatYAML, "- action: goto\n  url: https://x/\n  URL: https://y/\n",
			"run:3: steps[0].URL is not a parameter of goto"},
		{"step not an object", formatYAML, "- goto https://x/\n",
			"run:1: steps[0] must be a JSON object"},
		{"engine refuses step", formatYAML, "engine: firefox\nsteps:\n  - {action: pdf, name: a}\n",
			`run:3: steps[0].action pdf is supported only by chromium, not "firefox"`},
		{"viewport type", formatYAML, "viewport: {width: \"1280\", height: 720}\nsteps: []\n",
			"run:1: viewport.width must be a number, not a string"},
		{"viewport fraction", formatJSON, `{"viewport": {"width": 12.5, "height": 7}}`,
			"run:1: viewport.width must be a whole number, not 12.5"},
		{"viewport half", formatYAML, "viewport: {width: 800}\n",
			"run:1: viewport needs both width and height"},
		{"record field", formatYAML, "record: {har: true, gif: true}\n",
			"run:1: unknown field record.gif: want har, video or screenshots"},
		{"record type", formatYAML, "record:\n  har: yes please\n",
			"run:2: record.har must be a boolean, not a string"},
		{"labels type", formatYAML, "labels:\n  team: 12\n",
			"run:2: labels.team must be a string, not a number"},
		{"keep type", formatJSON, "{\n\"keep\": \"true\"}",
			"run:2: keep must be a boolean, not a string"},
		{"YAML syntax", formatYAML, "steps:\n  - action: goto\n     url: x\n",
			"run:3: mapping values are not allowed in this context"},
		{"YAML duplicate key", formatYAML, "steps: []\nsteps: []\n",
			`run:2: key "steps" given twice`},
		{"YAML two documents", formatYAML, "- {action: wait, ms: 1}\n---\n- {}\n",
			"run:2: holds more than one YAML document"},
		{"YAML key not a string", formatYAML, "- {action: wait, 1: 2}\n",
			`run:1: key "1" must be a string (quote it)`},
		{"YAML infinity", formatYAML, "- {action: wait, ms: .inf}\n",
			`run:1: ".inf" is not a finite number; quote it for a string`},
		{"YAML custom tag", formatYAML, "- !step {action: wait, ms: 1}\n",
			"run:1: unsupported YAML tag !step"},
		{"YAML merge key", formatYAML, "- {<<: {action: wait}, ms: 1}\n",
			"run:1: YAML merge keys (<<) are not supported"},
		{"JSON syntax", formatJSON, "[\n  {\"action\": \"goto\", \"url\": \"https://x/\",}\n]",
			"run:2:42: invalid character '}' looking for beginning of object key string"},
		{"JSON truncated", formatJSON, "[{\"action\": \"goto\"", "run:1:19: unexpected end of JSON"},
		{"JSON duplicate key", formatJSON, `{"steps": [{"action": "wait", "ms": 1}], "steps": []}`,
			`run:1:42: key "steps" given twice`},
		{"JSON bad literal", formatJSON, "[\n  {\"action\": trux}]",
			"run:2:17: invalid character 'x' in literal true (expecting 'e')"},
		{"JSON trailing data", formatJSON, `[{"action": "wait", "ms": 1}] []`,
			"run:1:31: invalid character '[' after top-level value"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := parseRunFile("run", []byte(tt.data), tt.format)
			var fe *fileError
			if !errors.As(err, &fe) {
				t.Fatalf("got %v (%T), want a *fileError", err, err)
			}
			if err.Error() != tt.want {
				t.Fatalf("error\n  %s\nwant\n  %s", err, tt.want)
			}
		})
	}
}

func TestRunFileAliasBomb(t *testing.T) {
	var b strings.Builder
	b.WriteString("a: &a [x, x, x, x, x, x, x, x, x, x]\n")
	prev := "a"
	for _, k := range []string{"b", "c", "d", "e", "f", "g", "h"} {
		b.WriteString(k + ": &" + k + " [")
		for i := range 10 {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString("*" + prev)
		}
		b.WriteString("]\n")
		prev = k
	}
	_, err := parseRunFile("bomb", []byte(b.String()), formatYAML)
	if err == nil || !strings.Contains(err.Error(), "too many values") {
		t.Fatalf("got %v, want too many values", err)
	}
}

func TestReadRunFileFormats(t *testing.T) {
	// A .yaml file that is not YAML-as-JSON still reads as YAML; a .json file
	// is held to JSON.
	dir := t.TempDir()
	yml := filepath.Join(dir, "run.yml")
	jsn := filepath.Join(dir, "run.json")
	_ = os.WriteFile(yml, []byte("- {action: wait, ms: 1}\n"), 0o600)
	_ = os.WriteFile(jsn, []byte("- {action: wait, ms: 1}\n"), 0o600)
	if _, err := readRunFile(yml, nil); err != nil {
		t.Fatalf(".yml: %v", err)
	}
	if _, err := readRunFile(jsn, nil); err == nil || !strings.HasPrefix(err.Error(), jsn+":1:") {
		t.Fatalf(".json with YAML: %v, want a JSON error at line 1", err)
	}
	if _, err := readRunFile("-", strings.NewReader("")); err == nil ||
		!strings.HasPrefix(err.Error(), "stdin: is empty") {
		t.Fatalf("empty stdin: %v", err)
	}
}

func TestExampleRunFiles(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join(testkit.RepoRoot(), "docs", "examples", "*"))
	if len(files) < 2 {
		t.Fatalf("examples: %v, want a YAML and a JSON run file", files)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			rf, err := readRunFile(f, nil)
			if err != nil {
				t.Fatal(err)
			}
			if len(rf.Steps) == 0 {
				t.Fatal("no steps")
			}
		})
	}
}
