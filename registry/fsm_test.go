package registry

import (
	"errors"
	"testing"
	"time"
)

// applyAll applies commands in order at increasing indexes.
func applyAll(t *testing.T, s *State, cmds ...Command) []error {
	t.Helper()
	var errs []error
	for _, c := range cmds {
		s.mu.Lock()
		s.index++
		_, err := c.apply(s, s.index)
		s.mu.Unlock()
		errs = append(errs, err)
	}
	return errs
}

func fixture(t *testing.T) *State {
	t.Helper()
	s := NewState()
	now := time.Unix(1, 0).UTC()
	errs := applyAll(t, s,
		&CreateTenant{Tenant: Tenant{ID: "t1", Name: "one", Quota: Quota{MaxSessions: 3, MaxGPUs: 2}, Meta: Meta{CreatedAt: now}}},
		&CreateApp{App: App{ID: "a1", TenantID: "t1", Name: "game", GPUs: 1, EgressMbps: 10}},
		&UpsertNode{Node: Node{ID: "e1", Role: RoleEdge, NICMbps: 25, GPUs: []GPU{{Index: 0, Model: "L4", MemoryMB: 100}}}},
	)
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	return s
}

func TestSessionTransitions(t *testing.T) {
	for from, tos := range transitions {
		for _, to := range []SessionState{StatePending, StatePlaced, StateStarting, StateRunning, StateHibernated, StateTerminated, StateFailed} {
			allowed := false
			for _, x := range tos {
				allowed = allowed || x == to
			}
			if CanTransition(from, to) != allowed {
				t.Errorf("CanTransition(%s, %s) = %v", from, to, !allowed)
			}
		}
	}
	for _, terminal := range []SessionState{StateTerminated, StateFailed} {
		if CanTransition(terminal, StatePending) || !terminal.Terminal() {
			t.Errorf("%s is not terminal", terminal)
		}
	}
}

func TestPlaceReleaseAndQuota(t *testing.T) {
	s := fixture(t)
	mk := func(id string) Command {
		return &CreateSession{Session: Session{ID: id, TenantID: "t1", AppID: "a1", GPUs: 1, EgressMbps: 10}}
	}
	place := func(id string, mem, egress int64) Command {
		return &PlaceSession{ID: id, Reservation: Reservation{NodeID: "e1", EgressMbps: egress, GPUs: []GPUSlice{{Index: 0, MemoryMB: mem}}}}
	}
	errs := applyAll(t, s, mk("s1"), mk("s2"), mk("s3"))
	if errs[0] != nil || errs[1] != nil || !errors.Is(errs[2], ErrQuotaExceeded) {
		t.Fatalf("creates: %v (third should exceed the 2-GPU quota)", errs)
	}
	errs = applyAll(t, s, place("s1", 60, 10), place("s2", 60, 10))
	if errs[0] != nil || !errors.Is(errs[1], ErrStaleDecision) {
		t.Fatalf("places: %v (second overbooks GPU memory)", errs)
	}
	if u := s.NodeUsage("e1"); u.EgressMbps != 10 || u.GPUMemoryMB[0] != 60 || u.Sessions != 1 {
		t.Fatalf("usage after one placement: %+v", u)
	}
	errs = applyAll(t, s, place("s2", 40, 16))
	if !errors.Is(errs[0], ErrStaleDecision) {
		t.Fatalf("NIC overbooking accepted: %v", errs)
	}
	errs = applyAll(t, s, &SetSessionState{ID: "s1", State: StateTerminated, Reason: "done"}, place("s2", 100, 15))
	if errs[0] != nil || errs[1] != nil {
		t.Fatalf("release then place: %v", errs)
	}
	if u := s.NodeUsage("e1"); u.EgressMbps != 15 || u.GPUMemoryMB[0] != 100 {
		t.Fatalf("usage after release: %+v", u)
	}
	if errs := applyAll(t, s, &SetSessionState{ID: "s1", State: StateRunning}); !errors.Is(errs[0], ErrInvalidTransition) {
		t.Fatalf("terminated → running: %v", errs)
	}
	if u := s.TenantUsage("t1"); u.Sessions != 1 || u.GPUs != 1 {
		t.Fatalf("tenant usage: %+v", u)
	}
}

func TestNotePendingOnlyTouchesPending(t *testing.T) {
	s := fixture(t)
	applyAll(t, s,
		&CreateSession{Session: Session{ID: "s1", TenantID: "t1", AppID: "a1"}},
		&CreateSession{Session: Session{ID: "s2", TenantID: "t1", AppID: "a1"}},
		&SetSessionState{ID: "s2", State: StateTerminated},
		&NotePending{Reason: "no capacity", IDs: []string{"s1", "s2", "missing"}},
	)
	s1, _ := s.Session("s1")
	s2, _ := s.Session("s2")
	if s1.Reason != "no capacity" || s2.Reason == "no capacity" {
		t.Fatalf("reasons: s1 %q, s2 %q", s1.Reason, s2.Reason)
	}
	pending, total, _ := s.PendingSessions(0)
	if total != 1 || len(pending) != 1 || pending[0].ID != "s1" {
		t.Fatalf("pending index: %d %v", total, pending)
	}
}

// TestHibernateAndWake: hibernating a running session frees its
// reservation but not the tenant's quota; waking goes through pending (the
// placer), and a state that holds capacity cannot be set without a
// placement.
func TestHibernateAndWake(t *testing.T) {
	s := fixture(t)
	res := Reservation{NodeID: "e1", EgressMbps: 10, GPUs: []GPUSlice{{Index: 0, MemoryMB: 60}}}
	errs := applyAll(t, s,
		&CreateSession{Session: Session{ID: "s1", TenantID: "t1", AppID: "a1", GPUs: 1, EgressMbps: 10}},
		&PlaceSession{ID: "s1", Reservation: res},
		&SetSessionState{ID: "s1", State: StateRunning},
		&SetSessionState{ID: "s1", State: StateHibernated, Reason: "idle"},
	)
	for _, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	ses, _ := s.Session("s1")
	if ses.State != StateHibernated || ses.Reservation != nil {
		t.Fatalf("hibernated session: %s %+v", ses.State, ses.Reservation)
	}
	if u := s.NodeUsage("e1"); u.Sessions != 0 || u.GPUMemoryMB[0] != 0 {
		t.Fatalf("node usage after hibernate: %+v", u)
	}
	if u := s.TenantUsage("t1"); u.Sessions != 1 {
		t.Fatalf("tenant usage after hibernate: %+v", u)
	}
	for _, bad := range []SessionState{StatePlaced, StateStarting, StateRunning} {
		if errs := applyAll(t, s, &SetSessionState{ID: "s1", State: bad}); !errors.Is(errs[0], ErrInvalidTransition) {
			t.Errorf("hibernated → %s without a placement: %v", bad, errs[0])
		}
	}
	errs = applyAll(t, s,
		&SetSessionState{ID: "s1", State: StatePending, ExpectState: StateHibernated, Reason: "woken"},
		&PlaceSession{ID: "s1", Reservation: res},
	)
	if errs[0] != nil || errs[1] != nil {
		t.Fatalf("wake then place: %v", errs)
	}
	if ses, _ := s.Session("s1"); ses.State != StatePlaced || ses.Placements != 2 {
		t.Fatalf("woken session: %s, %d placements", ses.State, ses.Placements)
	}
	// Hibernating is only for running sessions.
	if errs := applyAll(t, s, &SetSessionState{ID: "s1", State: StateHibernated}); !errors.Is(errs[0], ErrInvalidTransition) {
		t.Fatalf("placed → hibernated: %v", errs[0])
	}
}
