package registry

import (
	"context"
	"errors"
	"testing"
	"time"
)

// TestRefusedCommandsAreNotProposed: a command the state already refuses
// returns the FSM's own error and takes no log index.
func TestRefusedCommandsAreNotProposed(t *testing.T) {
	ctx := context.Background()
	now := time.Unix(1700000000, 0).UTC()
	m := NewMemory()
	for _, c := range []Command{
		&CreateTenant{Tenant: Tenant{ID: "ta", Name: "a"}},
		&CreateTenant{Tenant: Tenant{ID: "tb", Name: "b"}},
		&CreateKey{Key: APIKey{ID: "kb", TenantID: "tb", Scope: ScopeTenant}},
		&CreateApp{App: App{ID: "a1", TenantID: "ta", Name: "app"}},
		&CreateJoinToken{Token: JoinToken{ID: "jt1", Role: RoleEdge, MaxUses: 1}},
		&UseJoinToken{ID: "jt1", At: now},
	} {
		if _, err := m.Apply(ctx, c); err != nil {
			t.Fatalf("%T: %v", c, err)
		}
	}
	cases := []struct {
		name string
		cmd  Command
		want error
	}{
		{"another tenant's key", &DeleteKey{ID: "kb", TenantID: "ta"}, ErrNotFound},
		{"duplicate app name", &CreateApp{App: App{ID: "a2", TenantID: "ta", Name: "app"}}, ErrAlreadyExists},
		{"key for a missing tenant", &CreateKey{Key: APIKey{ID: "k2", TenantID: "nope", Scope: ScopeTenant}}, ErrNotFound},
		{"unknown session", &SetSessionState{ID: "s1", State: StateTerminated}, ErrNotFound},
		{"unknown node", &SetNodeState{ID: "e1", State: NodeAlive}, ErrNotFound},
		{"used-up join token", &UseJoinToken{ID: "jt1", At: now}, ErrTokenUnusable},
		{"unknown join token", &DeleteJoinToken{ID: "jt2"}, ErrNotFound},
	}
	for _, tc := range cases {
		before := m.State().Index()
		if err := m.State().Check(tc.cmd); !errors.Is(err, tc.want) {
			t.Errorf("%s: Check = %v, want %v", tc.name, err, tc.want)
		}
		if _, err := m.Apply(ctx, tc.cmd); !errors.Is(err, tc.want) {
			t.Errorf("%s: Apply = %v, want %v", tc.name, err, tc.want)
		}
		if after := m.State().Index(); after != before {
			t.Errorf("%s: index %d → %d", tc.name, before, after)
		}
	}
}
