package controller

import (
	"context"
	"strings"
	"testing"

	"github.com/strata-edge/strata/registry"
	"github.com/strata-edge/strata/registry/gossip"
)

// A session that cannot be placed says why and what to change: no edge
// at all, or edges without the GPUs or egress it needs.
func TestWaitingReasonSaysWhatToChange(t *testing.T) {
	tests := []struct {
		name  string
		setup func(h *harness)
		want  []string
	}{
		{"no edge", func(h *harness) {}, []string{"no edge has joined", "strata edge --join"}},
		{"no GPUs", func(h *harness) { h.edge("e1", 1000) }, []string{"1 edge without 1 free GPU(s)", "--gpus fake:1xL4:24GB"}},
		{"no egress", func(h *harness) {
			h.must(&registry.UpsertNode{Node: registry.Node{ID: "e1", Role: registry.RoleEdge, Region: "eu", NICMbps: 5,
				GPUs: []registry.GPU{{Index: 0, Model: "L4", MemoryMB: 24000}}, Meta: registry.Meta{CreatedAt: epoch}}})
			h.gossip("e1", gossip.StateAlive, false)
		}, []string{"without 10 Mbit/s of egress free", "--nic-mbps"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			h.app("app1", 10, "", "")
			tt.setup(h)
			s := h.newSession("ses1", "app1")
			s.GPUs = 1
			h.must(&registry.CreateSession{Session: s})
			h.placer().placeRound(context.Background())
			h.wantState("ses1", registry.StatePending, "")
			r := h.session("ses1").Reason
			for _, w := range tt.want {
				if !strings.Contains(r, w) {
					t.Errorf("reason %q lacks %q", r, w)
				}
			}
		})
	}
}
