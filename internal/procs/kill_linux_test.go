package procs

import (
	"slices"
	"testing"
)

// bystander starts an unmarked process that the kills must leave alone.
func bystander(t *testing.T, r *Reaper) int {
	t.Helper()
	return startScript(t, r, "echo ready; exec sleep 300").Process.Pid
}

func TestKillTree(t *testing.T) {
	tests := []struct {
		name   string
		script string
	}{
		{
			name:   "background children",
			script: "sleep 300 & sleep 300 & echo ready; wait",
		},
		{
			name:   "child in its own session",
			script: "sleep 300 & setsid sleep 300 & echo ready; wait",
		},
		{
			name: "grandchild in its own session",
			script: "setsid sh -c 'sleep 300 & sleep 300; :' & " +
				"echo ready; wait",
		},
		{
			name:   "orphan left in the group",
			script: "(sleep 300 &); echo ready; wait",
		},
		{
			name:   "root exited, orphan in its group",
			script: "sleep 300 & echo ready; exit 0",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := testReaper(t)
			key, value := marker(t)
			killMarked(t, key, value)
			other := bystander(t, r)
			cmd := startScript(t, r, tt.script, key+"="+value)

			var before []int
			eventually(t, "the tree is up", func() bool {
				before, _ = FindByEnv(key, value)
				return len(before) > 0
			})
			if err := KillTree(cmd.Process.Pid); err != nil {
				t.Fatal(err)
			}
			_ = r.Wait(cmd)

			eventually(t, "the tree is gone", func() bool {
				left, err := FindByEnv(key, value)
				return err == nil && len(left) == 0 && allGone(r, before)
			})
			if !running(t, other) {
				t.Errorf("bystander %d was killed", other)
			}
		})
	}
}

func TestDescendantsFindsGrandchildren(t *testing.T) {
	r := testReaper(t)
	cmd := startScript(t, r, "sh -c 'sleep 300; :' & echo ready; wait")
	root := cmd.Process.Pid
	t.Cleanup(func() { _ = KillTree(root) })

	var got []int
	eventually(t, "the grandchild is up", func() bool {
		var err error
		got, err = Descendants(root)
		return err == nil && len(got) == 2
	})
	if slices.Contains(got, root) {
		t.Errorf("Descendants(%d) = %v, includes the root", root, got)
	}
	grandchildren := 0
	for _, pid := range got {
		p, err := readStat(pid)
		if err == nil && p.ppid != root && slices.Contains(got, p.ppid) {
			grandchildren++
		}
	}
	if grandchildren != 1 {
		t.Errorf("Descendants(%d) = %v, want one child and one grandchild", root, got)
	}
}

func TestKillByEnv(t *testing.T) {
	r := testReaper(t)
	key, value := marker(t)
	killMarked(t, key, value)
	killMarked(t, key, value+"x")

	unmarked := bystander(t, r)
	nearMiss := startScript(t, r, "echo ready; exec sleep 300", key+"="+value+"x")
	cmd := startScript(t, r,
		"setsid sh -c 'sleep 300; :' & sleep 300 & echo ready; wait",
		key+"="+value)

	// The root, its sleep, the detached sh and that sh's sleep.
	var found []int
	eventually(t, "four marked processes are up", func() bool {
		var err error
		found, err = FindByEnv(key, value)
		return err == nil && len(found) == 4
	})
	if !slices.Contains(found, cmd.Process.Pid) {
		t.Errorf("FindByEnv() = %v, lacks the root %d", found, cmd.Process.Pid)
	}

	n, err := KillByEnv(key, value)
	if err != nil {
		t.Fatal(err)
	}
	if n != len(found) {
		t.Errorf("KillByEnv() = %d, want %d", n, len(found))
	}
	if code := exitCode(r.Wait(cmd)); code != -1 {
		t.Errorf("root exited with code %d, want killed by a signal", code)
	}

	eventually(t, "the marked processes are gone", func() bool {
		left, err := FindByEnv(key, value)
		return err == nil && len(left) == 0 && allGone(r, found)
	})
	for _, pid := range []int{unmarked, nearMiss.Process.Pid} {
		if !running(t, pid) {
			t.Errorf("unmarked process %d was killed", pid)
		}
	}
}
