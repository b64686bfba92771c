package registrytest

import (
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/camo-fleet/camo-fleet/internal/registry"
)

func testWorkers(t *testing.T, h Harness) {
	ctx, s := testCtx(t), newStore(t, h)
	registered := base().Add(-time.Hour)
	w := registry.Worker{ID: "w-b", URL: "http://10.0.0.2:8080", Version: "1.0.0",
		State: registry.WorkerUp, Engines: []string{"firefox", "chromium"}, Capacity: 4, Active: 1,
		LastSeen: base(), RegisteredAt: registered, Static: true, Data: json.RawMessage(`{"load": 0.5}`)}
	if err := s.PutWorker(ctx, w); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetWorker(ctx, "w-b")
	if err != nil {
		t.Fatal(err)
	}
	assertWorker(t, got, w)

	w.State, w.Active, w.Engines, w.LastSeen = registry.WorkerDraining, 3, []string{"camoufox"}, base()
	w.RegisteredAt = base() // ignored: RegisteredAt is kept from the first Put
	if err := s.PutWorker(ctx, w); err != nil {
		t.Fatal(err)
	}
	got, err = s.GetWorker(ctx, "w-b")
	if err != nil {
		t.Fatal(err)
	}
	want := w
	want.RegisteredAt = registered
	assertWorker(t, got, want)

	other := registry.Worker{ID: "w-a", State: registry.WorkerDown}
	if err := s.PutWorker(ctx, other); err != nil {
		t.Fatal(err)
	}
	list, err := s.ListWorkers(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2 || list[0].ID != "w-a" || list[1].ID != "w-b" {
		t.Fatalf("ListWorkers = %+v, want w-a then w-b", list)
	}
	if list[0].LastSeen.IsZero() || list[0].RegisteredAt.IsZero() || list[0].Engines != nil {
		t.Errorf("bare worker read back as %+v, want times set and no engines", list[0])
	}

	if err := s.DeleteWorker(ctx, "w-a"); err != nil {
		t.Fatal(err)
	}
	for name, err := range map[string]error{
		"delete again": s.DeleteWorker(ctx, "w-a"),
		"get deleted":  second(s.GetWorker(ctx, "w-a")),
	} {
		if !errors.Is(err, registry.ErrNotFound) {
			t.Errorf("%s: error = %v, want ErrNotFound", name, err)
		}
	}
	if err := s.PutWorker(ctx, registry.Worker{}); !errors.Is(err, registry.ErrInvalid) {
		t.Errorf("PutWorker without ID: error = %v, want ErrInvalid", err)
	}
}

func assertWorker(t *testing.T, got, want registry.Worker) {
	t.Helper()
	if !got.LastSeen.Equal(want.LastSeen) || !got.RegisteredAt.Equal(want.RegisteredAt) {
		t.Errorf("times = %v, %v; want %v, %v",
			got.LastSeen, got.RegisteredAt, want.LastSeen, want.RegisteredAt)
	}
	if string(got.Data) != string(want.Data) {
		t.Errorf("Data = %s, want %s", got.Data, want.Data)
	}
	got.LastSeen, got.RegisteredAt, got.Data = time.Time{}, time.Time{}, nil
	want.LastSeen, want.RegisteredAt, want.Data = time.Time{}, time.Time{}, nil
	if !reflect.DeepEqual(got, want) {
		t.Errorf("worker = %+v, want %+v", got, want)
	}
}

// second returns the error of a two-value call.
func second[T any](_ T, err error) error { return err }
