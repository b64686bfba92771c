package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mxschmitt/playwright-go"

	"github.com/camo-fleet/camo-fleet/internal/api"
	"github.com/camo-fleet/camo-fleet/internal/launcher"
	"github.com/camo-fleet/camo-fleet/internal/procs"
	"github.com/camo-fleet/camo-fleet/internal/testkit"
)

// Waits of the lifecycle tests. They are generous: the machines running
// them are small and often busy, and Firefox is slow to start there.
const (
	endWait    = 2 * time.Minute // a session reaches its end
	clientWait = 2 * time.Minute // a Playwright client runs its script
	procWait   = 10 * time.Second
)

// clientJS is a stock Playwright client: node script.cjs <engine> <url>
// <mode> [n]. It reads the wsEndpoint from the first line of stdin, so it
// can start before its session exists. Every mode connects with
// require('playwright-core')[engine].connect and prints JSON lines:
//
//	run   one context, goto, evaluate, close: {"title":..,"h":..}
//	hold  n contexts (default 1), each opens url?ctx=<i>, then {"ready":n};
//	      it stays connected and silent until the browser goes away
//	tick  one context, goto, {"ready":1}, then evaluate("1") every second
//	      until that fails: {"ticks":..,"error":..} (or the disconnect
//	      line, which also carries "ticks")
//	store one context, goto, set a cookie and localStorage: {"stored":true}
//	peek  one context, goto, read them: {"cookie":..,"local":..}
const clientJS = `
const pw = require('playwright-core');
const [engine, url, mode, n] = process.argv.slice(2);
const out = (o) => process.stdout.write(JSON.stringify(o) + '\n');
let ticks; // evaluations done in tick mode

function endpoint() {
  const rl = require('readline').createInterface({ input: process.stdin });
  return new Promise((resolve) => rl.once('line', (l) => { rl.close(); resolve(l.trim()); }));
}

async function page(browser, target) {
  const context = await browser.newContext();
  const p = await context.newPage();
  await p.goto(target);
  return p;
}

(async () => {
  const browser = await pw[engine].connect(await endpoint(), { timeout: 60000 });
  browser.on('disconnected', () => { out({ disconnected: true, ticks }); process.exit(0); });
  if (mode === 'run') {
    const p = await page(browser, url);
    const h = await p.evaluate(() => document.querySelector('#h').textContent);
    out({ title: await p.title(), h });
    await browser.close();
    return;
  }
  if (mode === 'hold') {
    const count = Number(n || 1);
    for (let i = 1; i <= count; i++) await page(browser, url + '?ctx=' + i);
    out({ ready: count });
    return;
  }
  if (mode === 'tick') {
    const p = await page(browser, url);
    out({ ready: 1 });
    ticks = 0;
    for (;;) {
      try {
        await p.evaluate('1');
      } catch (e) {
        out({ ticks, error: String(e.message || e).split('\n')[0] });
        process.exit(0);
      }
      ticks++;
      await new Promise((r) => setTimeout(r, 1000));
    }
  }
  if (mode === 'store') {
    const p = await page(browser, url);
    await p.evaluate(() => {
      document.cookie = 'fleet=secret; max-age=86400; path=/';
      localStorage.setItem('fleet', 'secret');
    });
    out({ stored: await p.evaluate(() => document.cookie.includes('fleet=secret')) });
    await browser.close();
    return;
  }
  if (mode === 'peek') {
    const p = await page(browser, url);
    const cookie = await p.evaluate(() => document.cookie);
    const local = await p.evaluate(() => localStorage.getItem('fleet'));
    out({ cookie, local });
    await browser.close();
    return;
  }
  throw new Error('unknown mode ' + mode);
})().catch((e) => { console.error(e); process.exit(1); });
`

// runClient runs clientJS to the end and decodes its first line, the
// result, into out. The client's exit status is not used: an in-process
// worker's reaper may collect it first.
func runClient(t *testing.T, ws, engine, url, mode string, out any) {
	t.Helper()
	c := startClient(t, engine, url, mode)
	c.connect(t, ws)
	line := c.expect(t, "{", clientWait)
	if err := json.Unmarshal([]byte(line), out); err != nil {
		t.Fatalf("client %s printed %q: %v", mode, line, err)
	}
	select {
	case <-c.done:
	case <-time.After(clientWait):
		t.Fatalf("client %s did not exit; stderr: %s", mode, c.stderr)
	}
}

// nodeClient is clientJS running in the background.
type nodeClient struct {
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	lines  chan string
	stderr *syncBuffer
	done   chan struct{}
}

