package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/camo-fleet/camo-fleet/internal/api"
	"github.com/camo-fleet/camo-fleet/internal/testkit"
)

// cmdTimeout bounds one command in a test; a browser start takes seconds.
const cmdTimeout = 3 * time.Minute

func needChromium(t *testing.T) {
	t.Helper()
	if _, err := exec.LookPath("chromium"); err != nil {
		t.Skipf("chromium is not installed (%v); install it with ./scripts/test.sh", err)
	}
}

// syncBuffer is a bytes.Buffer that a test may read while a command writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// result is what a command printed and its exit code.
type result struct {
	stdout, stderr string
	code           int
}

// invocation runs commands against one API URL, as set in CAMOFLEET_URL.
type invocation struct {
	t     *testing.T
	base  string
	stdin string
}

func (in invocation) env(stdout, stderr *syncBuffer) *Env {
	return &Env{Stdin: strings.NewReader(in.stdin), Stdout: stdout, Stderr: stderr,
		Getenv: func(k string) string {
			if k == "CAMOFLEET_URL" {
				return in.base
			}
			return ""
		}}
}

// run runs "camofleet session args..." to the end.
func (in invocation) run(args ...string) result {
	in.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
	defer cancel()
	var stdout, stderr syncBuffer
	code := Run(ctx, in.env(&stdout, &stderr), args)
	in.t.Logf("camofleet session %s → exit %d\nstdout:\n%s\nstderr:\n%s",
		strings.Join(args, " "), code, stdout.String(), stderr.String())
	return result{stdout: stdout.String(), stderr: stderr.String(), code: code}
}

func (r result) want(t *testing.T, code int) result {
	t.Helper()
	if r.code != code {
		t.Fatalf("exit code %d, want %d; stderr: %s", r.code, code, r.stderr)
	}
	return r
}

// sessionID returns the id printed in text output.
var sessionID = regexp.MustCompile(`\b[0-9a-f]{20}\b`)

func TestCreateListGetKill(t *testing.T) {
	needChromium(t)
	w := testkit.StartWorker(t, nil)
	in := invocation{t: t, base: w.Base}

	out := in.run("create", "--mode", "managed", "--label", "team=qa", "--label", "run=1",
		"--record", "har", "--viewport", "1024x700", "--idle-ttl", "2m", "--output", "json").
		want(t, ExitOK)
	var created api.Session
	if err := json.Unmarshal([]byte(out.stdout), &created); err != nil {
		t.Fatalf("create --output json is not the session: %v", err)
	}
	vp := api.Viewport{Width: 1024, Height: 700}
	if created.State != api.StateReady || created.Viewport != vp ||
		created.IdleTTLSec != 120 || created.Labels["team"] != "qa" || !created.Record.HAR {
		t.Fatalf("created %+v", created)
	}
	id := created.ID

	list := in.run("list", "--label", "team=qa").want(t, ExitOK)
	if !regexp.MustCompile(`(?m)^ID\s+STATE\s+REASON\s+ENGINE`).MatchString(list.stdout) ||
		!regexp.MustCompile(`(?m)^`+id+`\s+ready\s+-\s+chromium\s+managed\s+.*run=1,team=qa`).
			MatchString(list.stdout) {
		t.Fatalf("list does not show %s as a ready managed chromium session", id)
	}
	other := in.run("list", "--label", "team=nobody").want(t, ExitOK)
	if other.stdout != "no sessions\n" {
		t.Fatalf("list with another label: %q", other.stdout)
	}

	get := in.run("get", id).want(t, ExitOK)
	for _, want := range []string{"ID            " + id, "STATE         ready",
		"VIEWPORT      1024x700",
		"RECORD        har", "LABELS        run=1,team=qa", "History: starting"} {
		if !strings.Contains(get.stdout, want) {
			t.Errorf("get lacks %q", want)
		}
	}

	kill := in.run("kill", id).want(t, ExitOK)
	if kill.stdout != "session "+id+" ended: killed (reason killed)\n" {
		t.Fatalf("kill printed %q", kill.stdout)
	}
	if s := w.Get(id); s.State != api.StateKilled {
		t.Fatalf("after kill the session is %s", s.State)
	}
	again := in.run("kill", id).want(t, ExitAPI)
	if !strings.Contains(again.stderr, "code session_ended") {
		t.Fatalf("second kill: %q", again.stderr)
	}
}

func TestCreateDirectShowsWSEndpoint(t *testing.T) {
	needChromium(t)
	w := testkit.StartWorker(t, nil)
	in := invocation{t: t, base: w.Base}

	out := in.run("create").want(t, ExitOK)
	id := sessionID.FindString(out.stdout)
	if !strings.Contains(out.stdout, "MODE          direct") ||
		!regexp.MustCompile(`(?m)^ws://127\.0\.0\.1:\d+/sessions/`+id+`/ws\?token=[0-9a-f]+$`).
			MatchString(out.stdout) {
		t.Fatalf("create did not print the direct session %q with its wsEndpoint", id)
	}
	in.run("kill", id).want(t, ExitOK)
}

