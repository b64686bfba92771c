package registrytest

import (
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/camo-fleet/camo-fleet/internal/registry"
)

func testQueue(t *testing.T, h Harness) {
	ctx, s := testCtx(t), newStore(t, h)
	if list, err := s.ListQueue(ctx); err != nil || len(list) != 0 {
		t.Fatalf("ListQueue on empty store = %v, %v; want empty", list, err)
	}
	at := base().Add(-time.Minute)
	entries := []registry.QueueEntry{
		{ID: "q-c", Engine: "firefox", Owner: "alice", EnqueuedAt: at,
			Request: json.RawMessage(`{"mode": "direct"}`)},
		// Same time as q-c: the order of arrival decides.
		{ID: "q-a", Engine: "chromium", Owner: "bob", EnqueuedAt: at},
		{ID: "q-b", Engine: "camoufox", Owner: "alice"},
	}
	for i, e := range entries {
		out, err := s.Enqueue(ctx, e, 3)
		if err != nil {
			t.Fatal(err)
		}
		if out.Position != i+1 || out.EnqueuedAt.IsZero() {
			t.Errorf("Enqueue(%s) = position %d at %v, want position %d",
				e.ID, out.Position, out.EnqueuedAt, i+1)
		}
		entries[i] = out
	}
	assertQueue(t, s, entries)

	_, err := s.Enqueue(ctx, registry.QueueEntry{ID: "q-d"}, 3)
	if !errors.Is(err, registry.ErrQueueFull) {
		t.Errorf("Enqueue past maxLen: error = %v, want ErrQueueFull", err)
	}
	_, err = s.Enqueue(ctx, registry.QueueEntry{ID: "q-a"}, 0)
	if !errors.Is(err, registry.ErrConflict) {
		t.Errorf("Enqueue of a queued ID: error = %v, want ErrConflict", err)
	}
	if _, err := s.Enqueue(ctx, registry.QueueEntry{}, 0); !errors.Is(err, registry.ErrInvalid) {
		t.Errorf("Enqueue without ID: error = %v, want ErrInvalid", err)
	}

	if err := s.Dequeue(ctx, "q-a"); err != nil {
		t.Fatal(err)
	}
	if err := s.Dequeue(ctx, "q-a"); !errors.Is(err, registry.ErrNotFound) {
		t.Errorf("second Dequeue: error = %v, want ErrNotFound", err)
	}
	d, err := s.Enqueue(ctx, registry.QueueEntry{ID: "q-d"}, 0)
	if err != nil {
		t.Fatal(err)
	}
	if d.Position != 3 {
		t.Errorf("q-d position = %d, want 3", d.Position)
	}
	entries[2].Position, d.Position = 2, 3
	assertQueue(t, s, []registry.QueueEntry{entries[0], entries[2], d})
}

// testQueueBound enqueues from two replicas at once: exactly maxLen
// entries get in, and each entry is dequeued by exactly one of them.
func testQueueBound(t *testing.T, h Harness) {
	ctx := testCtx(t)
	open := h.NewDB(t)
	stores := []registry.Store{mustOpen(t, open), mustOpen(t, open)}
	const maxLen = 20
	var in, full atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, 80)
	for g := 0; g < 8; g++ {
		wg.Go(func() {
			for i := 0; i < 10; i++ {
				e := registry.QueueEntry{ID: fmt.Sprintf("q-%d-%d", g, i)}
				_, err := stores[g%2].Enqueue(ctx, e, maxLen)
				switch {
				case err == nil:
					in.Add(1)
				case errors.Is(err, registry.ErrQueueFull):
					full.Add(1)
				default:
					errs <- err
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("enqueue: %v", err)
	}
	if in.Load() != maxLen || full.Load() != 80-maxLen {
		t.Fatalf("%d enqueued and %d refused, want %d and %d", in.Load(), full.Load(), maxLen, 80-maxLen)
	}

	list, err := stores[0].ListQueue(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var won atomic.Int64
	for _, e := range list {
		for _, s := range stores {
			wg.Go(func() {
				if err := s.Dequeue(ctx, e.ID); err == nil {
					won.Add(1)
				} else if !errors.Is(err, registry.ErrNotFound) {
					t.Errorf("dequeue %s: %v", e.ID, err)
				}
			})
		}
	}
	wg.Wait()
	if won.Load() != maxLen {
		t.Errorf("%d dequeues succeeded, want %d (one per entry)", won.Load(), maxLen)
	}
}

func assertQueue(t *testing.T, s registry.Store, want []registry.QueueEntry) {
	t.Helper()
	got, err := s.ListQueue(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Fatalf("queue = %+v, want %+v", got, want)
	}
	for i := range got {
		g, w := got[i], want[i]
		same := g.ID == w.ID && g.Engine == w.Engine && g.Owner == w.Owner &&
			string(g.Request) == string(w.Request) && g.EnqueuedAt.Equal(w.EnqueuedAt) &&
			g.Position == w.Position
		if !same {
			t.Errorf("queue[%d] = %+v, want %+v", i, g, w)
		}
	}
}
