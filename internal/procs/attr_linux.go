package procs

import (
	"fmt"
	"syscall"

	"golang.org/x/sys/unix"
)

// SysProcAttr returns attributes for a supervised child: its own process group
// (Setpgid), so the group can be killed without touching the worker, and
// Pdeathsig SIGTERM, so the child hears when the worker dies.
//
// Linux sends Pdeathsig when the thread that started the child exits, not the
// process. Go ends a thread only when a goroutine locked to it with
// runtime.LockOSThread returns, so start children from unlocked goroutines.
func SysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGTERM}
}

// EnableSubreaper makes this process the child subreaper, so orphaned
// descendants are re-parented here instead of to init. A Reaper must then reap
// them.
func EnableSubreaper() error {
	if err := unix.Prctl(unix.PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0); err != nil {
		return fmt.Errorf("enable subreaper: %w", err)
	}
	return nil
}