// startClient starts clientJS in the background; give it its endpoint with
// connect. It is killed when the test ends.
func startClient(t *testing.T, engine, url, mode string, args ...string) *nodeClient {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	cmd := testkit.NodeCommand(ctx, t, clientJS, append([]string{engine, url, mode}, args...)...)
	c := &nodeClient{cmd: cmd, lines: make(chan string, 64), stderr: &syncBuffer{},
		done: make(chan struct{})}
	cmd.Stderr = c.stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if c.stdin, err = cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start node client: %v", err)
	}
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			c.lines <- sc.Text()
		}
		close(c.lines)
		_ = cmd.Wait()
		close(c.done)
	}()
	t.Cleanup(func() { cancel(); <-c.done })
	return c
}

// connect hands the client its wsEndpoint. A client started before the
// session connects within moments of the create, well inside a short idle
// TTL even on a busy machine.
func (c *nodeClient) connect(t *testing.T, wsEndpoint string) {
	t.Helper()
	if _, err := io.WriteString(c.stdin, wsEndpoint+"\n"); err != nil {
		t.Fatalf("give the node client its endpoint: %v", err)
	}
}

// expect waits for a line holding want and returns it.
func (c *nodeClient) expect(t *testing.T, want string, timeout time.Duration) string {
	t.Helper()
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		select {
		case l, ok := <-c.lines:
			if !ok {
				<-c.done
				t.Fatalf("node client exited before printing %q: %v; stderr: %s",
					want, c.cmd.ProcessState, c.stderr)
			}
			if strings.Contains(l, want) {
				return l
			}
			t.Logf("node client: %s", l)
		case <-timer.C:
			t.Fatalf("node client printed no %q within %s; stderr: %s", want, timeout, c.stderr)
		}
	}
}

// kill SIGKILLs the client (no close, no goodbye) and waits for it.
func (c *nodeClient) kill(t *testing.T) {
	t.Helper()
	if err := c.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatalf("kill node client: %v", err)
	}
	<-c.done
}

// syncBuffer is a strings.Builder safe for one writer and many readers.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
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

var (
	pwOnce sync.Once
	pwInst *playwright.Playwright
	pwErr  error
)

// goPlaywright returns a playwright-go driver running the pinned
// playwright-core with the system Node.js; one per test binary.
func goPlaywright(t *testing.T) *playwright.Playwright {
	t.Helper()
	pwOnce.Do(func() {
		// playwright-go reads only the environment; an in-process worker
		// sets the same two values for its Managed runner.
		cli := filepath.Join(testkit.DriverDir(), "node_modules", "playwright-core", "cli.js")
		if pwErr = os.Setenv("PLAYWRIGHT_NODEJS_PATH", "node"); pwErr != nil {
			return
		}
		if pwErr = os.Setenv("PLAYWRIGHT_CLI_PATH", cli); pwErr != nil {
			return
		}
		pwInst, pwErr = playwright.Run(&playwright.RunOptions{SkipInstallBrowsers: true, Verbose: false})
	})
	if pwErr != nil {
		t.Fatalf("start playwright-go: %v", pwErr)
	}
	return pwInst
}

// harEntry is the part of a HAR entry the tests read.
type harEntry struct {
	Request struct {
		Method string `json:"method"`
		URL    string `json:"url"`
	} `json:"request"`
	Response struct {
		Status int `json:"status"`
	} `json:"response"`
}

type harFile struct {
	Log struct {
		Version string     `json:"version"`
		Entries []harEntry `json:"entries"`
	} `json:"log"`
}

// parseHAR decodes a HAR 1.2 file and fails the test if it is not one.
func parseHAR(t *testing.T, raw []byte) harFile {
	t.Helper()
	var h harFile
	if err := json.Unmarshal(raw, &h); err != nil {
		t.Fatalf("HAR is not JSON: %v: %.300s", err, raw)
	}
	if h.Log.Version != "1.2" {
		t.Fatalf("HAR version %q, want 1.2", h.Log.Version)
	}
	return h
}

// hasEntry reports whether the HAR holds a GET of url answered with status.
func (h harFile) hasEntry(url string, status int) bool {
	for _, e := range h.Log.Entries {
		if e.Request.Method == "GET" && e.Request.URL == url && e.Response.Status == status {
			return true
		}
	}
	return false
}

func (h harFile) urls() []string {
	var out []string
	for _, e := range h.Log.Entries {
		out = append(out, fmt.Sprintf("%s %d", e.Request.URL, e.Response.Status))
	}
	return out
}

