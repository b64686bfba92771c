package registrytest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/camo-fleet/camo-fleet/internal/registry"
)

func testEvents(t *testing.T, h Harness) {
	ctx, s := testCtx(t), newStore(t, h)
	if id, err := s.LatestEventID(ctx); err != nil || id != 0 {
		t.Fatalf("LatestEventID on empty store = %d, %v; want 0", id, err)
	}
	before := base()
	var appended []registry.Event
	for i := 0; i < 5; i++ {
		e := appendEvent(t, s, registry.Event{Type: "session.state", SessionID: fmt.Sprintf("s-%d", i),
			WorkerID: "w-1", Data: json.RawMessage(fmt.Sprintf(`{"n": %d}`, i))})
		if e.Time.Before(before) || e.Time.After(base().Add(time.Second)) {
			t.Errorf("event time %v, want about now", e.Time)
		}
		if len(appended) > 0 && e.ID <= appended[len(appended)-1].ID {
			t.Errorf("event ID %d after %d: not increasing", e.ID, appended[len(appended)-1].ID)
		}
		appended = append(appended, e)
	}
	at := base().Add(-time.Hour)
	stamped := appendEvent(t, s, registry.Event{Type: "worker.up", WorkerID: "w-2", Time: at})
	if !stamped.Time.Equal(at) {
		t.Errorf("given Time %v stored as %v", at, stamped.Time)
	}
	appended = append(appended, stamped)

	got, err := s.EventsAfter(ctx, 0, 100)
	if err != nil {
		t.Fatal(err)
	}
	assertEvents(t, got, appended)
	got, err = s.EventsAfter(ctx, appended[1].ID, 2)
	if err != nil {
		t.Fatal(err)
	}
	assertEvents(t, got, appended[2:4])
	if got, err := s.EventsAfter(ctx, stamped.ID, 10); err != nil || len(got) != 0 {
		t.Errorf("EventsAfter(latest) = %v, %v; want none", got, err)
	}
	if id, err := s.LatestEventID(ctx); err != nil || id != stamped.ID {
		t.Errorf("LatestEventID = %d, %v; want %d", id, err, stamped.ID)
	}
	for name, bad := range map[string]registry.Event{
		"no type":  {SessionID: "s"},
		"bad data": {Type: "x", Data: json.RawMessage(`nope`)},
	} {
		if _, err := s.AppendEvent(ctx, bad); !errors.Is(err, registry.ErrInvalid) {
			t.Errorf("AppendEvent(%s) error = %v, want ErrInvalid", name, err)
		}
	}
}

func testPruneEvents(t *testing.T, h Harness) {
	ctx, s := testCtx(t), newStore(t, h)
	if err := s.PruneEvents(ctx, 3); err != nil {
		t.Fatalf("prune empty log: %v", err)
	}
	var all []registry.Event
	for i := 0; i < 10; i++ {
		all = append(all, appendEvent(t, s, registry.Event{Type: "t"}))
	}
	if err := s.PruneEvents(ctx, 20); err != nil {
		t.Fatal(err)
	}
	assertEventsAfter(t, s, 0, all)
	if err := s.PruneEvents(ctx, 3); err != nil {
		t.Fatal(err)
	}
	assertEventsAfter(t, s, 0, all[7:])
	if err := s.PruneEvents(ctx, 0); err != nil {
		t.Fatal(err)
	}
	assertEventsAfter(t, s, 0, all[9:]) // the newest is always kept
	if id, err := s.LatestEventID(ctx); err != nil || id != all[9].ID {
		t.Errorf("LatestEventID after prune = %d, %v; want %d", id, err, all[9].ID)
	}
	next := appendEvent(t, s, registry.Event{Type: "t"})
	if next.ID <= all[9].ID {
		t.Errorf("event ID %d after pruning, want above %d", next.ID, all[9].ID)
	}
}

