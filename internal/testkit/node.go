package testkit

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// NodeCommand returns a command running a JavaScript snippet with the pinned
// playwright-core on NODE_PATH: the script can require("playwright-core").
func NodeCommand(ctx context.Context, t testing.TB, script string, args ...string) *exec.Cmd {
	t.Helper()
	f := filepath.Join(t.TempDir(), "script.cjs")
	if err := os.WriteFile(f, []byte(script), 0o600); err != nil {
		t.Fatalf("write node script: %v", err)
	}
	cmd := exec.CommandContext(ctx, "node", append([]string{f}, args...)...)
	cmd.Env = append(os.Environ(), "NODE_PATH="+filepath.Join(DriverDir(), "node_modules"))
	return cmd
}

// RunNode runs a script to the end (bounded by timeout) and returns its
// stdout; a failure fails the test with stderr.
func RunNode(t testing.TB, timeout time.Duration, script string, args ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := NodeCommand(ctx, t, script, args...)
	out, err := cmd.Output()
	if err != nil {
		msg := ""
		if ee, ok := err.(*exec.ExitError); ok {
			msg = string(ee.Stderr)
		}
		t.Fatalf("node script failed: %v\nstdout: %s\nstderr: %s", err, out, msg)
	}
	return string(out)
}

var (
	buildOnce sync.Once
	binPath   string
	buildErr  error
)

// Binary builds cmd/camofleet once per test binary and returns its path.
func Binary(t testing.TB) string {
	t.Helper()
	buildOnce.Do(func() {
		// One fixed folder per checkout: go build is incremental, and test
		// runs do not leave a binary behind each.
		sum := sha256.Sum256([]byte(RepoRoot()))
		dir := filepath.Join(os.TempDir(), "camofleet-testbin-"+hex.EncodeToString(sum[:4]))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			buildErr = err
			return
		}
		binPath = filepath.Join(dir, "camofleet")
		// Built under a name of its own, then renamed into place: another
		// test binary may be running the previous build right now.
		tmp := fmt.Sprintf("%s.%d", binPath, os.Getpid())
		cmd := exec.Command("go", "build", "-o", tmp, "./cmd/camofleet")
		cmd.Dir = RepoRoot()
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = &buildError{out: string(out), err: err}
			return
		}
		buildErr = os.Rename(tmp, binPath)
	})
	if buildErr != nil {
		t.Fatalf("build camofleet: %v", buildErr)
	}
	return binPath
}

type buildError struct {
	out string
	err error
}

func (e *buildError) Error() string { return e.err.Error() + ": " + e.out }