// sessionHAR downloads a session's listed HAR and checks it holds a 200 GET
// of each url.
func sessionHAR(t *testing.T, c *testkit.Client, id string, urls ...string) {
	t.Helper()
	h := parseHAR(t, c.Download(testkit.Find(t, c.Artifacts(id), "har", "session.har")))
	for _, u := range urls {
		if !h.hasEntry(u, http.StatusOK) {
			t.Errorf("session %s: HAR has no 200 entry for %s; entries: %v", id, u, h.urls())
		}
	}
}

// clientFor returns a client of a worker's API that fails t, not the test
// the worker was started for: subtests must use their own.
func clientFor(t *testing.T, w *testkit.Worker) *testkit.Client {
	return testkit.NewClient(t, w.Base)
}

// history returns the states of a session's history.
func history(s api.Session) []api.State {
	out := make([]api.State, len(s.History))
	for i, c := range s.History {
		out[i] = c.State
	}
	return out
}

// logStates returns, in order, the states a session's "session state" log
// lines changed to.
func logStates(t *testing.T, log, id string) []api.State {
	t.Helper()
	var out []api.State
	for line := range strings.SplitSeq(log, "\n") {
		var l struct {
			Msg       string    `json:"msg"`
			SessionID string    `json:"session_id"`
			To        api.State `json:"to"`
		}
		if line == "" || json.Unmarshal([]byte(line), &l) != nil {
			continue
		}
		if l.Msg == "session state" && l.SessionID == id {
			out = append(out, l.To)
		}
	}
	return out
}

// endedWith waits for a session's end and checks its state and reason.
func endedWith(t *testing.T, c *testkit.Client, id string, state api.State,
	reason api.Reason) api.Session {
	t.Helper()
	s := c.WaitEnded(id, endWait)
	if s.State != state || s.Reason != reason {
		t.Fatalf("session %s ended %s/%s (%s), want %s/%s", id, s.State, s.Reason, s.Error,
			state, reason)
	}
	return s
}

// sessionProcs returns the live processes of one session.
func sessionProcs(id string) []int {
	pids, _ := procs.FindByEnv(launcher.EnvSession, id)
	return pids
}

// waitNoSessionProcs waits until no process of the session is left.
func waitNoSessionProcs(t *testing.T, id string) {
	t.Helper()
	eventually(t, procWait, "no process of session "+id+" is left", func() bool {
		return len(sessionProcs(id)) == 0
	})
}

// eventually polls cond until it holds or timeout passes.
func eventually(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	if !waitUntil(timeout, cond) {
		t.Fatalf("not within %s: %s", timeout, what)
	}
}

// waitUntil polls cond until it holds or timeout passes, and says which.
func waitUntil(timeout time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(timeout)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(100 * time.Millisecond)
	}
	return true
}

// health reads GET /health.
func health(t *testing.T, c *testkit.Client) (capacity, active int) {
	t.Helper()
	var h struct {
		Capacity int `json:"capacity"`
		Active   int `json:"active"`
	}
	c.JSON("GET", "/health", nil, &h)
	return h.Capacity, h.Active
}

// statOf reads the command name and parent of pid from /proc.
func statOf(pid int) (comm string, ppid int, state byte, err error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return "", 0, 0, err
	}
	line := string(b)
	open, shut := strings.IndexByte(line, '('), strings.LastIndexByte(line, ')')
	fields := strings.Fields(line[shut+1:])
	if open < 0 || shut < open || len(fields) < 2 {
		return "", 0, 0, fmt.Errorf("odd stat line %q", line)
	}
	ppid, err = strconv.Atoi(fields[1])
	return line[open+1 : shut], ppid, fields[0][0], err
}

// exeBase is the base name of pid's executable, "" if unreadable.
func exeBase(pid int) string {
	exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
	if err != nil {
		return ""
	}
	return filepath.Base(exe)
}

// browserMainPid finds the session's browser main process: a process of the
// session whose executable is the browser and whose parent is the launcher.
func browserMainPid(t *testing.T, id string) int {
	t.Helper()
	for _, pid := range sessionProcs(id) {
		_, ppid, _, err := statOf(pid)
		if err != nil {
			continue
		}
		switch exeBase(pid) {
		case "chromium", "firefox-esr", "firefox":
			if exeBase(ppid) == "node" {
				return pid
			}
		}
	}
	t.Fatalf("no browser main process among the processes of session %s: %v",
		id, sessionProcs(id))
	return 0
}

// zombiesOf returns the zombie children of ppid.
func zombiesOf(t *testing.T, ppid int) []int {
	t.Helper()
	z, err := procs.Zombies(ppid)
	if err != nil {
		t.Fatalf("list zombies: %v", err)
	}
	return z
}

// binWorker is the real camofleet binary running `camofleet worker`.
type binWorker struct {
	*testkit.Client
	cmd     *exec.Cmd
	dataDir string
	logPath string
	done    chan struct{}
	err     error
}

