package controller

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/strata-edge/strata/placement"
	"github.com/strata-edge/strata/registry"
)

// TestEngineAndFSMAgree pins the engine's view to the FSM's: for random
// edges and random reservations (some fitting, some not), applying a
// reservation to the placement snapshot built from the registry succeeds
// exactly when the FSM commits it. Both sides run placement.Fits; this
// checks the two translations into it (Snapshot here, the FSM's own in
// registry) and keeps the reservations in step over a long sequence.
func TestEngineAndFSMAgree(t *testing.T) {
	rng := rand.New(rand.NewPCG(12, 34))
	accepted, refused := 0, 0
	for round := range 20 {
		h := newHarness(t)
		h.app("app1", 1, "", "")
		nodes := 1 + rng.IntN(4)
		for i := range nodes {
			n := registry.Node{ID: fmt.Sprintf("e%d", i), Role: registry.RoleEdge, NICMbps: int64(rng.IntN(200))}
			for g := range rng.IntN(3) {
				n.GPUs = append(n.GPUs, registry.GPU{Index: int64(g), Model: "L4", MemoryMB: int64(rng.IntN(100))})
			}
			if rng.IntN(8) == 0 {
				n.State = registry.NodeSuspect
			}
			h.must(&registry.UpsertNode{Node: n})
		}
		for i := range 60 {
			id := fmt.Sprintf("ses%d", i)
			h.pending(id, "app1")
			node := fmt.Sprintf("e%d", rng.IntN(nodes+1)) // sometimes unknown
			res := registry.Reservation{NodeID: node, EgressMbps: int64(rng.IntN(80)) - 5}
			for range rng.IntN(3) {
				res.GPUs = append(res.GPUs, registry.GPUSlice{Index: int64(rng.IntN(3)), MemoryMB: int64(rng.IntN(60)) - 5})
			}
			snap := Snapshot(h.State(), nil, nil)
			var rev uint64
			if i, ok := snap.NodeIndex(node); ok {
				rev = snap.Nodes[i].Revision
			}
			d := placement.Decision{NodeID: node, Revision: rev, Reservation: placement.Reservation{NodeID: node, EgressMbps: res.EgressMbps}}
			for _, g := range res.GPUs {
				d.Reservation.GPUs = append(d.Reservation.GPUs, placement.GPUSlice{Index: int(g.Index), MemoryMB: g.MemoryMB})
			}
			engineErr := snap.Apply(d)
			_, fsmErr := h.Apply(context.Background(), &registry.PlaceSession{ID: id, Reservation: res, ExpectResIndex: rev})
			if (engineErr == nil) != (fsmErr == nil) {
				t.Fatalf("round %d, %s on %s %+v: engine %v, FSM %v", round, id, node, res, engineErr, fsmErr)
			}
			if errors.Is(engineErr, placement.ErrNoCapacity) != errors.Is(fsmErr, registry.ErrNoCapacity) {
				t.Fatalf("round %d, %s: engine %v, FSM %v: not the same kind of refusal", round, id, engineErr, fsmErr)
			}
			if fsmErr == nil {
				accepted++
			} else {
				refused++
			}

		}
	}
	if accepted < 100 || refused < 100 {
		t.Fatalf("%d reservations fitted and %d did not; the generator should test both", accepted, refused)
	}
}
