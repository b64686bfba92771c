package events

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"testing"

	"github.com/camo-fleet/camo-fleet/internal/registry"
)

// originOfData reads "origin" from an event's data, as the control-plane does.
func originOfData(e registry.Event) string {
	var d struct {
		Origin string `json:"origin"`
	}
	_ = json.Unmarshal(e.Data, &d)
	return d.Origin
}

func appendOrigins(t *testing.T, mem *Memory, origins ...string) {
	t.Helper()
	for _, o := range origins {
		data, _ := json.Marshal(map[string]string{"origin": o})
		_, err := mem.AppendEvent(context.Background(), registry.Event{Type: "x", Data: data})
		if err != nil {
			t.Fatal(err)
		}
	}
}

func TestDedupeRule(t *testing.T) {
	cases := []struct {
		name    string
		origins []string
		window  int64
		want    string // ids streamed
	}{
		{"no origins", []string{"", "", ""}, 10, "1,2,3"},
		{"copies skipped", []string{"a", "b", "a", "b", "c"}, 10, "1,2,5"},
		{"copy beyond the window is new", []string{"a", "b", "c", "a"}, 2, "1,2,3,4"},
		{"copy at the window's edge", []string{"a", "b", "a"}, 2, "1,2"},
		{"chain of copies", []string{"a", "a", "a", "a"}, 1, "1"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			d := newDedupe(originOfData, tc.window)
			mem := NewMemory(100)
			appendOrigins(t, mem, tc.origins...)
			evs, _ := mem.EventsAfter(context.Background(), 0, 100)
			var got []string
			for _, e := range evs {
				if !d.copy(e) {
					got = append(got, strconv.FormatInt(e.ID, 10))
				}
			}
			if strings.Join(got, ",") != tc.want {
				t.Errorf("streamed %v, want %s", got, tc.want)
			}
		})
	}
}

// TestDedupeLiveAndReplayAgree checks that the live stream and a replay
// from any Last-Event-ID skip the same copies, including copies of events
// before the replay's start.
func TestDedupeLiveAndReplayAgree(t *testing.T) {
	h, mem, srv := startHub(t, Options{Origin: originOfData, DedupeWindow: 100})
	_, live := connect(t, srv.URL, "")
	waitSubscribers(t, h, 1)
	appendOrigins(t, mem, "a", "b", "a", "c", "b", "d")
	if ids := readEvents(t, live, 4); strings.Join(ids, ",") != "1,2,4,6" {
		t.Fatalf("live %v, want 1,2,4,6", ids)
	}
	for after, want := range map[string]string{"0": "1,2,4,6", "2": "4,6", "3": "4,6", "4": "6"} {
		_, r := connect(t, srv.URL, after)
		if ids := readEvents(t, r, len(strings.Split(want, ","))); strings.Join(ids, ",") != want {
			t.Errorf("replay after %s: %v, want %s", after, ids, want)
		}
	}
}