// testEventOrderAcrossReplicas appends from two Stores at once while a
// reader follows with EventsAfter, as an SSE stream does: no event may
// commit behind the reader's position, so the reader sees every one.
func testEventOrderAcrossReplicas(t *testing.T, h Harness) {
	ctx := testCtx(t)
	open := h.NewDB(t)
	writers := []registry.Store{mustOpen(t, open), mustOpen(t, open)}
	reader := mustOpen(t, open)

	const perWorker = 60
	var wg sync.WaitGroup
	errs := make(chan error, 4*perWorker)
	for g := 0; g < 4; g++ {
		wg.Go(func() {
			for i := 0; i < perWorker; i++ {
				e := registry.Event{Type: "t", SessionID: fmt.Sprint(g)}
				_, err := writers[g%2].AppendEvent(ctx, e)
				if err != nil {
					errs <- err
					return
				}
			}
		})
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()

	var seen []int64
	var last int64
	for finished := false; ; {
		select {
		case <-done:
			finished = true
		default:
		}
		list, err := reader.EventsAfter(ctx, last, 50)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range list {
			seen = append(seen, e.ID)
			last = e.ID
		}
		if finished && len(list) == 0 {
			break
		}
	}
	close(errs)
	for err := range errs {
		t.Fatalf("append: %v", err)
	}
	all, err := reader.EventsAfter(ctx, 0, registry.MaxLimit)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 4*perWorker || len(seen) != len(all) {
		t.Fatalf("reader followed %d events, log has %d, want %d", len(seen), len(all), 4*perWorker)
	}
	for i, e := range all {
		if seen[i] != e.ID {
			t.Fatalf("reader saw %d at position %d, log has %d", seen[i], i, e.ID)
		}
	}
}

func testSubscribe(t *testing.T, h Harness) {
	s := newStore(t, h)
	subCtx, unsubscribe := context.WithCancel(testCtx(t))
	ch, err := s.Subscribe(subCtx)
	if err != nil {
		t.Fatal(err)
	}
	other, err := s.Subscribe(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		e := appendEvent(t, s, registry.Event{Type: "t"})
		for _, c := range []<-chan int64{ch, other} {
			if got := receiveUntil(t, c, e.ID); got != e.ID {
				t.Fatalf("subscriber got %d, want %d", got, e.ID)
			}
		}
	}
	unsubscribe()
	waitClosed(t, ch, "after its context ended")

	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	waitClosed(t, other, "after Close")
	if _, err := s.Subscribe(testCtx(t)); !errors.Is(err, registry.ErrClosed) {
		t.Errorf("Subscribe after Close: error = %v, want ErrClosed", err)
	}
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := newStore(t, h).Subscribe(canceled); !errors.Is(err, context.Canceled) {
		t.Errorf("Subscribe with an ended context: error = %v, want context.Canceled", err)
	}
}

// testSubscribeSlow appends while a subscriber reads nothing: appends must
// not wait for it, and it must get the newest ID when it reads at last.
func testSubscribeSlow(t *testing.T, h Harness) {
	s := newStore(t, h)
	ch, err := s.Subscribe(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	var last registry.Event
	start := time.Now()
	for i := 0; i < 100; i++ {
		last = appendEvent(t, s, registry.Event{Type: "t"})
	}
	t.Logf("100 appends in %v with a subscriber that does not read", time.Since(start))
	var prev int64
	timeout := time.After(deliveryTimeout * 5)
	for prev != last.ID {
		select {
		case id := <-ch:
			if id <= prev {
				t.Fatalf("subscriber got %d after %d", id, prev)
			}
			prev = id
		case <-timeout:
			t.Fatalf("newest ID %d not delivered; last received %d", last.ID, prev)
		}
	}
}

func testSubscribeAcrossReplicas(t *testing.T, h Harness) {
	open := h.NewDB(t)
	a, b := mustOpen(t, open), mustOpen(t, open)
	if !h.SharedNotify {
		e := appendEvent(t, a, registry.Event{Type: "t"})
		assertEventsAfter(t, b, 0, []registry.Event{e})
		t.Skip("adapter notifies only its own subscribers (Harness.SharedNotify is false)")
	}
	subA, err := a.Subscribe(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	subB, err := b.Subscribe(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 5; i++ {
		from, to := a, subB
		if i%2 == 1 {
			from, to = b, subA
		}
		e := appendEvent(t, from, registry.Event{Type: "t"})
		if got := receiveUntil(t, to, e.ID); got != e.ID {
			t.Fatalf("other replica got %d, want %d", got, e.ID)
		}
	}
}

// receiveUntil reads ch until it gives an ID at or above want, within
// deliveryTimeout, and returns that ID.
func receiveUntil(t *testing.T, ch <-chan int64, want int64) int64 {
	t.Helper()
	timeout := time.After(deliveryTimeout)
	for {
		select {
		case id, ok := <-ch:
			if !ok {
				t.Fatalf("subscription closed while waiting for %d", want)
			}
			if id >= want {
				return id
			}
		case <-timeout:
			t.Fatalf("event %d not delivered within %v", want, deliveryTimeout)
		}
	}
}

func waitClosed(t *testing.T, ch <-chan int64, when string) {
	t.Helper()
	timeout := time.After(deliveryTimeout)
	for {
		select {
		case _, ok := <-ch:
			if !ok {
				return
			}
		case <-timeout:
			t.Fatalf("subscription not closed %s", when)
		}
	}
}

func appendEvent(t *testing.T, s registry.Store, e registry.Event) registry.Event {
	t.Helper()
	out, err := s.AppendEvent(testCtx(t), e)
	if err != nil {
		t.Fatal(err)
	}
	if out.ID <= 0 || out.Time.IsZero() {
		t.Fatalf("appended event %+v has no ID or Time", out)
	}
	return out
}

func assertEventsAfter(t *testing.T, s registry.Store, after int64, want []registry.Event) {
	t.Helper()
	got, err := s.EventsAfter(testCtx(t), after, registry.MaxLimit)
	if err != nil {
		t.Fatal(err)
	}
	assertEvents(t, got, want)
}

func assertEvents(t *testing.T, got, want []registry.Event) {
	t.Helper()
	key := func(list []registry.Event) []string {
		var out []string
		for _, e := range list {
			out = append(out, fmt.Sprintf("%d %s %s %s %s %s", e.ID, e.Time.UTC().Format(time.RFC3339Nano),
				e.Type, e.SessionID, e.WorkerID, e.Data))
		}
		return out
	}
	if g, w := key(got), key(want); !slices.Equal(g, w) {
		t.Errorf("events =\n%v\nwant\n%v", g, w)
	}
}
