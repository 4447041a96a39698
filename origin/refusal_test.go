package origin_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/strata-edge/strata/api"
	"github.com/strata-edge/strata/internal/poll"
)

// TestRefusedWriteCommitsNothing: a write the leader can already see is
// refused (another tenant's key, an app or tenant still in use, a
// duplicate name, an invalid transition) answers its error without
// committing a Raft entry.
func TestRefusedWriteCommitsNothing(t *testing.T) {
	c := startCluster(t, 1)
	ctx := context.Background()
	admin := c.Client()
	type tenant struct {
		cl           *api.Client
		id, key, app string
	}
	mk := func(name string) tenant {
		ten, err := admin.Tenants().Create(ctx, api.TenantCreate{Name: name})
		if err != nil {
			t.Fatal(err)
		}
		key, err := admin.Keys().Create(ctx, ten.ID, api.KeyCreate{Name: "k"})
		if err != nil {
			t.Fatal(err)
		}
		cl := admin.WithToken(key.Token)
		app, err := cl.Apps().Create(ctx, api.AppSpec{Name: "app", Command: []string{"x"}})
		if err != nil {
			t.Fatal(err)
		}
		return tenant{cl: cl, id: ten.ID, key: key.ID, app: app.ID}
	}
	a, b := mk("a"), mk("b")
	ses, err := b.cl.Sessions().Create(ctx, api.SessionSpec{AppID: b.app, Async: true})
	if err != nil {
		t.Fatal(err)
	}
	done, err := admin.Sessions().Create(ctx, api.SessionSpec{TenantID: a.id, AppID: a.app, Async: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := admin.Sessions().Terminate(ctx, done.ID, ""); err != nil {
		t.Fatal(err)
	}
	st := c.Nodes[0].Origin().Registry().State()
	// The placer notes once why the session waits (no edge); after that
	// nothing writes on its own.
	poll.For(t, 10*time.Second, 10*time.Millisecond, func() error {
		if s, ok := st.Session(ses.ID); !ok || s.Reason == "" {
			return fmt.Errorf("session %s not yet noted pending", ses.ID)
		}
		return nil
	})
	cases := []struct {
		name string
		call func() error
		code api.Code
	}{
		{"tenant a deletes tenant b's key under its own tenant", func() error { return a.cl.Keys().Delete(ctx, a.id, b.key) }, "not_found"},
		{"tenant a deletes tenant b's key under b", func() error { return a.cl.Keys().Delete(ctx, b.id, b.key) }, "not_found"},
		{"admin deletes a key under the wrong tenant", func() error { return admin.Keys().Delete(ctx, a.id, b.key) }, "not_found"},
		{"delete an app with a live session", func() error { return b.cl.Apps().Delete(ctx, b.app) }, "conflict"},
		{"delete a tenant with a live session", func() error { return admin.Tenants().Delete(ctx, b.id) }, "conflict"},
		{"duplicate app name", func() error {
			_, err := a.cl.Apps().Create(ctx, api.AppSpec{Name: "app", Command: []string{"y"}})
			return err
		}, "already_exists"},
		{"terminate a terminated session", func() error {
			_, err := admin.Sessions().Terminate(ctx, done.ID, "")
			return err
		}, "invalid_state_transition"},
		{"hibernate a pending session", func() error {
			_, err := b.cl.Sessions().Hibernate(ctx, ses.ID, "")
			return err
		}, "invalid_state_transition"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			before := st.Index()
			if err := tc.call(); !api.IsCode(err, tc.code) {
				t.Fatalf("got %v, want %s", err, tc.code)
			}
			if after := st.Index(); after != before {
				t.Fatalf("refused write committed: index %d → %d", before, after)
			}
		})
	}
	// The owner still can: the refusals above changed nothing.
	if err := b.cl.Keys().Delete(ctx, b.id, b.key); err != nil {
		t.Fatalf("owner deleting its key: %v", err)
	}
}
