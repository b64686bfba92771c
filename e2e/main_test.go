package e2e

import (
	"os/exec"
	"testing"
)

// engines are the engines every lifecycle test runs on.
var engines = []string{"chromium", "firefox"}

var binaries = map[string]string{"chromium": "chromium", "firefox": "firefox-esr"}

// needEngine skips the test when the engine's browser is not installed.
func needEngine(t *testing.T, engine string) {
	t.Helper()
	if _, err := exec.LookPath(binaries[engine]); err != nil {
		t.Skipf("%s is not installed (%v); install it with the README's setup command", engine, err)
	}
}
