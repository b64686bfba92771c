package procs

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// maxRounds bounds how often a sweep looks again for processes forked while
// it was stopping the ones it had found.
const maxRounds = 10

// KillTree sends SIGKILL to the process group of root, to the process groups
// of all its descendants, and to each descendant itself. Processes that are
// gone are not errors. It does not wait for them to die or reap them.
//
// To keep processes from forking past it, KillTree first stops everything it
// finds with SIGSTOP, looking again until nothing new appears, and only then
// kills.
//
// Call it before waiting for root. While root is unreaped, its pid cannot be
// reused, and if root has exited its group is still killed: the members may
// outlive the leader. Processes that left both the tree and root's group,
// such as the children of a detached browser that exited, are out of reach
// here; KillByEnv finds those.
func KillTree(root int) error {
	pick := func(t table) []proc {
		top, ok := t[root]
		if !ok {
			// Gone from /proc: only its group can be left, and a pid
			// that is still some group's id cannot have been reused.
			top = proc{pgid: root}
		}
		return append([]proc{top}, t.descendants(root)...)
	}
	if _, err := sweep(pick); err != nil {
		return fmt.Errorf("kill tree of %d: %w", root, err)
	}
	return nil
}

// KillByEnv SIGKILLs every process FindByEnv finds for key=value, its process
// group, and its descendants, which belong to the session even if they
// dropped the marker. Like KillTree it stops them all before killing. It
// returns how many processes it signalled, and does not reap them.
func KillByEnv(key, value string) (int, error) {
	entry, err := envEntry(key, value)
	if err != nil {
		return 0, fmt.Errorf("kill by env: %w", err)
	}
	pick := func(t table) []proc {
		var out []proc
		for _, p := range t.byEnv(entry) {
			out = append(out, p)
			out = append(out, t.descendants(p.pid)...)
		}
		return out
	}
	n, err := sweep(pick)
	if err != nil {
		return n, fmt.Errorf("kill by env %s: %w", key, err)
	}
	return n, nil
}

// sweep stops the processes pick chooses from a fresh snapshot, round after
// round until a round chooses none that are new, then kills all of them. It
// returns how many processes it chose.
func sweep(pick func(table) []proc) (int, error) {
	var g guard
	chosen := make(map[proc]bool)
	var errs []error
	for round := range maxRounds {
		t, err := snapshot()
		if err != nil {
			errs = append(errs, err)
			break // Kill what is stopped already rather than leave it.
		}
		if round == 0 {
			g = newGuard(t)
		}
		if !stopNew(g, pick(t), chosen, &errs) {
			break
		}
	}

	killed := make(map[int]bool)
	for p := range chosen {
		errs = append(errs, g.send(p, unix.SIGKILL))
		if p.pid != 0 {
			killed[p.pid] = true
		}
	}
	return len(killed), errors.Join(errs...)
}

// stopNew sends SIGSTOP to each of ps not yet in chosen, adds it, and
// reports whether there was any.
func stopNew(g guard, ps []proc, chosen map[proc]bool, errs *[]error) bool {
	added := false
	for _, p := range ps {
		// Only pid and group matter: a state change is no new process.
		p = proc{pid: p.pid, pgid: p.pgid}
		if chosen[p] {
			continue
		}
		chosen[p] = true
		added = true
		*errs = append(*errs, g.send(p, unix.SIGSTOP))
	}
	return added
}

// guard holds what a sweep must never signal: this process, its ancestors
// and their process groups.
type guard struct {
	pids, groups map[int]bool
}

// newGuard builds the guard from a snapshot, adding this process and its
// group even if the snapshot lacks them.
func newGuard(t table) guard {
	g := guard{pids: t.ancestry(os.Getpid()), groups: make(map[int]bool)}
	for pid := range g.pids {
		g.groups[t[pid].pgid] = true
	}
	g.groups[unix.Getpgrp()] = true
	return g
}

// send signals p's process group and then p itself, skipping anything the
// guard spares. Pid 1 and groups 0 and 1 are never signalled: kill(2) reads
// -1 as every process and 0 as the caller's own group.
func (g guard) send(p proc, sig unix.Signal) error {
	var errs []error
	if p.pgid > 1 && !g.groups[p.pgid] {
		errs = append(errs, kill(-p.pgid, sig))
	}
	if p.pid > 1 && !g.pids[p.pid] {
		errs = append(errs, kill(p.pid, sig))
	}
	return errors.Join(errs...)
}

// kill sends sig to pid, a process group if negative. A target that is gone
// is not an error.
func kill(pid int, sig unix.Signal) error {
	err := unix.Kill(pid, sig)
	if err == nil || errors.Is(err, unix.ESRCH) {
		return nil
	}
	return fmt.Errorf("send %s to %d: %w", unix.SignalName(sig), pid, err)
}
