package procs

import (
	"fmt"
	"log/slog"
	"os/exec"
	"sync"
	"time"
)

// ReapInterval is how often Run looks for zombies when no SIGCHLD arrives.
// Signals are coalesced and can be missed, so the poll is the backstop.
const ReapInterval = time.Second

// Reaper reaps zombie children of this process that no os/exec.Cmd owns:
// orphans re-parented to the worker because it is the child subreaper or PID 1.
//
// exec.Cmd.Wait must keep working for the children the worker started, so a
// Reaper never waits on -1. It lists this process's zombie children in /proc
// and waits on each pid that is not owned.
//
// A child must be owned before it can exit unseen. Start children with Start,
// which owns the pid before any reaping can look: with cmd.Start followed by
// Own, a child that exits at once can be reaped in between, and its Wait then
// fails with "no child processes".
type Reaper struct {
	logger *slog.Logger

	mu sync.Mutex
	// owned counts owners per pid, so that a Disown for a waited child
	// cannot drop a newer child that was given the same pid.
	owned map[int]int
}

// NewReaper returns a Reaper that logs what it reaps to logger.
func NewReaper(logger *slog.Logger) *Reaper {
	return &Reaper{logger: logger, owned: make(map[int]int)}
}

// Own marks pid as waited for by an exec.Cmd, so the Reaper leaves it alone.
func (r *Reaper) Own(pid int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.owned[pid]++
}

// Disown undoes one Own once the exec.Cmd's Wait has returned.
func (r *Reaper) Disown(pid int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.owned[pid] <= 1 {
		delete(r.owned, pid)
		return
	}
	r.owned[pid]--
}

// Start starts cmd and owns its pid before the Reaper can see the child exit.
// Wait for the child with Wait.
func (r *Reaper) Start(cmd *exec.Cmd) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start process: %w", err)
	}
	r.owned[cmd.Process.Pid]++
	return nil
}

// Wait waits for cmd, started with Start, then disowns its pid. It returns
// what cmd.Wait returns, so an *exec.ExitError keeps its exit status.
func (r *Reaper) Wait(cmd *exec.Cmd) error {
	defer r.Disown(cmd.Process.Pid)
	return cmd.Wait()
}
