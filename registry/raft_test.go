package registry

import (
	"context"
	"testing"
	"time"
)

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestSingleNodeApplyAndRestart(t *testing.T) {
	dir := t.TempDir()
	for _, store := range []string{"wal", "boltdb"} {
		t.Run(store, func(t *testing.T) {
			cfg := Config{NodeID: "o1", DataDir: dir + "/" + store, Bind: "127.0.0.1:0", Bootstrap: true, LogStore: store}
			r, err := New(cfg, Deps{})
			if err != nil {
				t.Fatal(err)
			}
			waitFor(t, 5*time.Second, "leader", r.IsLeader)
			now := time.Unix(1700000000, 0).UTC()
			if _, err := r.Apply(context.Background(), &CreateTenant{Tenant: Tenant{ID: "t1", Name: "one", Meta: Meta{CreatedAt: now}}}); err != nil {
				t.Fatal(err)
			}
			if _, err := r.Apply(context.Background(), &CreateTenant{Tenant: Tenant{ID: "t1"}}); err == nil {
				t.Fatal("duplicate tenant accepted")
			}
			if err := r.Snapshot(); err != nil {
				t.Fatal(err)
			}
			if _, err := r.Apply(context.Background(), &CreateTenant{Tenant: Tenant{ID: "t2", Name: "two", Meta: Meta{CreatedAt: now}}}); err != nil {
				t.Fatal(err)
			}
			if err := r.Close(crashed()); err != nil {
				t.Fatal(err)
			}
			cfg.Bind = "127.0.0.1:0"
			r2, err := New(cfg, Deps{})
			if err != nil {
				t.Fatal(err)
			}
			defer r2.Close(crashed())
			waitFor(t, 5*time.Second, "restored tenants", func() bool { return len(r2.State().Tenants()) == 2 })
			t1, _ := r2.State().Tenant("t1")
			if t1.Name != "one" || !t1.CreatedAt.Equal(now) {
				t.Fatalf("restored tenant = %+v", t1)
			}
		})
	}
}
