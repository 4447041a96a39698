package registry

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/strata-edge/strata/internal/poll"
)

func TestSingleNodeApplyAndRestart(t *testing.T) {
	dir := t.TempDir()
	for _, store := range []string{"wal", "boltdb"} {
		t.Run(store, func(t *testing.T) {
			cfg := Config{NodeID: "o1", DataDir: dir + "/" + store, Bind: "127.0.0.1:0", Bootstrap: true, LogStore: store}
			r, err := New(cfg, Deps{})
			if err != nil {
				t.Fatal(err)
			}
			poll.For(t, 5*time.Second, 10*time.Millisecond, func() error {
				if !r.IsLeader() {
					return errors.New("not the leader")
				}
				return nil
			})
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
			poll.For(t, 5*time.Second, 10*time.Millisecond, func() error {
				if n := len(r2.State().Tenants()); n != 2 {
					return fmt.Errorf("%d tenants restored, want 2", n)
				}
				return nil
			})
			t1, _ := r2.State().Tenant("t1")
			if t1.Name != "one" || !t1.CreatedAt.Equal(now) {
				t.Fatalf("restored tenant = %+v", t1)
			}
		})
	}
}
