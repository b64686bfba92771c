package e2e

import (
	"os"
	"testing"
	"time"

	"github.com/camo-fleet/camo-fleet/internal/api"
	"github.com/camo-fleet/camo-fleet/internal/testkit"
)

// TestCamoufoxEndToEnd runs only where the Camoufox binary exists: it is
// downloaded from Camoufox's GitHub releases, which CI machines cannot reach.
func TestCamoufoxEndToEnd(t *testing.T) {
	path := os.Getenv("CAMOUFOX_PATH")
	if path == "" {
		t.Skip("CAMOUFOX_PATH is not set: install Camoufox and set CAMOUFOX_PATH to run this test")
	}
	w := testkit.StartWorker(t, testkit.Env{"CAMOUFOX_PATH": path})
	site := testkit.Site(t, nil)
	s := w.Create(api.CreateSessionRequest{Mode: api.ModeManaged, Engine: "camoufox",
		Record: &api.Record{HAR: true}, CloseWhenDone: true,
		Steps: testkit.RawSteps(testkit.Step("goto", "url", site.URL),
			testkit.Step("extract", "selector", "#h", "what", "text"))})
	end := w.WaitEnded(s.ID, 2*time.Minute)
	if end.Reason != api.ReasonCompleted || len(end.Steps) != 2 || end.Steps[1].Output != "Hello" {
		t.Fatalf("camoufox session: %s/%s %s steps=%+v", end.State, end.Reason, end.Error, end.Steps)
	}
	testkit.Find(t, w.Artifacts(s.ID), "har", "session.har")
}
