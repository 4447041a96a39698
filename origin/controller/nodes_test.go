package controller

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/strata-edge/strata/internal/poll"
	"github.com/strata-edge/strata/registry"
	"github.com/strata-edge/strata/registry/gossip"
)

// lostRecorder records the nodes the reconciler reports lost.
type lostRecorder struct{ lost map[string]registry.NodeState }

func (r *lostRecorder) NodeLost(id string, st registry.NodeState) { r.lost[id] = st }

func (h *harness) nodes(lost LostNodes) *Nodes {
	h.t.Helper()
	n, err := NewNodes(NodesDeps{Store: h, Members: h, Lost: lost, Self: "o1", Now: h.Now})
	if err != nil {
		h.t.Fatal(err)
	}
	return n
}

// TestNodesReconcile: one pass writes gossip's liveness and drain flag
// into the registry, reports the nodes lost while holding sessions, skips
// this origin, and gives a never-seen edge a grace period.
func TestNodesReconcile(t *testing.T) {
	h := newHarness(t)
	h.app("app1", 10, "", "")
	for _, id := range []string{"e1", "e2", "e3", "e4", "e5", "e6"} {
		h.edge(id, 100)
	}
	h.must(
		&registry.UpsertNode{Node: registry.Node{ID: "o1", Role: registry.RoleOrigin}},
		&registry.UpsertNode{Node: registry.Node{ID: "o2", Role: registry.RoleOrigin}},
	)
	h.running("ses3", "app1", "e3")
	h.running("ses4", "app1", "e4")
	h.gossip("e2", gossip.StateSuspect, false)
	h.gossip("e3", gossip.StateDead, false)
	h.gossip("e4", gossip.StateLeft, false)
	h.forget("e5")
	h.gossip("e6", gossip.StateAlive, true)
	lost := &lostRecorder{lost: map[string]registry.NodeState{}}
	n := h.nodes(lost)

	n.reconcile(context.Background(), false)
	want := map[string]struct {
		state    registry.NodeState
		draining bool
	}{
		"e1": {registry.NodeAlive, false},
		"e2": {registry.NodeSuspect, false},
		"e3": {registry.NodeDead, false},
		"e4": {registry.NodeLeft, false},
		"e5": {registry.NodeAlive, false}, // within the grace
		"e6": {registry.NodeAlive, true},
		"o1": {registry.NodeAlive, false},
		"o2": {registry.NodeAlive, false},
	}
	for id, w := range want {
		if got := h.node(id); got.State != w.state || got.Draining != w.draining {
			t.Errorf("%s: %s draining=%t, want %s draining=%t", id, got.State, got.Draining, w.state, w.draining)
		}
	}
	if len(lost.lost) != 2 || lost.lost["e3"] != registry.NodeDead || lost.lost["e4"] != registry.NodeLeft {
		t.Fatalf("lost %v, want e3 dead and e4 left", lost.lost)
	}
	if cmds := h.commands(); len(cmds) != 4 {
		t.Fatalf("applied %v, want four node state changes", cmds)
	}

	// Level-triggered: a second pass changes nothing, but reports again a
	// lost node that still holds sessions.
	clear(lost.lost)
	h.must(&registry.SetSessionState{ID: "ses4", State: registry.StateTerminated})
	n.reconcile(context.Background(), false)
	if cmds := h.commands(); len(cmds) != 0 {
		t.Fatalf("a pass with nothing new applied %v", cmds)
	}
	if len(lost.lost) != 1 || lost.lost["e3"] != registry.NodeDead {
		t.Fatalf("lost %v, want e3 again only", lost.lost)
	}

	// Past the grace, an edge never seen is dead; an origin is not judged.
	n.reconcile(context.Background(), true)
	if got := h.node("e5"); got.State != registry.NodeDead || got.Reason != "not seen in gossip" {
		t.Fatalf("e5 %s (%s), want dead, not seen in gossip", got.State, got.Reason)
	}
	if got := h.node("o2"); got.State != registry.NodeAlive {
		t.Fatalf("o2 %s; origins are not judged absent", got.State)
	}
}

// TestNodeDeathReplacesSessions wires the three controllers together on
// the harness: an edge dies in gossip, the reconciler marks it dead, the
// lifecycle releases its sessions per restart policy, and the placer puts
// the restartable one on the surviving edge.
func TestNodeDeathReplacesSessions(t *testing.T) {
	h := newHarness(t)
	h.lostEdgeFixture()
	p := h.placer()
	l, err := NewLifecycle(LifecycleDeps{Store: h, Placement: p, Now: h.Now})
	if err != nil {
		t.Fatal(err)
	}
	h.run(p)
	h.run(l)
	h.run(h.nodes(l))

	h.gossip("e1", gossip.StateDead, false)
	h.events <- gossip.Event{Type: gossip.EventFailed}
	poll.For(t, 5*time.Second, time.Millisecond, func() error {
		if s := h.session("ses1"); s.State != registry.StatePlaced || s.Reservation.NodeID != "e2" {
			return fmt.Errorf("ses1 is %s, want placed on e2", s.State)
		}
		return nil
	})
	h.wantState("ses2", registry.StateFailed, "")
	if got := h.node("e1").State; got != registry.NodeDead {
		t.Fatalf("e1 is %s, want dead", got)
	}
	if s := h.session("ses1"); s.Placements != 2 {
		t.Fatalf("ses1 placed %d times, want 2", s.Placements)
	}
}

// TestNodesRunJudgesAbsentAfterGrace: Run counts the grace from its own
// start, on its clock, and passes again on a gossip event.
func TestNodesRunJudgesAbsentAfterGrace(t *testing.T) {
	h := newHarness(t)
	h.edge("e1", 100)
	h.forget("e1")
	h.run(h.nodes(&lostRecorder{lost: map[string]registry.NodeState{}}))
	poll.For(t, 5*time.Second, time.Millisecond, func() error {
		if h.listed.Load() < 1 {
			return errors.New("no first pass")
		}
		return nil
	})
	if got := h.node("e1").State; got != registry.NodeAlive {
		t.Fatalf("e1 judged %s within the grace", got)
	}
	h.advance(absentGrace + 1)
	h.events <- gossip.Event{}
	poll.For(t, 5*time.Second, time.Millisecond, func() error {
		if got := h.node("e1").State; got != registry.NodeDead {
			return fmt.Errorf("e1 is %s, want dead", got)
		}
		return nil
	})
}
