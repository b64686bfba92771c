package registrytest

import (
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/camo-fleet/camo-fleet/internal/registry"
)

func testAudit(t *testing.T, h Harness) {
	ctx, s := testCtx(t), newStore(t, h)
	old := base().Add(-time.Hour)
	fixture := []registry.Audit{
		{Actor: "alice", Role: "admin", Action: "token.create", Target: "bob", Time: old},
		{Actor: "bob", Role: "operator", Action: "session.create", Target: "s-1",
			RemoteAddr: "10.0.0.1:5000"},
		{Actor: "bob", Role: "operator", Action: "session.kill", Target: "s-1", Detail: "stuck"},
		{Actor: "alice", Role: "admin", Action: "session.kill", Target: "s-2"},
		{Actor: "carol", Role: "viewer", Action: "session.create", Target: "s-3"},
	}
	var stored []registry.Audit
	for _, a := range fixture {
		out, err := s.AppendAudit(ctx, a)
		if err != nil {
			t.Fatal(err)
		}
		if out.ID <= 0 || out.Time.IsZero() || (len(stored) > 0 && out.ID <= stored[len(stored)-1].ID) {
			t.Fatalf("AppendAudit returned %+v: want an increasing ID and a Time", out)
		}
		stored = append(stored, out)
	}
	if !stored[0].Time.Equal(old) {
		t.Errorf("given Time %v stored as %v", old, stored[0].Time)
	}
	if _, err := s.AppendAudit(ctx, registry.Audit{Actor: "x"}); !errors.Is(err, registry.ErrInvalid) {
		t.Errorf("AppendAudit without action: error = %v, want ErrInvalid", err)
	}

	tests := []struct {
		name   string
		filter registry.AuditFilter
		want   []int // indexes into stored, newest first
	}{
		{"all", registry.AuditFilter{}, []int{4, 3, 2, 1, 0}},
		{"actor", registry.AuditFilter{Actor: "alice"}, []int{3, 0}},
		{"action", registry.AuditFilter{Action: "session.kill"}, []int{3, 2}},
		{"target", registry.AuditFilter{Target: "s-1"}, []int{2, 1}},
		{"actor and action", registry.AuditFilter{Actor: "bob", Action: "session.create"}, []int{1}},
		{"since", registry.AuditFilter{Since: old.Add(time.Minute)}, []int{4, 3, 2, 1}},
		{"since exact", registry.AuditFilter{Since: old, Actor: "alice"}, []int{3, 0}},
		{"limit", registry.AuditFilter{Limit: 2}, []int{4, 3}},
		{"next page", registry.AuditFilter{Limit: 2, BeforeID: stored[3].ID}, []int{2, 1}},
		{"last page", registry.AuditFilter{Limit: 2, BeforeID: stored[1].ID}, []int{0}},
		{"none", registry.AuditFilter{Actor: "mallory"}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := s.ListAudit(ctx, tt.filter)
			if err != nil {
				t.Fatal(err)
			}
			var want []registry.Audit
			for _, i := range tt.want {
				want = append(want, stored[i])
			}
			if len(got) != len(want) {
				t.Fatalf("got %d records %+v, want %d", len(got), got, len(want))
			}
			if len(got) == 0 {
				return
			}
			for i := range got {
				if !got[i].Time.Equal(want[i].Time) {
					t.Errorf("record %d Time = %v, want %v", i, got[i].Time, want[i].Time)
				}
				got[i].Time, want[i].Time = time.Time{}, time.Time{}
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("records = %+v, want %+v", got, want)
			}
		})
	}
}
