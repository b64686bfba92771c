package procs

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"testing"
	"time"
)

// startOrphan runs a script that backgrounds `sleep 0.2` and exits, so the
// sleep is re-parented to the test process. It returns the sleep's pid.
func startOrphan(t *testing.T, r *Reaper) int {
	t.Helper()
	var out bytes.Buffer
	maker := exec.Command("sh", "-c", "sleep 0.2 & echo $!")
	maker.SysProcAttr = SysProcAttr() // its own group, like every session process
	maker.Stdout = &out
	if err := r.Start(maker); err != nil {
		t.Fatal(err)
	}
	if err := r.Wait(maker); err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(string(bytes.TrimSpace(out.Bytes())))
	if err != nil {
		t.Fatalf("read orphan pid: %v", err)
	}
	return pid
}

// startOwned starts `sh -c 'exit 7'` owned by r, without waiting for it.
func startOwned(t *testing.T, r *Reaper) *exec.Cmd {
	t.Helper()
	cmd := exec.Command("sh", "-c", "exit 7")
	if err := r.Start(cmd); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			_ = r.Wait(cmd)
		}
	})
	return cmd
}

// zombieChildren returns this process's zombie children, or nil on error.
func zombieChildren() []int {
	zs, _ := Zombies(os.Getpid())
	return zs
}

func TestReaperRun(t *testing.T) {
	r := testReaper(t)
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan struct{})
	go func() {
		defer close(done)
		r.Run(ctx)
	}()
	defer func() { cancel(); <-done }()

	owned := startOwned(t, r)
	orphan := startOrphan(t, r)

	// The owned child stays a zombie for its Wait while Run reaps the
	// orphan, woken by the SIGCHLD of each exit.
	eventually(t, "the orphan is reaped and the owned child waits", func() bool {
		return !exists(orphan) && slices.Contains(zombieChildren(), owned.Process.Pid)
	})
	if code := exitCode(r.Wait(owned)); code != 7 {
		t.Errorf("owned child exit code = %d, want 7", code)
	}
	eventually(t, "no zombie children are left", func() bool {
		return len(zombieChildren()) == 0
	})
}

func TestReaperReapOnce(t *testing.T) {
	r := testReaper(t)
	owned := startOwned(t, r)
	orphan := startOrphan(t, r)

	eventually(t, "the orphan is a zombie child of the test", func() bool {
		zs := zombieChildren()
		return slices.Contains(zs, orphan) && slices.Contains(zs, owned.Process.Pid)
	})
	if n := r.ReapOnce(); n < 1 {
		t.Errorf("ReapOnce() = %d, want at least the orphan", n)
	}
	zs := zombieChildren()
	if slices.Contains(zs, orphan) || !slices.Contains(zs, owned.Process.Pid) {
		t.Errorf("zombie children after ReapOnce = %v, want %d and not %d",
			zs, owned.Process.Pid, orphan)
	}
	if code := exitCode(r.Wait(owned)); code != 7 {
		t.Errorf("owned child exit code = %d, want 7", code)
	}
	if n := r.ReapOnce(); n != 0 {
		t.Errorf("second ReapOnce() = %d, want 0", n)
	}
}

func TestReaperOwnCounts(t *testing.T) {
	r := testReaper(t)
	r.Own(100)
	r.Own(100)
	r.Disown(100)
	if r.owned[100] != 1 {
		t.Fatalf("after two Own and one Disown, owned = %d, want 1", r.owned[100])
	}
	r.Disown(100)
	r.Disown(100)
	if _, ok := r.owned[100]; ok {
		t.Errorf("after Disown, pid still owned")
	}
}

// TestReaperLeavesOwnGroupAlone: a plain os/exec child (no reaper, same
// process group as the worker, like ffprobe) keeps its exit status for Wait
// even when the reaper runs while it is a zombie.
func TestReaperLeavesOwnGroupAlone(t *testing.T) {
	r := testReaper(t)
	cmd := exec.Command("sh", "-c", "exit 3")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !slices.Contains(zombieChildren(), cmd.Process.Pid) {
		if time.Now().After(deadline) {
			t.Fatal("child did not become a zombie")
		}
		time.Sleep(10 * time.Millisecond)
	}
	r.ReapOnce()
	err := cmd.Wait()
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 3 {
		t.Fatalf("Wait = %v, want exit status 3 (the reaper must not steal it)", err)
	}
}
