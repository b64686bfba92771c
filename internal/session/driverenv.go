package session

import (
	"fmt"
	"os"
)

// setDriverEnv points playwright-go at the pinned driver. playwright-go reads
// only the environment for this, so the values are set process-wide; they
// are the same for every session of a worker.
func setDriverEnv(nodePath, cliPath string) error {
	if _, err := os.Stat(cliPath); err != nil {
		return fmt.Errorf("playwright driver: %w (run the setup script)", err)
	}
	if err := os.Setenv("PLAYWRIGHT_NODEJS_PATH", nodePath); err != nil {
		return fmt.Errorf("set PLAYWRIGHT_NODEJS_PATH: %w", err)
	}
	if err := os.Setenv("PLAYWRIGHT_CLI_PATH", cliPath); err != nil {
		return fmt.Errorf("set PLAYWRIGHT_CLI_PATH: %w", err)
	}
	return nil
}
