package fanout

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/camo-fleet/camo-fleet/internal/registry"
)

func TestPublishOrderAndDedup(t *testing.T) {
	h := New(5)
	ch, err := h.Subscribe(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range []int64{3, 5, 6, 6, 4, 8, 7, 9} {
		h.Publish(id)
	}
	var got []int64
	for len(got) < 3 {
		got = append(got, <-ch)
	}
	if got[0] != 6 || got[1] != 8 || got[2] != 9 {
		t.Errorf("received %v, want [6 8 9]", got)
	}
	if h.Last() != 9 {
		t.Errorf("Last = %d, want 9", h.Last())
	}
}

func TestSlowSubscriberKeepsNewest(t *testing.T) {
	h := New(0)
	slow, err := h.Subscribe(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	for id := int64(1); id <= 10*buffer; id++ {
		h.Publish(id) // must not block
	}
	var last int64
	for len(slow) > 0 {
		id := <-slow
		if id <= last {
			t.Fatalf("got %d after %d", id, last)
		}
		last = id
	}
	if last != 10*buffer {
		t.Errorf("last received %d, want %d", last, 10*buffer)
	}
}

func TestUnsubscribeAndClose(t *testing.T) {
	h := New(0)
	ctx, cancel := context.WithCancel(context.Background())
	a, err := h.Subscribe(ctx)
	if err != nil {
		t.Fatal(err)
	}
	b, err := h.Subscribe(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	cancel()
	waitClosed(t, a)
	h.Publish(1)
	if id := <-b; id != 1 {
		t.Errorf("b got %d, want 1", id)
	}
	h.Close()
	h.Close()
	waitClosed(t, b)
	h.Publish(2) // no panic on closed channels
	if _, err := h.Subscribe(context.Background()); !errors.Is(err, registry.ErrClosed) {
		t.Errorf("Subscribe after Close: error = %v, want ErrClosed", err)
	}
}

func waitClosed(t *testing.T, ch <-chan int64) {
	t.Helper()
	timeout := time.After(time.Second)
	for {
		select {
		case _, ok := <-ch:
			if !ok {
				return
			}
		case <-timeout:
			t.Fatal("channel not closed")
		}
	}
}
