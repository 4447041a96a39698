package controller

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/strata-edge/strata/registry"
)

// TestPlacerRoundPlacesOldestFirst: a round places pending sessions in the
// order they were created (not ID order) while there is room, records why
// the others wait exactly once, and places them once room appears.
func TestPlacerRoundPlacesOldestFirst(t *testing.T) {
	h := newHarness(t)
	h.app("app1", 10, "", "")
	h.edge("e1", 20) // room for two
	for _, id := range []string{"ses-c", "ses-b", "ses-a"} {
		h.pending(id, "app1")
	}
	p := h.placer()
	ctx := context.Background()

	p.placeRound(ctx)
	h.wantState("ses-c", registry.StatePlaced, "e1")
	h.wantState("ses-b", registry.StatePlaced, "e1")
	h.wantState("ses-a", registry.StatePending, "")
	if r := h.session("ses-a").Reason; !strings.HasPrefix(r, "waiting for capacity") {
		t.Fatalf("waiting session's reason %q", r)
	}
	if got := counted(t, p, "placed"); got != 2 {
		t.Fatalf("placed decisions %v, want 2", got)
	}
	h.commands()

	// Nothing changed: the waiting session is not tried or noted again.
	p.placeRound(ctx)
	if cmds := h.commands(); len(cmds) != 0 {
		t.Fatalf("idle round applied %v", cmds)
	}

	// Capacity frees: the next round places it.
	h.must(&registry.SetSessionState{ID: "ses-c", State: registry.StateTerminated})
	p.placeRound(ctx)
	h.wantState("ses-a", registry.StatePlaced, "e1")
	if u := h.State().NodeUsage("e1"); u.EgressMbps != 20 || u.Sessions != 2 {
		t.Fatalf("e1 usage %+v", u)
	}
}

// TestPlacerRetriesStaleDecision: a decision the FSM refuses because the
// node changed under it leaves the session pending, asks for another
// round at once, and that round places it where there is room.
func TestPlacerRetriesStaleDecision(t *testing.T) {
	h := newHarness(t)
	h.app("app1", 10, "", "")
	h.edge("e1", 100)
	h.edge("e2", 100)
	h.pending("ses1", "app1")
	p := h.placer()

	var target string
	h.before = func(c registry.Command) {
		if ps, ok := c.(*registry.PlaceSession); ok && target == "" {
			// Another writer drains the chosen edge between decision
			// and commit.
			target = ps.Reservation.NodeID
			h.must(&registry.SetNodeState{ID: target, State: registry.NodeAlive, Draining: true})
		}
	}
	p.placeRound(context.Background())
	h.wantState("ses1", registry.StatePending, "")
	if got := counted(t, p, "stale"); got != 1 {
		t.Fatalf("stale decisions %v, want 1", got)
	}
	select {
	case <-p.kick:
	default:
		t.Fatal("a stale decision did not ask for another round")
	}
	if p.seen != 0 {
		t.Fatalf("seen index %d after a stale decision; want 0 (look at everything again)", p.seen)
	}

	p.placeRound(context.Background())
	h.wantState("ses1", registry.StatePlaced, "")
	if got := h.session("ses1").Reservation.NodeID; got == target {
		t.Fatalf("placed on the drained edge %s", got)
	}
}

// TestPlacerRunAndWaitRound: Run places a session WaitRound asked about,
// and returns once its context ends.
func TestPlacerRunAndWaitRound(t *testing.T) {
	h := newHarness(t)
	h.app("app1", 10, "", "")
	h.edge("e1", 100)
	p := h.placer()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- p.Run(ctx) }()

	h.pending("ses1", "app1")
	if !p.WaitRound(ctx) {
		t.Fatal("WaitRound gave up")
	}
	h.wantState("ses1", registry.StatePlaced, "e1")

	cancel()
	if err := <-done; err != nil {
		t.Fatalf("Run: %v", err)
	}
	wctx, wcancel := context.WithCancel(context.Background())
	wcancel()
	if p.WaitRound(wctx) {
		t.Fatal("WaitRound reported a round with no placer running")
	}
}