func TestAPIErrorOutput(t *testing.T) {
	w := testkit.StartWorker(t, nil)
	in := invocation{t: t, base: w.Base}

	out := in.run("create", "--engine", "netscape").want(t, ExitAPI)
	if out.stdout != "" {
		t.Errorf("stdout %q, want nothing", out.stdout)
	}
	line := strings.TrimSuffix(out.stderr, "\n")
	if strings.Contains(line, "\n") {
		t.Fatalf("the error is not one line: %q", out.stderr)
	}
	for _, want := range []string{"camofleet session create: error:", "netscape",
		"HTTP 400", "code invalid_field", "field engine"} {
		if !strings.Contains(line, want) {
			t.Errorf("error line %q lacks %q", line, want)
		}
	}

	missing := in.run("get", "00000000000000000000").want(t, ExitAPI)
	if !strings.Contains(missing.stderr, "HTTP 404, code not_found") {
		t.Errorf("get of an unknown session: %q", missing.stderr)
	}
	bad := in.run("logs", "00000000000000000000", "--output", "json").want(t, ExitAPI)
	if bad.stdout != "" {
		t.Errorf("an API error printed %q on stdout", bad.stdout)
	}
}

func TestUnreachableAPI(t *testing.T) {
	in := invocation{t: t, base: "http://127.0.0.1:1"}
	out := in.run("list").want(t, ExitAPI)
	if !strings.HasPrefix(out.stderr, "camofleet session list: cannot reach the API: GET "+
		"http://127.0.0.1:1/sessions") {
		t.Fatalf("stderr %q", out.stderr)
	}
	// --url wins over CAMOFLEET_URL.
	out = in.run("list", "--url", "http://127.0.0.1:2/").want(t, ExitAPI)
	if !strings.Contains(out.stderr, "127.0.0.1:2/sessions") {
		t.Fatalf("--url was not used: %q", out.stderr)
	}
}

func TestUsageErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"no command", nil, "Usage:"},
		{"unknown command", []string{"frobnicate"}, `unknown command "frobnicate"`},
		{"unknown flag", []string{"list", "--nope"}, "flag provided but not defined: -nope"},
		{"bad output", []string{"list", "--output", "yaml"}, `--output must be text or json`},
		{"missing id", []string{"get"}, "missing ID"},
		{"extra argument", []string{"kill", "a", "b"}, `unexpected argument "b"`},
		{"argument to list", []string{"list", "x"}, `unexpected argument "x"`},
		{"bad mode", []string{"create", "--mode", "remote"}, "--mode must be direct or managed"},
		{"bad viewport", []string{"create", "--viewport", "big"}, "--viewport: want WIDTHxHEIGHT"},
		{"bad record", []string{"create", "--record", "har,gif"}, `unknown artifact "gif"`},
		{"bad idle ttl", []string{"create", "--idle-ttl", "1.5s"}, "--idle-ttl: want whole seconds"},
		{"bad label", []string{"create", "--label", "novalue"}, "want key=value"},
		{"bad url", []string{"list", "--url", "localhost:8080"}, "--url: API URL"},
		{"bad kind", []string{"logs", "x", "--kind", "dns"}, "--kind must be console or network"},
		{"run without file", []string{"run"}, "missing FILE"},
		{"run of a missing file", []string{"run", "/nonexistent/run.yaml"}, "no such file"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := invocation{t: t, base: "http://127.0.0.1:1"}
			out := in.run(tt.args...).want(t, ExitUsage)
			if !strings.Contains(out.stderr, tt.want) {
				t.Fatalf("stderr %q lacks %q", out.stderr, tt.want)
			}
		})
	}
}

func TestHelp(t *testing.T) {
	in := invocation{t: t, base: "http://127.0.0.1:1"}
	top := in.run("help").want(t, ExitOK)
	for _, c := range commands {
		if !strings.Contains(top.stdout, "camofleet session "+c.name) {
			t.Errorf("help lacks %s", c.name)
		}
		out := in.run(c.name, "-h").want(t, ExitOK)
		if !strings.HasPrefix(out.stdout, "Usage: camofleet session "+c.name) ||
			!strings.Contains(out.stdout, "--url URL") || out.stderr != "" {
			t.Errorf("%s -h printed %q", c.name, out.stdout)
		}
	}
}

func TestHelpHidesToken(t *testing.T) {
	var stdout, stderr syncBuffer
	e := &Env{Stdout: &stdout, Stderr: &stderr, Getenv: func(k string) string {
		if k == "CAMOFLEET_TOKEN" {
			return "s3cret-token"
		}
		return ""
	}}
	if code := Run(context.Background(), e, []string{"list", "--help"}); code != ExitOK {
		t.Fatalf("exit %d", code)
	}
	if strings.Contains(stdout.String(), "s3cret-token") {
		t.Fatal("help shows the token from CAMOFLEET_TOKEN")
	}
}
