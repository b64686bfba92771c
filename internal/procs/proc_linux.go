package procs

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// procRoot is where procfs is mounted.
const procRoot = "/proc"

// proc is what /proc/<pid>/stat says about one process. A proc with pid 0
// stands for a process group whose leader is gone.
type proc struct {
	pid, ppid, pgid int
	state           byte
}

// zombie reports whether the process has exited and waits to be reaped.
func (p proc) zombie() bool {
	return p.state == 'Z' || p.state == 'X' || p.state == 'x'
}

// table is a snapshot of the processes in /proc, by pid.
type table map[int]proc

// snapshot reads the stat of every process in /proc. Processes that exit
// while it reads are left out.
func snapshot() (table, error) {
	entries, err := os.ReadDir(procRoot)
	if err != nil {
		return nil, fmt.Errorf("list processes: %w", err)
	}
	t := make(table, len(entries))
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid <= 0 {
			continue
		}
		if p, err := readStat(pid); err == nil {
			t[pid] = p
		}
	}
	return t, nil
}

// readStat reads /proc/<pid>/stat.
func readStat(pid int) (proc, error) {
	b, err := os.ReadFile(filepath.Join(procRoot, strconv.Itoa(pid), "stat"))
	if err != nil {
		return proc{}, fmt.Errorf("read stat: %w", err)
	}
	return parseStat(string(b))
}

// parseStat reads pid, state, ppid and pgrp from a /proc/<pid>/stat line. The
// command name in parentheses may hold spaces and parentheses itself, so the
// fields after it are counted from the last ')'.
func parseStat(line string) (proc, error) {
	open := strings.IndexByte(line, '(')
	shut := strings.LastIndexByte(line, ')')
	if open < 0 || shut < open {
		return proc{}, fmt.Errorf("parse stat %q: no command name", line)
	}
	fields := strings.Fields(line[shut+1:])
	if len(fields) < 3 || len(fields[0]) != 1 {
		return proc{}, fmt.Errorf("parse stat %q: too few fields", line)
	}
	var p proc
	var errs [3]error
	p.pid, errs[0] = strconv.Atoi(strings.TrimSpace(line[:open]))
	p.ppid, errs[1] = strconv.Atoi(fields[1])
	p.pgid, errs[2] = strconv.Atoi(fields[2])
	for _, err := range errs {
		if err != nil {
			return proc{}, fmt.Errorf("parse stat %q: %w", line, err)
		}
	}
	p.state = fields[0][0]
	return p, nil
}

// descendants returns the processes below pid, zombies included, parents
// before their children.
func (t table) descendants(pid int) []proc {
	kids := make(map[int][]int)
	for _, p := range t {
		kids[p.ppid] = append(kids[p.ppid], p.pid)
	}
	var out []proc
	seen := map[int]bool{pid: true}
	queue := kids[pid]
	for len(queue) > 0 {
		next := queue[0]
		queue = queue[1:]
		if seen[next] {
			continue
		}
		seen[next] = true
		out = append(out, t[next])
		queue = append(queue, kids[next]...)
	}
	return out
}

// ancestry returns pid and every process above it.
func (t table) ancestry(pid int) map[int]bool {
	line := make(map[int]bool)
	for p, ok := t[pid]; ok && !line[p.pid]; p, ok = t[p.ppid] {
		line[p.pid] = true
	}
	line[pid] = true
	return line
}

// byEnv returns the live processes whose environment holds entry, leaving
// out this process and its ancestors.
func (t table) byEnv(entry string) []proc {
	spared := t.ancestry(os.Getpid())
	var out []proc
	for _, p := range t {
		if !p.zombie() && !spared[p.pid] && hasEnv(p.pid, entry) {
			out = append(out, p)
		}
	}
	return out
}

// hasEnv reports whether the environment of pid holds entry exactly. An
// unreadable environment holds nothing.
func hasEnv(pid int, entry string) bool {
	b, err := os.ReadFile(filepath.Join(procRoot, strconv.Itoa(pid), "environ"))
	if err != nil {
		return false
	}
	for kv := range bytes.SplitSeq(b, []byte{0}) {
		if string(kv) == entry {
			return true
		}
	}
	return false
}

// pids returns the sorted pids of ps that pass keep.
func pids(ps []proc, keep func(proc) bool) []int {
	var out []int
	for _, p := range ps {
		if keep(p) {
			out = append(out, p.pid)
		}
	}
	slices.Sort(out)
	return out
}

// envEntry returns key=value, or an error if key cannot name a variable.
func envEntry(key, value string) (string, error) {
	if key == "" || strings.ContainsAny(key, "=\x00") {
		return "", fmt.Errorf("invalid environment key %q", key)
	}
	return key + "=" + value, nil
}

// Descendants returns every live descendant of pid, not pid itself, found by
// walking the parent links in /proc/*/stat. Zombies are left out; a process
// whose parent died has been re-parented and is no descendant any more.
func Descendants(pid int) ([]int, error) {
	t, err := snapshot()
	if err != nil {
		return nil, fmt.Errorf("descendants of %d: %w", pid, err)
	}
	live := func(p proc) bool { return !p.zombie() }
	return pids(t.descendants(pid), live), nil
}

// Zombies returns the pids of zombie processes whose parent is ppid.
func Zombies(ppid int) ([]int, error) {
	return zombiesOutside(ppid, -1)
}

// zombiesOutside returns the zombie children of ppid that are not in process
// group pgid (-1: any group).
func zombiesOutside(ppid, pgid int) ([]int, error) {
	t, err := snapshot()
	if err != nil {
		return nil, fmt.Errorf("zombies of %d: %w", ppid, err)
	}
	var out []int
	for _, p := range t {
		if p.ppid == ppid && p.zombie() && p.pgid != pgid {
			out = append(out, p.pid)
		}
	}
	slices.Sort(out)
	return out, nil
}

// FindByEnv returns the pids of live processes whose environment holds
// key=value exactly, read from /proc/<pid>/environ; unreadable ones are
// skipped. It never returns this process or its ancestors.
//
// Zombies are never returned: the kernel frees a process's environment when
// it exits, so a zombie cannot be matched. It is dead already and needs only
// reaping by its parent, which a Reaper does for orphans re-parented here.
//
// The environment read is the one the process started with; a process that
// rewrites its environment in place can hide from, or fake, a marker.
func FindByEnv(key, value string) ([]int, error) {
	entry, err := envEntry(key, value)
	if err != nil {
		return nil, fmt.Errorf("find by env: %w", err)
	}
	t, err := snapshot()
	if err != nil {
		return nil, fmt.Errorf("find by env: %w", err)
	}
	all := func(proc) bool { return true }
	return pids(t.byEnv(entry), all), nil
}
