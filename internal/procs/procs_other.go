//go:build !linux

package procs

import (
	"context"
	"errors"
	"fmt"
	"syscall"
)

// SysProcAttr returns default attributes: process groups and Pdeathsig are
// supervised on Linux only.
func SysProcAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{}
}

// EnableSubreaper is supported on Linux only; here it returns an error
// wrapping errors.ErrUnsupported.
func EnableSubreaper() error {
	return fmt.Errorf("enable subreaper: %w", errors.ErrUnsupported)
}

// Run waits for ctx to be done: reaping is supported on Linux only.
func (r *Reaper) Run(ctx context.Context) {
	<-ctx.Done()
}

// ReapOnce reaps nothing and returns 0: reaping is supported on Linux only.
func (r *Reaper) ReapOnce() int {
	return 0
}

// Descendants is supported on Linux only; here it returns an error wrapping
// errors.ErrUnsupported.
func Descendants(pid int) ([]int, error) {
	return nil, fmt.Errorf("descendants of %d: %w", pid, errors.ErrUnsupported)
}

// KillTree is supported on Linux only; here it returns an error wrapping
// errors.ErrUnsupported.
func KillTree(root int) error {
	return fmt.Errorf("kill tree of %d: %w", root, errors.ErrUnsupported)
}

// FindByEnv is supported on Linux only; here it returns an error wrapping
// errors.ErrUnsupported.
func FindByEnv(key, value string) ([]int, error) {
	return nil, fmt.Errorf("find by env: %w", errors.ErrUnsupported)
}

// KillByEnv is supported on Linux only; here it returns an error wrapping
// errors.ErrUnsupported.
func KillByEnv(key, value string) (int, error) {
	return 0, fmt.Errorf("kill by env: %w", errors.ErrUnsupported)
}

// Zombies is supported on Linux only; here it returns an error wrapping
// errors.ErrUnsupported.
func Zombies(ppid int) ([]int, error) {
	return nil, fmt.Errorf("zombies of %d: %w", ppid, errors.ErrUnsupported)
}
