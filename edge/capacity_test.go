package edge

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/strata-edge/strata/internal/capacity"
	"github.com/strata-edge/strata/internal/pki"
	"github.com/strata-edge/strata/internal/poll"
	"github.com/strata-edge/strata/registry/gossip"
)

// TestCapacityProfileLowersAdvertisedEgress: an edge with a profile
// calibrated on this hardware registers and gossips the profile's knee
// egress instead of its NIC speed; a profile from other hardware is
// ignored (the configured NIC speed is advertised); an unreadable one
// stops the edge from starting.
func TestCapacityProfileLowersAdvertisedEgress(t *testing.T) {
	key, err := gossip.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	here := capacity.ThisHost()
	elsewhere := here
	elsewhere.Fingerprint = "0123456789abcdef"
	write := func(name string, h capacity.Host) string {
		p, err := capacity.NewProfile(h, 1e6, map[string]capacity.Transport{"webrtc": {KneeViewers: 300, EgressMbps: 300.5}}, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, name)
		if err := p.Write(path); err != nil {
			t.Fatal(err)
		}
		return path
	}
	for _, tc := range []struct {
		name, profile string
		want          uint64
	}{
		{"calibrated here", write("here.json", here), 300},
		{"calibrated elsewhere", write("elsewhere.json", elsewhere), 25000},
	} {
		t.Run(tc.name, func(t *testing.T) {
			op := originPool(t, key)
			fo := newFakeOrigin(t)
			fo.seeds = []string{op.Addr()}
			cfg := testConfig(fo.addr(), key)
			cfg.Capacity.Profile = tc.profile
			e, err := New(cfg, Deps{Logger: testLogger(t), Reconciler: &recReconciler{}, Identity: fo.identity(pki.RoleEdge, "edge-1")})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = e.Close(context.Background()) })
			poll.For(t, 10*time.Second, 10*time.Millisecond, func() error {
				regs, _, _ := fo.snapshot()
				m, ok := op.Member("edge-1")
				if len(regs) == 0 || !ok {
					return fmt.Errorf("not registered (%d) or not in gossip (%v)", len(regs), ok)
				}
				if got := regs[len(regs)-1].NICMbps; uint64(got) != tc.want || m.Meta.NICMbps != tc.want {
					return fmt.Errorf("registered %d, gossiped %d Mbit/s; want %d", got, m.Meta.NICMbps, tc.want)
				}
				return nil
			})
		})
	}
	t.Run("unreadable", func(t *testing.T) {
		cfg := testConfig("127.0.0.1:1", key)
		cfg.Capacity.Profile = filepath.Join(dir, "missing.json")
		_, err := New(cfg, Deps{Logger: testLogger(t), Reconciler: &recReconciler{}})
		if !errors.Is(err, ErrInvalid) || !errors.Is(err, capacity.ErrProfile) {
			t.Fatalf("missing profile: %v", err)
		}
	})
}
