package controlplane

import (
	"context"
	"io"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/camo-fleet/camo-fleet/internal/api"
)

// testPool returns a pool with one worker that is up, offers chromium and
// has capacity slots; it touches no registry and no network.
func testPool(capacity int) (*Pool, *worker) {
	p := newPool(Config{}, nil, nil, slog.New(slog.NewTextHandler(io.Discard, nil)))
	w := &worker{id: "w1", up: true, capacity: capacity, engines: map[string]bool{"chromium": true},
		live: map[string]time.Time{}}
	p.workers[w.id] = w
	return p, w
}

func running(id string) api.Session { return api.Session{ID: id, State: api.StateReady} }
func ended(id string) api.Session   { return api.Session{ID: id, State: api.StateClosed} }

func liveOf(w *worker) []string {
	var ids []string
	for id := range w.live {
		ids = append(ids, id)
	}
	slices.Sort(ids)
	return ids
}

func TestTrack(t *testing.T) {
	cases := []struct {
		name  string
		seen  []api.Session
		want  []string
		freed bool // by the last one
	}{
		{"running counts", []api.Session{running("a"), running("b")}, []string{"a", "b"}, false},
		{"repeats count once", []api.Session{running("a"), running("a")}, []string{"a"}, false},
		{"end frees", []api.Session{running("a"), ended("a")}, nil, true},
		{"end of unknown frees nothing", []api.Session{ended("a")}, nil, false},
		{"late answer does not revive", []api.Session{running("a"), ended("a"), running("a")},
			nil, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, w := testPool(4)
			var freed bool
			for _, s := range tc.seen {
				freed = w.track(s)
			}
			if got := liveOf(w); !slices.Equal(got, tc.want) || freed != tc.freed {
				t.Errorf("live %v freed %v, want %v and %v", got, freed, tc.want, tc.freed)
			}
		})
	}
}

// TestRecountKeepsNewerSessions checks that a worker's list replaces the
// count, except for sessions added after the list was asked for.
func TestRecountKeepsNewerSessions(t *testing.T) {
	p, w := testPool(4)
	w.track(running("old"))
	asked := time.Now()
	time.Sleep(time.Millisecond)
	w.track(running("new"))
	p.recount(w, []api.Session{running("listed"), ended("done")}, asked)
	if got := liveOf(w); !slices.Equal(got, []string{"listed", "new"}) {
		t.Errorf("live after recount %v, want [listed new]", got)
	}
}

// TestSchedulerFIFO fills a one-slot worker, queues two creates and frees
// the slot twice: they get it in the order they came.
func TestSchedulerFIFO(t *testing.T) {
	p, w := testPool(1)
	s := newScheduler(p, 5, time.Minute)
	first, err := s.Acquire(context.Background(), "chromium")
	if err != nil {
		t.Fatal(err)
	}
	p.release(first, &api.Session{ID: "a", State: api.StateReady})
	got := make(chan string, 2)
	for _, name := range []string{"one", "two"} {
		go func() {
			if _, err := s.Acquire(context.Background(), "chromium"); err == nil {
				got <- name
			}
		}()
		waitLen(t, s, map[string]int{"one": 1, "two": 2}[name])
	}
	p.note(w, ended("a"))
	if name := <-got; name != "one" {
		t.Fatalf("first to start: %s, want one", name)
	}
	p.release(w, &api.Session{ID: "b", State: api.StateReady})
	p.note(w, ended("b"))
	if name := <-got; name != "two" {
		t.Fatalf("second to start: %s, want two", name)
	}
}

// TestSchedulerGiveUp checks that a waiting create whose client goes away
// leaves the queue and holds no slot, and that a full queue refuses.
func TestSchedulerGiveUp(t *testing.T) {
	p, w := testPool(1)
	s := newScheduler(p, 1, time.Minute)
	if _, err := s.Acquire(context.Background(), "chromium"); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { _, err := s.Acquire(ctx, "chromium"); done <- err }()
	waitLen(t, s, 1)
	if _, err := s.Acquire(context.Background(), "chromium"); err == nil {
		t.Fatal("a second waiter got in past QUEUE_MAX=1")
	}
	cancel()
	if err := <-done; err == nil {
		t.Fatal("cancelled waiter got a slot")
	}
	p.release(w, nil)
	if s.Len() != 0 || w.reserved != 0 || len(w.live) != 0 {
		t.Errorf("queue %d, reserved %d, live %d; want all 0", s.Len(), w.reserved, len(w.live))
	}
}

func waitLen(t *testing.T, s *Scheduler, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for s.Len() != n {
		if time.Now().After(deadline) {
			t.Fatalf("queue length %d, want %d", s.Len(), n)
		}
		time.Sleep(time.Millisecond)
	}
}

func TestLater(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(st api.State, d ...time.Duration) api.Session {
		s := api.Session{ID: "a", State: st}
		for _, x := range d {
			s.History = append(s.History, api.StateChange{State: st, At: t0.Add(x)})
		}
		return s
	}
	cases := []struct {
		name string
		a, b api.Session
		want bool
	}{
		{"same state", at(api.StateReady, 2), at(api.StateReady, 1), false},
		{"later change", at(api.StateRunning, 0, 2), at(api.StateReady, 0), true},
		{"earlier change", at(api.StateStarting, 0), at(api.StateReady, 0, 1), false},
		{"no history, ended", at(api.StateClosed), at(api.StateReady), true},
		{"no history, not ended", at(api.StateRunning), at(api.StateReady), false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := later(tc.a, tc.b); got != tc.want {
				t.Errorf("later = %v, want %v", got, tc.want)
			}
		})
	}
}
