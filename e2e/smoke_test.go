package e2e

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/camo-fleet/camo-fleet/internal/api"
	"github.com/camo-fleet/camo-fleet/internal/testkit"
)

func TestManagedSmoke(t *testing.T) {
	w := testkit.StartWorker(t, nil)
	site := testkit.Site(t, nil)
	for _, engine := range engines {
		t.Run(engine, func(t *testing.T) {
			needEngine(t, engine)
			s := w.Create(api.CreateSessionRequest{Mode: api.ModeManaged, Engine: engine,
				Record: &api.Record{HAR: true}, CloseWhenDone: true,
				Steps: testkit.RawSteps(testkit.Step("goto", "url", site.URL),
					testkit.Step("screenshot", "name", "home"))})
			end := w.WaitEnded(s.ID, time.Minute)
			if end.State != api.StateClosed || end.Reason != api.ReasonCompleted {
				t.Fatalf("ended %s/%s: %s", end.State, end.Reason, end.Error)
			}
			list := w.Artifacts(s.ID)
			var har struct {
				Log struct {
					Version string            `json:"version"`
					Entries []json.RawMessage `json:"entries"`
				} `json:"log"`
			}
			if err := json.Unmarshal(w.Download(testkit.Find(t, list, "har", "session.har")), &har); err != nil {
				t.Fatalf("HAR is not JSON: %v", err)
			}
			if har.Log.Version != "1.2" || len(har.Log.Entries) == 0 {
				t.Fatalf("HAR version %q with %d entries", har.Log.Version, len(har.Log.Entries))
			}
			testkit.Find(t, list, "screenshot", "screenshots/home.png")
		})
	}
}
