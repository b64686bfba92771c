package events

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/camo-fleet/camo-fleet/internal/registry"
)

func startHub(t *testing.T, opts Options) (*Hub, *Memory, *httptest.Server) {
	t.Helper()
	mem := NewMemory(1000)
	h := New(mem, opts, slog.New(slog.NewTextHandler(io.Discard, nil)))
	ctx, cancel := context.WithCancel(context.Background())
	go h.Run(ctx)
	srv := httptest.NewServer(h)
	t.Cleanup(func() { srv.CloseClientConnections(); srv.Close(); cancel() })
	return h, mem, srv
}

// readEvents reads SSE frames until n events with ids have arrived.
func readEvents(t *testing.T, r *bufio.Reader, n int) []string {
	t.Helper()
	var ids []string
	for len(ids) < n {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("read stream after %v: %v", ids, err)
		}
		if strings.HasPrefix(line, "id: ") {
			ids = append(ids, strings.TrimSpace(strings.TrimPrefix(line, "id: ")))
		}
	}
	return ids
}

func connect(t *testing.T, url, lastID string) (*http.Response, *bufio.Reader) {
	t.Helper()
	req, _ := http.NewRequest("GET", url, nil)
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { resp.Body.Close() })
	return resp, bufio.NewReader(resp.Body)
}

func waitSubscribers(t *testing.T, h *Hub, n int) {
	deadline := time.Now().Add(5 * time.Second)
	for h.Subscribers() != n {
		if time.Now().After(deadline) {
			t.Fatalf("want %d subscribers, have %d", n, h.Subscribers())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestLiveEventsAndHeaders(t *testing.T) {
	h, mem, srv := startHub(t, Options{})
	resp, r := connect(t, srv.URL, "")
	for k, want := range map[string]string{"Content-Type": "text/event-stream",
		"X-Accel-Buffering": "no", "Cache-Control": "no-cache, no-transform"} {
		if got := resp.Header.Get(k); got != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	waitSubscribers(t, h, 1)
	for i := 0; i < 3; i++ {
		ev := registry.Event{Type: "session.state", SessionID: fmt.Sprint(i)}
		_, _ = mem.AppendEvent(context.Background(), ev)
	}
	if ids := readEvents(t, r, 3); strings.Join(ids, ",") != "1,2,3" {
		t.Fatalf("ids %v", ids)
	}
}

func TestReplayFromLastEventID(t *testing.T) {
	_, mem, srv := startHub(t, Options{})
	for i := 0; i < 5; i++ {
		_, _ = mem.AppendEvent(context.Background(), registry.Event{Type: "x"})
	}
	_, r := connect(t, srv.URL, "2")
	if ids := readEvents(t, r, 3); strings.Join(ids, ",") != "3,4,5" {
		t.Fatalf("replayed %v, want 3,4,5", ids)
	}
	_, _ = mem.AppendEvent(context.Background(), registry.Event{Type: "x"})
	if ids := readEvents(t, r, 1); ids[0] != "6" {
		t.Fatalf("live after replay %v, want 6 (no duplicates)", ids)
	}
}

func TestBadLastEventID(t *testing.T) {
	_, _, srv := startHub(t, Options{})
	resp, _ := connect(t, srv.URL, "abc")
	if resp.StatusCode != http.StatusBadRequest {
		t.Fatalf("status %d", resp.StatusCode)
	}
}

func TestHeartbeat(t *testing.T) {
	_, _, srv := startHub(t, Options{Heartbeat: 20 * time.Millisecond})
	_, r := connect(t, srv.URL, "")
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		if line == ": ping\n" {
			return
		}
	}
}

func TestSlowSubscriberIsDroppedOthersKeepUp(t *testing.T) {
	h, mem, srv := startHub(t, Options{Buffer: 16})
	slow := h.subscribe() // never read: its buffer fills
	_, fast := connect(t, srv.URL, "")
	waitSubscribers(t, h, 2)
	// The fast reader keeps up in lockstep (never more than 8 behind, under
	// its buffer of 16); the slow one falls 16 behind and must be dropped.
	for batch := 0; batch < 5; batch++ {
		for i := 0; i < 8; i++ {
			_, _ = mem.AppendEvent(context.Background(), registry.Event{Type: "x"})
		}
		readEvents(t, fast, 8)
	}
	select {
	case <-slow.gone:
	case <-time.After(5 * time.Second):
		t.Fatal("slow subscriber was not dropped")
	}
	if h.Dropped() != 1 || h.Subscribers() != 1 {
		t.Fatalf("dropped %d, subscribers %d; want 1 and 1", h.Dropped(), h.Subscribers())
	}
}
