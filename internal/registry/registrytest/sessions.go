package registrytest

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/camo-fleet/camo-fleet/internal/api"
	"github.com/camo-fleet/camo-fleet/internal/registry"
)

func testSessionCRUD(t *testing.T, h Harness) {
	ctx, s := testCtx(t), newStore(t, h)
	created := base().Add(-time.Minute)
	ended := created.Add(30 * time.Second)
	want := registry.Session{
		ID: "s-1", WorkerID: "w-1", Engine: "firefox", Mode: api.ModeManaged,
		State: api.StateClosed, Reason: api.ReasonClientClosed, Owner: "alice",
		Labels:    map[string]string{"team": "qa", "run": "42"},
		CreatedAt: created, EndedAt: &ended,
		Data: json.RawMessage(`{"id":"s-1", "state":"closed"}`),
	}
	before := base()
	if err := s.PutSession(ctx, want); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetSession(ctx, "s-1")
	if err != nil {
		t.Fatal(err)
	}
	assertSession(t, got, want)
	if got.UpdatedAt.Before(before) || got.UpdatedAt.After(base().Add(time.Second)) {
		t.Errorf("UpdatedAt = %v, want about now (%v)", got.UpdatedAt, before)
	}

	bare := registry.Session{ID: "s-2"}
	if err := s.PutSession(ctx, bare); err != nil {
		t.Fatal(err)
	}
	got, err = s.GetSession(ctx, "s-2")
	if err != nil {
		t.Fatal(err)
	}
	if got.CreatedAt.IsZero() || got.Labels != nil || got.Data != nil || got.EndedAt != nil {
		t.Errorf("bare session read back as %+v, want CreatedAt set and nothing else", got)
	}

	if _, err := s.GetSession(ctx, "missing"); !errors.Is(err, registry.ErrNotFound) {
		t.Errorf("GetSession(missing) error = %v, want ErrNotFound", err)
	}
	for name, bad := range map[string]registry.Session{
		"no id":    {State: api.StateReady},
		"bad data": {ID: "s-3", Data: json.RawMessage(`{"broken"`)},
	} {
		if err := s.PutSession(ctx, bad); !errors.Is(err, registry.ErrInvalid) {
			t.Errorf("PutSession(%s) error = %v, want ErrInvalid", name, err)
		}
	}
}

func testSessionUpsert(t *testing.T, h Harness) {
	ctx, s := testCtx(t), newStore(t, h)
	created := base().Add(-time.Hour)
	first := registry.Session{ID: "s-1", WorkerID: "w-1", Engine: "chromium",
		Mode: api.ModeDirect, State: api.StateStarting, Owner: "alice",
		Labels: map[string]string{"a": "1"}, CreatedAt: created, Data: json.RawMessage(`{"v":1}`)}
	put(t, s, first)
	firstRead, err := s.GetSession(ctx, "s-1")
	if err != nil {
		t.Fatal(err)
	}

	ended := base()
	second := first
	second.WorkerID, second.State, second.Reason = "w-2", api.StateFailed, api.ReasonBrowserCrashed
	second.Labels = map[string]string{"b": "2"}
	second.Data = json.RawMessage(`{"v":2}`)
	second.EndedAt = &ended
	second.CreatedAt = created.Add(time.Minute) // ignored: CreatedAt is kept from the first Put
	put(t, s, second)

	got, err := s.GetSession(ctx, "s-1")
	if err != nil {
		t.Fatal(err)
	}
	want := second
	want.CreatedAt = created
	assertSession(t, got, want)
	if got.UpdatedAt.Before(firstRead.UpdatedAt) {
		t.Errorf("UpdatedAt went back: %v after %v", got.UpdatedAt, firstRead.UpdatedAt)
	}
	list, _, err := s.ListSessions(ctx, registry.SessionFilter{})
	if err != nil || len(list) != 1 {
		t.Fatalf("ListSessions after upsert = %d sessions, %v; want 1", len(list), err)
	}
}

