// Package registrytest is the conformance suite of registry.Store: every
// adapter runs Run against a real database, so they all keep the same
// promises.
package registrytest

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/camo-fleet/camo-fleet/internal/registry"
)

// Opener opens a new Store on one database. Each call is another replica
// of the same registry; the suite closes what it opens.
type Opener func(ctx context.Context) (registry.Store, error)

// Harness describes an adapter to the suite.
type Harness struct {
	// NewDB prepares a fresh, empty database for one test and returns the
	// Opener of Stores on it.
	NewDB func(t *testing.T) Opener
	// SharedNotify says that Stores on the same database see each other's
	// events through Subscribe (postgres), not only their own (sqlite).
	SharedNotify bool
}

// deliveryTimeout is how long an appended event may take to reach a
// subscriber, of this Store or, with SharedNotify, of another.
const deliveryTimeout = time.Second

// Run runs the whole suite, one subtest per promise.
func Run(t *testing.T, h Harness) {
	tests := []struct {
		name string
		fn   func(t *testing.T, h Harness)
	}{
		{"SessionCRUD", testSessionCRUD},
		{"SessionUpsert", testSessionUpsert},
		{"SessionFromAPI", testSessionFromAPI},
		{"SessionFilters", testSessionFilters},
		{"SessionPagination", testSessionPagination},
		{"SessionPaginationWhileWriting", testSessionPaginationWhileWriting},
		{"SessionCursorInvalid", testSessionCursorInvalid},
		{"CountSessions", testCountSessions},
		{"Workers", testWorkers},
		{"Events", testEvents},
		{"PruneEvents", testPruneEvents},
		{"EventOrderAcrossReplicas", testEventOrderAcrossReplicas},
		{"Subscribe", testSubscribe},
		{"SubscribeSlowSubscriber", testSubscribeSlow},
		{"SubscribeAcrossReplicas", testSubscribeAcrossReplicas},
		{"Audit", testAudit},
		{"Queue", testQueue},
		{"QueueBoundAcrossReplicas", testQueueBound},
		{"ConcurrentWriters", testConcurrentWriters},
		{"Reopen", testReopen},
		{"ContextCanceled", testContextCanceled},
		{"CloseLeavesNoGoroutines", testNoGoroutineLeak},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.fn(t, h) })
	}
}

// newStore opens a Store on a fresh database.
func newStore(t *testing.T, h Harness) registry.Store {
	t.Helper()
	return mustOpen(t, h.NewDB(t))
}

// mustOpen opens a Store that is closed when the test ends.
func mustOpen(t *testing.T, open Opener) registry.Store {
	t.Helper()
	s, err := open(context.Background())
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("close store: %v", err)
		}
	})
	return s
}

// Logger returns a logger for the Stores of a test: warnings and errors go
// to the test's output, the rest nowhere.
func Logger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelWarn}))
}

// testCtx returns a context that ends with the test, or after a minute.
func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	t.Cleanup(cancel)
	return ctx
}

// base is a time that survives a round trip through any store.
func base() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }
