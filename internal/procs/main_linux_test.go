package procs

import (
	"bufio"
	"crypto/rand"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// testDeadline bounds every wait for processes to start, die or be reaped.
const testDeadline = 10 * time.Second

// TestMain makes the test binary the child subreaper, so orphans of the test
// trees come back here to be reaped and then checked with kill(pid, 0),
// whatever init the machine runs.
func TestMain(m *testing.M) {
	if err := EnableSubreaper(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(m.Run())
}

// testReaper returns a Reaper that logs to the test's output.
func testReaper(t *testing.T) *Reaper {
	t.Helper()
	opts := &slog.HandlerOptions{Level: slog.LevelDebug}
	return NewReaper(slog.New(slog.NewTextHandler(t.Output(), opts)))
}

// marker returns an environment key and value no other process carries.
func marker(t *testing.T) (key, value string) {
	t.Helper()
	return "CAMOFLEET_TEST_MARK", rand.Text()
}

// startScript starts `sh -c script` supervised, owned by r and with env added
// to the test's environment, and waits for the script to print "ready" once
// its processes are forked. Cleanup kills the group and waits if the test did
// not.
func startScript(t *testing.T, r *Reaper, script string, env ...string) *exec.Cmd {
	t.Helper()
	cmd := exec.Command("sh", "-c", script)
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = SysProcAttr()
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Start(cmd); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = unix.Kill(-cmd.Process.Pid, unix.SIGKILL)
			_ = r.Wait(cmd)
		}
	})
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || line != "ready\n" {
		t.Fatalf("read ready line: %q, %v", line, err)
	}
	return cmd
}

// killMarked kills whatever carries key=value when the test ends, so a failed
// test leaves nothing behind.
func killMarked(t *testing.T, key, value string) {
	t.Cleanup(func() {
		if _, err := KillByEnv(key, value); err != nil {
			t.Error(err)
		}
	})
}

// eventually polls cond until it holds, failing the test after testDeadline.
func eventually(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(testDeadline)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting until %s", testDeadline, what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// exists reports whether kill(pid, 0) finds pid, zombie or not.
func exists(pid int) bool {
	return !errors.Is(unix.Kill(pid, 0), unix.ESRCH)
}

// running reports whether pid exists and is not a zombie.
func running(t *testing.T, pid int) bool {
	t.Helper()
	p, err := readStat(pid)
	return err == nil && !p.zombie()
}

// allGone reaps orphans with r and reports whether none of pids exists.
func allGone(r *Reaper, pids []int) bool {
	r.ReapOnce()
	for _, pid := range pids {
		if exists(pid) {
			return false
		}
	}
	return true
}

// exitCode returns the exit code in err from Wait, or -1 if there is none.
func exitCode(err error) int {
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return exit.ExitCode()
	}
	return -1
}