func testSessionFromAPI(t *testing.T, h Harness) {
	ctx, s := testCtx(t), newStore(t, h)
	at := base()
	in := api.Session{ID: "s-api", State: api.StateReady, Engine: "firefox",
		Mode: api.ModeDirect, Labels: map[string]string{"k": "v"}, CreatedAt: at,
		ExpiresAt: at.Add(time.Hour), LastActivityAt: at, WorkerID: "w-9",
		History: []api.StateChange{{State: api.StateStarting, At: at}, {State: api.StateReady, At: at}}}
	rec, err := registry.NewSession(in, "bob")
	if err != nil {
		t.Fatal(err)
	}
	put(t, s, rec)
	got, err := s.GetSession(ctx, "s-api")
	if err != nil {
		t.Fatal(err)
	}
	if got.Owner != "bob" || got.WorkerID != "w-9" || got.State != api.StateReady {
		t.Errorf("record = %+v, want owner bob, worker w-9, state ready", got)
	}
	out, err := got.API()
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(normalizeAPI(out), normalizeAPI(in)) {
		t.Errorf("API() = %+v, want %+v", out, in)
	}
}

// normalizeAPI puts every time of s in UTC, for comparing.
func normalizeAPI(s api.Session) api.Session {
	s.CreatedAt, s.ExpiresAt = s.CreatedAt.UTC(), s.ExpiresAt.UTC()
	s.LastActivityAt = s.LastActivityAt.UTC()
	for i := range s.History {
		s.History[i].At = s.History[i].At.UTC()
	}
	return s
}

// filterFixture is the set of sessions the filter tests read, newest first.
func filterFixture(now time.Time) []registry.Session {
	type labels = map[string]string
	mk := func(i int, id string, st api.State, engine, worker, owner string,
		l labels) registry.Session {
		return registry.Session{ID: id, State: st, Engine: engine, WorkerID: worker, Owner: owner,
			Labels: l, CreatedAt: now.Add(-time.Duration(i) * time.Second)}
	}
	return []registry.Session{
		mk(0, "a", api.StateReady, "firefox", "w1", "alice", labels{"team": "qa", "env": "ci"}),
		mk(1, "b", api.StateRunning, "chromium", "w1", "bob", labels{"team": "qa"}),
		mk(2, "c", api.StateClosed, "firefox", "w2", "alice", labels{"team": "dev", "env": "ci"}),
		mk(3, "d", api.StateFailed, "camoufox", "w2", "carol", nil),
		mk(4, "e", api.StateReady, "camoufox", "w3", "bob",
			labels{"odd key.with\"chars'": "va'lue\"", "team": "qa"}),
		mk(5, "f", api.StateQueued, "firefox", "", "alice", labels{"env": "prod"}),
	}
}

func testSessionFilters(t *testing.T, h Harness) {
	ctx, s := testCtx(t), newStore(t, h)
	for _, sess := range filterFixture(base()) {
		put(t, s, sess)
	}
	tests := []struct {
		name   string
		filter registry.SessionFilter
		want   []string
	}{
		{"all", registry.SessionFilter{}, []string{"a", "b", "c", "d", "e", "f"}},
		{"one state", registry.SessionFilter{States: []api.State{api.StateReady}}, []string{"a", "e"}},
		{"state list", registry.SessionFilter{
			States: []api.State{api.StateClosed, api.StateFailed, api.StateQueued}},
			[]string{"c", "d", "f"}},
		{"state without sessions", registry.SessionFilter{States: []api.State{api.StateLost}}, nil},
		{"engine", registry.SessionFilter{Engine: "firefox"}, []string{"a", "c", "f"}},
		{"worker", registry.SessionFilter{WorkerID: "w2"}, []string{"c", "d"}},
		{"owner", registry.SessionFilter{Owner: "bob"}, []string{"b", "e"}},
		{"one label", registry.SessionFilter{Labels: map[string]string{"team": "qa"}},
			[]string{"a", "b", "e"}},
		{"two labels", registry.SessionFilter{Labels: map[string]string{"team": "qa", "env": "ci"}},
			[]string{"a"}},
		{"label value differs", registry.SessionFilter{Labels: map[string]string{"env": "staging"}}, nil},
		{"label with quotes and dots", registry.SessionFilter{
			Labels: map[string]string{"odd key.with\"chars'": "va'lue\""}}, []string{"e"}},
		{"label key only prefix", registry.SessionFilter{Labels: map[string]string{"tea": "qa"}}, nil},
		{"everything", registry.SessionFilter{States: []api.State{api.StateReady, api.StateRunning},
			Engine: "firefox", WorkerID: "w1", Owner: "alice", Labels: map[string]string{"env": "ci"}},
			[]string{"a"}},
		{"nothing matches", registry.SessionFilter{Engine: "firefox", Owner: "carol"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			list, next, err := s.ListSessions(ctx, tt.filter)
			if err != nil {
				t.Fatal(err)
			}
			if got := ids(list); !slices.Equal(got, tt.want) {
				t.Errorf("ids = %v, want %v", got, tt.want)
			}
			if next != "" {
				t.Errorf("next = %q on the only page", next)
			}
		})
	}
}

