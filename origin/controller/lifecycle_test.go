package controller

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/strata-edge/strata/internal/poll"
	"github.com/strata-edge/strata/registry"
)

// TestAfterExitPolicies: what an instance's exit makes of its session,
// per restart policy, exit status and placements so far.
func TestAfterExitPolicies(t *testing.T) {
	zero, one := 0, 1
	tests := []struct {
		name       string
		policy     string
		exit       *int
		placements int64
		want       registry.SessionState
		reason     string // prefix
	}{
		{"default crash restarts", "", &one, 1, registry.StatePending, "restarting (restart_policy on-failure) after: boom"},
		{"default clean exit ends", "", &zero, 1, registry.StateTerminated, "instance exited with status 0"},
		{"unknown status restarts", "on-failure", nil, 1, registry.StatePending, "restarting (restart_policy on-failure)"},
		{"never fails", "never", &one, 1, registry.StateFailed, "boom"},
		{"never fails a clean exit too", "never", &zero, 1, registry.StateFailed, "boom"},
		{"always restarts a clean exit", "always", &zero, 1, registry.StatePending, "restarting (restart_policy always)"},
		{"always stops at the cap", "always", &one, maxPlacements, registry.StateFailed, "boom; not restarted after 10 placements"},
		{"on-failure stops at the cap", "on-failure", &one, maxPlacements + 3, registry.StateFailed, "boom; not restarted after 13 placements"},
		{"below the cap", "always", &one, maxPlacements - 1, registry.StatePending, "restarting"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t)
			h.app("app1", 10, tt.policy, "")
			s := h.newSession("ses1", "app1")
			s.Placements = tt.placements
			st, reason := h.lifecycle().AfterExit(&s, tt.exit, "boom")
			if st != tt.want || !strings.HasPrefix(reason, tt.reason) {
				t.Fatalf("got %s %q, want %s %q…", st, reason, tt.want, tt.reason)
			}
		})
	}
}

// TestReport: an edge's report moves the session; a failure restarts it
// through pending (releasing its edge and asking for placement); a report
// on a state that changed meanwhile is refused.
func TestReport(t *testing.T) {
	h := newHarness(t)
	h.app("app1", 10, "always", "")
	h.edge("e1", 100)
	h.running("ses1", "app1", "e1")
	l := h.lifecycle()
	ctx := context.Background()

	s, err := l.Report(ctx, h.session("ses1"), registry.StateFailed, nil, "segfault")
	if err != nil {
		t.Fatal(err)
	}
	if s.State != registry.StatePending || !strings.Contains(s.Reason, "segfault") || s.Reservation != nil {
		t.Fatalf("after a failure: %s %q reservation %+v", s.State, s.Reason, s.Reservation)
	}
	if u := h.State().NodeUsage("e1"); u.Sessions != 0 || u.EgressMbps != 0 {
		t.Fatalf("e1 still holds %+v", u)
	}
	if h.kicks.Load() != 1 {
		t.Fatalf("%d placement kicks, want 1", h.kicks.Load())
	}

	h.running("ses2", "app1", "e1")
	stale := h.session("ses2")
	h.must(&registry.SetSessionState{ID: "ses2", State: registry.StateHibernated})
	if _, err := l.Report(ctx, stale, registry.StateRunning, nil, ""); !errors.Is(err, registry.ErrConflict) {
		t.Fatalf("report on a stale view: err = %v, want conflict", err)
	}
	h.wantState("ses2", registry.StateHibernated, "")
}

// TestIdle: the app's idle policy hibernates or ends a running session and
// frees its edge; without a policy nothing is written.
func TestIdle(t *testing.T) {
	for _, tt := range []struct {
		policy string
		want   registry.SessionState
	}{
		{"hibernate", registry.StateHibernated},
		{"terminate", registry.StateTerminated},
		{"", 0},
		{"none", 0},
	} {
		t.Run(tt.policy, func(t *testing.T) {
			h := newHarness(t)
			h.app("app1", 10, "", tt.policy)
			h.edge("e1", 100)
			h.running("ses1", "app1", "e1")
			h.commands()
			s, err := h.lifecycle().Idle(context.Background(), h.session("ses1"), 5*time.Minute)
			if tt.want == 0 {
				if !errors.Is(err, ErrNoIdlePolicy) {
					t.Fatalf("err = %v, want no idle policy", err)
				}
				if cmds := h.commands(); len(cmds) != 0 {
					t.Fatalf("applied %v", cmds)
				}
				h.wantState("ses1", registry.StateRunning, "e1")
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if s.State != tt.want || s.Reason != "idle: no viewers for 5m0s" {
				t.Fatalf("got %s %q", s.State, s.Reason)
			}
			if u := h.State().NodeUsage("e1"); u.Sessions != 0 || h.kicks.Load() != 1 {
				t.Fatalf("e1 holds %+v, kicks %d", u, h.kicks.Load())
			}
		})
	}
}

// TestLifecycleReleasesLostNodes: Run releases a lost node's sessions per
// restart policy (pending to be placed again, or failed for never) and
// asks for placement; sessions elsewhere are untouched.
func TestLifecycleReleasesLostNodes(t *testing.T) {
	h := newHarness(t)
	h.lostEdgeFixture()
	h.running("ses3", "app1", "e2")
	h.must(&registry.SetNodeState{ID: "e1", State: registry.NodeDead})
	l := h.lifecycle()
	h.run(l)

	l.NodeLost("e1", registry.NodeDead)
	poll.For(t, 5*time.Second, time.Millisecond, func() error {
		if s1, s2 := h.session("ses1").State, h.session("ses2").State; s1 != registry.StatePending || s2 != registry.StateFailed {
			return fmt.Errorf("e1's sessions not released: ses1 %s, ses2 %s", s1, s2)
		}
		return nil
	})
	if r := h.session("ses1").Reason; r != "node e1 dead; waiting to be placed again" {
		t.Fatalf("ses1 reason %q", r)
	}
	if r := h.session("ses2").Reason; r != "node e1 dead" {
		t.Fatalf("ses2 reason %q", r)
	}
	h.wantState("ses3", registry.StateRunning, "e2")
	poll.For(t, 5*time.Second, time.Millisecond, func() error {
		if h.kicks.Load() < 1 {
			return errors.New("no placement kick")
		}
		return nil
	})

	// A node reported lost that is alive again by the time its turn
	// comes keeps its sessions.
	idle := h.lifecycle() // not running: released by hand below
	idle.NodeLost("e2", registry.NodeDead)
	idle.releaseLost(context.Background())
	h.wantState("ses3", registry.StateRunning, "e2")
}
