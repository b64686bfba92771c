package registrytest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/camo-fleet/camo-fleet/internal/api"
	"github.com/camo-fleet/camo-fleet/internal/registry"
)

// testConcurrentWriters writes from 8 goroutines over two replicas at
// once: none of the 800 writes may fail (no SQLITE_BUSY, no deadlock).
func testConcurrentWriters(t *testing.T, h Harness) {
	ctx := testCtx(t)
	open := h.NewDB(t)
	stores := []registry.Store{mustOpen(t, open), mustOpen(t, open)}
	const goroutines, writes = 8, 100
	var wg sync.WaitGroup
	errs := make(chan error, goroutines)
	var mu sync.Mutex
	eventIDs := map[int64]bool{}
	for g := 0; g < goroutines; g++ {
		wg.Go(func() {
			s := stores[g%2]
			for i := 0; i < writes; i++ {
				id, err := write(ctx, s, g, i)
				if err != nil {
					errs <- fmt.Errorf("goroutine %d write %d: %w", g, i, err)
					return
				}
				if id != 0 {
					mu.Lock()
					eventIDs[id] = true
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}

	const perKind = goroutines * writes / 4
	if len(eventIDs) != perKind {
		t.Errorf("%d distinct event IDs, want %d", len(eventIDs), perKind)
	}
	counts, err := stores[1].CountSessions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if counts[api.StateReady] != perKind {
		t.Errorf("sessions = %v, want %d ready", counts, perKind)
	}
	audit, err := stores[0].ListAudit(ctx, registry.AuditFilter{Limit: registry.MaxLimit})
	if err != nil || len(audit) != perKind {
		t.Errorf("audit has %d records, %v; want %d", len(audit), err, perKind)
	}
	workers, err := stores[0].ListWorkers(ctx)
	if err != nil || len(workers) != goroutines {
		t.Errorf("%d workers, %v; want %d", len(workers), err, goroutines)
	}
}

// write does the i-th write of goroutine g, one of four kinds, and returns
// the ID of the event it appended, if any.
func write(ctx context.Context, s registry.Store, g, i int) (int64, error) {
	switch i % 4 {
	case 0:
		return 0, s.PutSession(ctx, registry.Session{ID: fmt.Sprintf("s-%d-%d", g, i),
			State: api.StateReady, Labels: map[string]string{"g": fmt.Sprint(g)}})
	case 1:
		e, err := s.AppendEvent(ctx, registry.Event{Type: "t", SessionID: fmt.Sprint(g)})
		return e.ID, err
	case 2:
		_, err := s.AppendAudit(ctx, registry.Audit{Actor: fmt.Sprint(g), Action: "a"})
		return 0, err
	}
	return 0, s.PutWorker(ctx, registry.Worker{ID: fmt.Sprintf("w-%d", g), Active: i})
}

// testReopen closes and reopens the same database: migrations run again
// without harm and nothing is lost.
func testReopen(t *testing.T, h Harness) {
	ctx := testCtx(t)
	open := h.NewDB(t)
	var last int64
	for round := 0; round < 3; round++ {
		s, err := open(ctx)
		if err != nil {
			t.Fatalf("open #%d: %v", round+1, err)
		}
		sessions, _, err := s.ListSessions(ctx, registry.SessionFilter{})
		if err != nil || len(sessions) != round {
			t.Errorf("open #%d: %d sessions, %v; want %d", round+1, len(sessions), err, round)
		}
		if id, err := s.LatestEventID(ctx); err != nil || id != last {
			t.Errorf("open #%d: LatestEventID = %d, %v; want %d", round+1, id, err, last)
		}
		put(t, s, registry.Session{ID: fmt.Sprintf("s-%d", round)})
		e := appendEvent(t, s, registry.Event{Type: "t"})
		if e.ID <= last {
			t.Errorf("open #%d: event ID %d, want above %d", round+1, e.ID, last)
		}
		last = e.ID
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if err := s.Close(); err != nil {
			t.Errorf("second Close: %v", err)
		}
	}
}

// testContextCanceled calls every method with an ended context: each must
// give up with the context's error.
func testContextCanceled(t *testing.T, h Harness) {
	s := newStore(t, h)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	calls := map[string]func() error{
		"PutSession": func() error { return s.PutSession(ctx, registry.Session{ID: "s"}) },
		"GetSession": func() error { return second(s.GetSession(ctx, "s")) },
		"ListSessions": func() error {
			_, _, err := s.ListSessions(ctx, registry.SessionFilter{})
			return err
		},
		"CountSessions": func() error { return second(s.CountSessions(ctx)) },
		"PutWorker":     func() error { return s.PutWorker(ctx, registry.Worker{ID: "w"}) },
		"GetWorker":     func() error { return second(s.GetWorker(ctx, "w")) },
		"ListWorkers":   func() error { return second(s.ListWorkers(ctx)) },
		"DeleteWorker":  func() error { return s.DeleteWorker(ctx, "w") },
		"AppendEvent":   func() error { return second(s.AppendEvent(ctx, registry.Event{Type: "t"})) },
		"EventsAfter":   func() error { return second(s.EventsAfter(ctx, 0, 10)) },
		"LatestEventID": func() error { return second(s.LatestEventID(ctx)) },
		"PruneEvents":   func() error { return s.PruneEvents(ctx, 1) },
		"Subscribe":     func() error { return second(s.Subscribe(ctx)) },
		"AppendAudit":   func() error { return second(s.AppendAudit(ctx, registry.Audit{Action: "a"})) },
		"ListAudit":     func() error { return second(s.ListAudit(ctx, registry.AuditFilter{})) },
		"Enqueue":       func() error { return second(s.Enqueue(ctx, registry.QueueEntry{ID: "q"}, 0)) },
		"Dequeue":       func() error { return s.Dequeue(ctx, "q") },
		"ListQueue":     func() error { return second(s.ListQueue(ctx)) },
	}
	for name, call := range calls {
		if err := call(); !errors.Is(err, context.Canceled) {
			t.Errorf("%s: error = %v, want context.Canceled", name, err)
		}
	}
	list, _, err := s.ListSessions(testCtx(t), registry.SessionFilter{})
	if err != nil || len(list) != 0 {
		t.Errorf("after canceled calls: %d sessions, %v; want none written", len(list), err)
	}
}

// testNoGoroutineLeak checks that Close stops everything the Store
// started: listeners, pools, subscriptions.
func testNoGoroutineLeak(t *testing.T, h Harness) {
	open := h.NewDB(t)
	before := storeGoroutines()
	s, err := open(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	subCtx, unsubscribe := context.WithCancel(context.Background())
	defer unsubscribe()
	ch, err := s.Subscribe(subCtx)
	if err != nil {
		t.Fatal(err)
	}
	e := appendEvent(t, s, registry.Event{Type: "t"})
	receiveUntil(t, ch, e.ID)
	if _, _, err := s.ListSessions(testCtx(t), registry.SessionFilter{}); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	waitClosed(t, ch, "after Close")

	deadline := time.Now().Add(5 * time.Second)
	for {
		leaked := newGoroutines(before, storeGoroutines())
		if len(leaked) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d goroutines left after Close:\n\n%s", len(leaked), strings.Join(leaked, "\n\n"))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// storeMarkers pick, from all goroutine stacks, those a Store may start.
var storeMarkers = []string{
	"camo-fleet/internal/registry/", "github.com/jackc/", "database/sql.", "modernc.org/sqlite",
}

// storeGoroutines returns the stacks of goroutines a Store may have
// started, keyed by goroutine header ("goroutine 42").
func storeGoroutines() map[string]string {
	buf := make([]byte, 1<<20)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	out := map[string]string{}
	for _, stack := range bytes.Split(buf, []byte("\n\n")) {
		text := string(stack)
		header, _, _ := strings.Cut(text, " [")
		if strings.Contains(text, "registrytest.storeGoroutines") {
			continue
		}
		for _, m := range storeMarkers {
			if strings.Contains(text, m) {
				out[header] = text
				break
			}
		}
	}
	return out
}

// newGoroutines returns the stacks in after that were not in before.
func newGoroutines(before, after map[string]string) []string {
	var out []string
	for header, stack := range after {
		if _, ok := before[header]; !ok {
			out = append(out, stack)
		}
	}
	return out
}