func testSessionPagination(t *testing.T, h Harness) {
	ctx, s := testCtx(t), newStore(t, h)
	now := base()
	// Three sessions share each CreatedAt, so the ID must break ties.
	var all []registry.Session
	for i := 0; i < 40; i++ {
		sess := registry.Session{ID: fmt.Sprintf("s-%03d", i), State: api.StateReady,
			CreatedAt: now.Add(-time.Duration(i/3) * time.Second)}
		if i%4 == 0 {
			sess.State = api.StateClosed
		}
		put(t, s, sess)
		all = append(all, sess)
	}
	slices.SortFunc(all, func(a, b registry.Session) int {
		if c := b.CreatedAt.Compare(a.CreatedAt); c != 0 {
			return c
		}
		return strings.Compare(b.ID, a.ID)
	})
	want := ids(all)
	for _, limit := range []int{1, 7, 39, 40, 41} {
		got := readAll(t, s, registry.SessionFilter{Limit: limit})
		if !slices.Equal(got, want) {
			t.Errorf("limit %d: pages gave %v, want %v", limit, got, want)
		}
	}
	closed := readAll(t, s, registry.SessionFilter{Limit: 3, States: []api.State{api.StateClosed}})
	if len(closed) != 10 {
		t.Errorf("closed sessions over pages = %v, want 10", closed)
	}
	list, _, err := s.ListSessions(ctx, registry.SessionFilter{})
	if err != nil || len(list) != 40 {
		t.Errorf("default limit gave %d sessions, %v; want all 40", len(list), err)
	}
}

// testSessionPaginationWhileWriting reads pages while other goroutines add
// newer sessions and update existing ones: every session that existed
// before the first page must come exactly once.
func testSessionPaginationWhileWriting(t *testing.T, h Harness) {
	ctx, s := testCtx(t), newStore(t, h)
	now := base().Add(-time.Hour)
	existing := map[string]bool{}
	for i := 0; i < 120; i++ {
		id := fmt.Sprintf("old-%03d", i)
		put(t, s, registry.Session{ID: id, State: api.StateReady,
			CreatedAt: now.Add(-time.Duration(i/2) * time.Millisecond)})
		existing[id] = true
	}

	stop := make(chan struct{})
	var wg sync.WaitGroup
	var writeErr error
	var errOnce sync.Once
	for w := 0; w < 2; w++ {
		wg.Go(func() {
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				newer := registry.Session{ID: fmt.Sprintf("new-%d-%d", w, i), State: api.StateStarting}
				updated := registry.Session{ID: fmt.Sprintf("old-%03d", (i*7+w)%120), State: api.StateRunning,
					CreatedAt: time.Now()}
				for _, sess := range []registry.Session{newer, updated} {
					if err := s.PutSession(ctx, sess); err != nil {
						errOnce.Do(func() { writeErr = err })
						return
					}
				}
			}
		})
	}

	seen := map[string]int{}
	cursor := ""
	for pages := 0; ; pages++ {
		list, next, err := s.ListSessions(ctx, registry.SessionFilter{Limit: 7, Cursor: cursor})
		if err != nil {
			t.Fatal(err)
		}
		for _, sess := range list {
			seen[sess.ID]++
		}
		if next == "" {
			break
		}
		cursor = next
		time.Sleep(time.Millisecond) // let the writers in between pages
	}
	close(stop)
	wg.Wait()
	if writeErr != nil {
		t.Fatalf("concurrent write: %v", writeErr)
	}
	for id := range existing {
		if seen[id] != 1 {
			t.Errorf("session %s seen %d times, want once", id, seen[id])
		}
	}
	for id, n := range seen {
		if n > 1 {
			t.Errorf("session %s seen %d times", id, n)
		}
	}
}