// TestCreatePlaced covers the inline create path: placed in one entry when
// this origin leads, nothing waits and there is room; not tried otherwise;
// created pending when the FSM finds the decision stale.
func TestCreatePlaced(t *testing.T) {
	tests := []struct {
		name  string
		setup func(h *harness)
		// want is the returned session's state; 0 means not tried (nil).
		want registry.SessionState
		cmds []string
	}{
		{"placed", func(*harness) {}, registry.StatePlaced, []string{"*registry.CreatePlacedSession"}},
		{"not leader", func(h *harness) { h.leader.Store(false) }, 0, nil},
		{"older session waits", func(h *harness) {
			h.app("big", 1000, "", "")
			h.pending("ses-old", "big")
		}, 0, nil},
		{"no room", func(h *harness) { h.must(&registry.SetNodeState{ID: "e1", State: registry.NodeAlive, Draining: true}) }, 0, nil},
		{"stale", func(h *harness) {
			h.before = func(c registry.Command) {
				if _, ok := c.(*registry.CreatePlacedSession); ok {
					h.must(&registry.SetNodeState{ID: "e1", State: registry.NodeDead})
				}
			}
		}, registry.StatePending, []string{"*registry.CreatePlacedSession"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			h.app("app1", 10, "", "")
			h.edge("e1", 100)
			tt.setup(h)
			p := h.placer()
			got, err := p.CreatePlaced(context.Background(), h.newSession("ses1", "app1"))
			if err != nil {
				t.Fatal(err)
			}
			switch {
			case tt.want == 0 && got != nil:
				t.Fatalf("tried: got %s", got.State)
			case tt.want != 0 && (got == nil || got.State != tt.want):
				t.Fatalf("got %+v, want %s", got, tt.want)
			}
			if cmds := h.commands(); !slices.Equal(cmds, tt.cmds) {
				t.Fatalf("applied %v, want %v", cmds, tt.cmds)
			}
			if tt.want != 0 {
				h.wantState("ses1", tt.want, "")
			}
			if tt.want == registry.StatePending && p.inline.snap != nil {
				t.Fatal("the inline view survived a stale decision")
			}
		})
	}
}

// TestCreatePlacedConcurrentNeverOverbooks: concurrent inline creates
// share one view: exactly as many are placed as the edge has room for,
// the rest are left to the placer, and the edge is never overbooked.
func TestCreatePlacedConcurrentNeverOverbooks(t *testing.T) {
	h := newHarness(t)
	h.app("app1", 10, "", "")
	h.edge("e1", 50) // room for five
	p := h.placer()
	var wg sync.WaitGroup
	var mu sync.Mutex
	placed, untried := 0, 0
	for i := range 20 {
		wg.Go(func() {
			s, err := p.CreatePlaced(context.Background(), h.newSession(fmt.Sprintf("ses%02d", i), "app1"))
			mu.Lock()
			defer mu.Unlock()
			switch {
			case err != nil:
				t.Error(err)
			case s == nil:
				untried++
			case s.State == registry.StatePlaced:
				placed++
			}
		})
	}
	wg.Wait()
	if placed != 5 || untried != 15 {
		t.Fatalf("placed %d, untried %d; want 5 and 15", placed, untried)
	}
	if u := h.State().NodeUsage("e1"); u.EgressMbps != 50 || u.Sessions != 5 {
		t.Fatalf("e1 usage %+v", u)
	}
}

// TestPlacerMetrics: the pending gauge reads the registry at scrape time,
// and registering twice fails instead of double counting.
func TestPlacerMetrics(t *testing.T) {
	h := newHarness(t)
	h.app("app1", 10, "", "")
	h.pending("ses1", "app1")
	reg := prometheus.NewRegistry()
	if _, err := NewPlacer(PlacerDeps{Store: h, Leader: h, Metrics: reg}); err != nil {
		t.Fatal(err)
	}
	if n := gathered(t, reg, "strata_placement_pending_sessions"); n != 1 {
		t.Fatalf("pending %v, want 1", n)
	}
	h.must(&registry.SetSessionState{ID: "ses1", State: registry.StateTerminated})
	if n := gathered(t, reg, "strata_placement_pending_sessions"); n != 0 {
		t.Fatalf("pending %v after the session ended, want 0", n)
	}
	if _, err := NewPlacer(PlacerDeps{Store: h, Leader: h, Metrics: reg}); err == nil {
		t.Fatal("a second placer registered the same metrics")
	}
	if _, err := NewPlacer(PlacerDeps{Leader: h}); err == nil {
		t.Fatal("a placer without a store")
	}
}

// gathered returns the value of a single-series gauge in reg.
func gathered(t *testing.T, reg *prometheus.Registry, name string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name && len(mf.GetMetric()) == 1 {
			return mf.GetMetric()[0].GetGauge().GetValue()
		}
	}
	t.Fatalf("no metric %s", name)
	return 0
}

// counted returns the placer's decisions of one outcome.
func counted(t *testing.T, p *Placer, outcome string) float64 {
	t.Helper()
	var m dto.Metric
	if err := p.decisions.WithLabelValues(outcome).Write(&m); err != nil {
		t.Fatal(err)
	}
	return m.GetCounter().GetValue()
}