// freePort returns a TCP port nobody listens on right now.
func freePort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// startBinary runs `camofleet worker` on dataDir and waits until it answers
// /health. Its log goes to a file of the test's. If the test ends with the
// worker still running, it is killed and so is every process it left.
func startBinary(t *testing.T, dataDir string, env testkit.Env) *binWorker {
	t.Helper()
	for attempt := 1; ; attempt++ {
		w, err := launchBinary(t, dataDir, env)
		if err == nil {
			return w
		}
		// The free port may have been taken between the probe and the
		// worker's listen: try another.
		if attempt == 3 || !strings.Contains(w.log(), "address already in use") {
			t.Fatalf("%v\n%s", err, w.log())
		}
	}
}

func launchBinary(t *testing.T, dataDir string, env testkit.Env) (*binWorker, error) {
	t.Helper()
	port := freePort(t)
	logPath := filepath.Join(t.TempDir(), "worker.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		t.Fatal(err)
	}
	id := fmt.Sprintf("e2e-%d-%d", port, time.Now().UnixNano())
	cmd := exec.Command(testkit.Binary(t), "worker")
	cmd.Env = append(os.Environ(), "PORT="+strconv.Itoa(port), "LISTEN_ADDR=127.0.0.1",
		"RUNNER_DATA="+dataDir, "CAMOFLEET_DRIVER_DIR="+testkit.DriverDir(), "LOG_LEVEL=debug",
		"WORKER_ID="+id)
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		t.Fatalf("start camofleet worker: %v", err)
	}
	w := &binWorker{Client: testkit.NewClient(t, fmt.Sprintf("http://127.0.0.1:%d", port)),
		cmd: cmd, dataDir: dataDir, logPath: logPath, done: make(chan struct{})}
	go func() { w.err = cmd.Wait(); logFile.Close(); close(w.done) }()
	t.Cleanup(func() {
		select {
		case <-w.done:
		default:
			_ = cmd.Process.Kill()
			<-w.done
			_, _ = procs.KillByEnv(launcher.EnvData, dataDir)
		}
	})
	return w, w.awaitHealth(id)
}

// awaitHealth waits until the worker named id answers /health; another
// server on the same port does not count.
func (w *binWorker) awaitHealth(id string) error {
	deadline := time.Now().Add(time.Minute)
	for time.Now().Before(deadline) {
		select {
		case <-w.done:
			return fmt.Errorf("camofleet worker exited at start: %v", w.err)
		default:
		}
		var h struct {
			WorkerID string `json:"workerId"`
		}
		resp, err := http.Get(w.Base + "/health")
		if err == nil {
			err = json.NewDecoder(resp.Body).Decode(&h)
			resp.Body.Close()
		}
		if err == nil && resp.StatusCode == http.StatusOK && h.WorkerID == id {
			return nil
		}
		time.Sleep(100 * time.Millisecond)
	}
	return fmt.Errorf("camofleet worker %s did not answer /health within a minute", id)
}

func (w *binWorker) log() string {
	b, _ := os.ReadFile(w.logPath)
	return string(b)
}

// signal sends sig to the worker process.
func (w *binWorker) signal(t *testing.T, sig syscall.Signal) {
	t.Helper()
	if err := w.cmd.Process.Signal(sig); err != nil {
		t.Fatalf("signal worker: %v", err)
	}
}

// wait waits for the worker to exit and returns its exit code.
func (w *binWorker) wait(t *testing.T, timeout time.Duration) int {
	t.Helper()
	select {
	case <-w.done:
	case <-time.After(timeout):
		t.Fatalf("worker still running %s after the signal\n%s", timeout, w.log())
	}
	return w.cmd.ProcessState.ExitCode()
}

// sessionMeta is a session folder's session.json.
type sessionMeta struct {
	ID     string    `json:"id"`
	State  api.State `json:"state"`
	Reason string    `json:"reason"`
}

func readMeta(t *testing.T, dataDir, id string) sessionMeta {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(dataDir, "sessions", id, "session.json"))
	if err != nil {
		t.Fatalf("session.json of %s: %v", id, err)
	}
	var m sessionMeta
	if err := json.Unmarshal(raw, &m); err != nil {
		t.Fatalf("session.json of %s: %v: %s", id, err, raw)
	}
	return m
}

// readHARFile reads session.har from a session folder.
func readHARFile(t *testing.T, dataDir, id string) harFile {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(dataDir, "sessions", id, "session.har"))
	if err != nil {
		t.Fatalf("HAR of %s: %v", id, err)
	}
	return parseHAR(t, raw)
}