func testSessionCursorInvalid(t *testing.T, h Harness) {
	ctx, s := testCtx(t), newStore(t, h)
	for _, cursor := range []string{"not base64!", "bm9jb2xvbg", "eDpzLTE"} {
		_, _, err := s.ListSessions(ctx, registry.SessionFilter{Cursor: cursor})
		if !errors.Is(err, registry.ErrInvalidCursor) {
			t.Errorf("cursor %q: error = %v, want ErrInvalidCursor", cursor, err)
		}
	}
}

func testCountSessions(t *testing.T, h Harness) {
	ctx, s := testCtx(t), newStore(t, h)
	counts, err := s.CountSessions(ctx)
	if err != nil || len(counts) != 0 {
		t.Fatalf("CountSessions on empty store = %v, %v; want empty", counts, err)
	}
	for _, sess := range filterFixture(base()) {
		put(t, s, sess)
	}
	put(t, s, registry.Session{ID: "a", State: api.StateClosed}) // a moves from ready to closed
	counts, err = s.CountSessions(ctx)
	if err != nil {
		t.Fatal(err)
	}
	want := map[api.State]int{api.StateReady: 1, api.StateRunning: 1, api.StateClosed: 2,
		api.StateFailed: 1, api.StateQueued: 1}
	if !reflect.DeepEqual(counts, want) {
		t.Errorf("CountSessions = %v, want %v", counts, want)
	}
}

// readAll follows the cursors of f from the first page to the last.
func readAll(t *testing.T, s registry.Store, f registry.SessionFilter) []string {
	t.Helper()
	var out []string
	for pages := 0; pages < 1000; pages++ {
		list, next, err := s.ListSessions(testCtx(t), f)
		if err != nil {
			t.Fatal(err)
		}
		if len(list) > registry.PageLimit(f.Limit) {
			t.Fatalf("page of %d sessions, limit %d", len(list), f.Limit)
		}
		out = append(out, ids(list)...)
		if next == "" {
			return out
		}
		f.Cursor = next
	}
	t.Fatal("more than 1000 pages")
	return nil
}

func put(t *testing.T, s registry.Store, sess registry.Session) {
	t.Helper()
	if err := s.PutSession(testCtx(t), sess); err != nil {
		t.Fatal(err)
	}
}

func ids(list []registry.Session) []string {
	var out []string
	for _, s := range list {
		out = append(out, s.ID)
	}
	return out
}

// assertSession compares every field but UpdatedAt, which the store sets.
func assertSession(t *testing.T, got, want registry.Session) {
	t.Helper()
	got.UpdatedAt, want.UpdatedAt = time.Time{}, time.Time{}
	if !timeEqual(got.CreatedAt, want.CreatedAt) {
		t.Errorf("CreatedAt = %v, want %v", got.CreatedAt, want.CreatedAt)
	}
	if (got.EndedAt == nil) != (want.EndedAt == nil) ||
		(got.EndedAt != nil && !timeEqual(*got.EndedAt, *want.EndedAt)) {
		t.Errorf("EndedAt = %v, want %v", got.EndedAt, want.EndedAt)
	}
	if got.CreatedAt.Location() != time.UTC {
		t.Errorf("CreatedAt in %v, want UTC", got.CreatedAt.Location())
	}
	got.CreatedAt, want.CreatedAt, got.EndedAt, want.EndedAt = time.Time{}, time.Time{}, nil, nil
	if string(got.Data) != string(want.Data) {
		t.Errorf("Data = %s, want %s", got.Data, want.Data)
	}
	got.Data, want.Data = nil, nil
	if len(want.Labels) == 0 {
		want.Labels = nil
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("session = %+v, want %+v", got, want)
	}
}

func timeEqual(a, b time.Time) bool { return a.Equal(b) }
