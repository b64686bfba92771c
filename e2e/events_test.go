package e2e

import (
	"bufio"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/camo-fleet/camo-fleet/internal/api"
	"github.com/camo-fleet/camo-fleet/internal/testkit"
)

// TestWorkerEventsStreamSessionLife reads the worker's /events while a
// Managed session runs and ends, then replays it with Last-Event-ID.
func TestWorkerEventsStreamSessionLife(t *testing.T) {
	needEngine(t, "chromium")
	w := testkit.StartWorker(t, nil)
	site := testkit.Site(t, nil)
	resp, err := http.Get(w.Base + "/events")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	s := w.Create(api.CreateSessionRequest{Mode: api.ModeManaged, Engine: "chromium", CloseWhenDone: true,
		Steps: testkit.RawSteps(testkit.Step("goto", "url", site.URL))})

	types, lastID := readUntil(t, bufio.NewReader(resp.Body), s.ID, "session.ended")
	for _, want := range []string{"session.created", "session.state", "session.step", "session.ended"} {
		if !strings.Contains(strings.Join(types, ","), want) {
			t.Errorf("no %s event for the session; got %v", want, types)
		}
	}

	req, _ := http.NewRequest("GET", w.Base+"/events", nil)
	req.Header.Set("Last-Event-ID", "0")
	again, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer again.Body.Close()
	replayed, replayLast := readUntil(t, bufio.NewReader(again.Body), s.ID, "session.ended")
	if len(replayed) != len(types) || replayLast != lastID {
		t.Fatalf("replay gave %v (last %s), live gave %v (last %s)", replayed, replayLast, types, lastID)
	}
}

// readUntil reads SSE frames of one session until an event of type last,
// and returns the types seen and the last id.
func readUntil(t *testing.T, r *bufio.Reader, sessionID, last string) ([]string, string) {
	t.Helper()
	deadline := time.Now().Add(90 * time.Second)
	var types []string
	var id string
	for time.Now().Before(deadline) {
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatalf("stream ended: %v (seen %v)", err, types)
		}
		if strings.HasPrefix(line, "id: ") {
			id = strings.TrimSpace(line[4:])
		}
		if !strings.HasPrefix(line, "data: ") {
			continue
		}
		var ev struct {
			Type      string `json:"type"`
			SessionID string `json:"sessionId"`
		}
		if err := json.Unmarshal([]byte(line[6:]), &ev); err != nil || ev.SessionID != sessionID {
			continue
		}
		types = append(types, ev.Type)
		if ev.Type == last {
			return types, id
		}
	}
	t.Fatalf("no %s within the deadline; seen %v", last, types)
	return nil, ""
}
