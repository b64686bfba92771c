package procs

import (
	"context"
	"os"
	"os/signal"
	"time"

	"golang.org/x/sys/unix"
)

// Run reaps unowned zombie children when SIGCHLD arrives and every
// ReapInterval, until ctx is done.
func (r *Reaper) Run(ctx context.Context) {
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, unix.SIGCHLD)
	defer signal.Stop(sigs)

	tick := time.NewTicker(ReapInterval)
	defer tick.Stop()

	for {
		r.ReapOnce()
		select {
		case <-ctx.Done():
			return
		case <-sigs:
		case <-tick.C:
		}
	}
}

// ReapOnce reaps the unowned zombie children there are now and returns how
// many it reaped.
func (r *Reaper) ReapOnce() int {
	// The scan runs unlocked. A pid it reports is checked against owned under
	// the lock, and Start owns a child under that lock before releasing it, so
	// a child started meanwhile is seen as owned.
	//
	// Zombies in the worker's own process group are never touched: those are
	// children some os/exec caller (an ffprobe, a --version probe, the
	// playwright-go driver) is about to Wait for. Everything a session runs
	// lives in other groups (the launcher gets its own, the browser is
	// detached), so orphans re-parented here are still reaped.
	zombies, err := zombiesOutside(os.Getpid(), unix.Getpgrp())
	if err != nil {
		r.logger.Warn("list zombie children", "err", err)
		return 0
	}

	r.mu.Lock()
	defer r.mu.Unlock()
	reaped := 0
	for _, pid := range zombies {
		if r.owned[pid] == 0 && r.reap(pid) {
			reaped++
		}
	}
	return reaped
}

// reap waits on one zombie child without blocking and reports whether it was
// reaped.
func (r *Reaper) reap(pid int) bool {
	var status unix.WaitStatus
	got, err := unix.Wait4(pid, &status, unix.WNOHANG, nil)
	if err != nil || got != pid {
		r.logger.Debug("reap zombie", "pid", pid, "err", err)
		return false
	}
	r.logger.Debug("reaped orphan", "pid", pid,
		"exit_code", status.ExitStatus(), "signal", status.Signal().String())
	return true
}
