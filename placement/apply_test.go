package placement

import (
	"errors"
	"testing"
)

func TestApplyAndRelease(t *testing.T) {
	s := &Snapshot{
		Nodes:   []Node{node("a", "eu-west", paris.Lat, paris.Lon)},
		Tenants: map[string]Tenant{"t": {Quota: Quota{MaxGPUs: 2}}},
	}
	req := Request{Tenant: "t", GPUs: 1, GPUMemoryMB: 10000, EgressMbps: 4000, Requester: at(paris)}
	d1, err := Place(s, req)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Apply(d1); err != nil {
		t.Fatal(err)
	}
	n := &s.Nodes[0]
	if n.Revision != 1 || n.ReservedEgressMbps != 4000 || n.GPUs[0].ReservedMB+n.GPUs[1].ReservedMB != 10000 {
		t.Fatalf("after apply: %+v", n)
	}
	if u := s.Tenants["t"].Usage; u != (Usage{Sessions: 1, GPUs: 1, EgressMbps: 4000}) {
		t.Fatalf("usage %+v", u)
	}
	if err := s.Apply(d1); !errors.Is(err, ErrStaleDecision) {
		t.Fatalf("stale apply: %v", err)
	}
	d2, err := Place(s, req)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Apply(d2); err != nil {
		t.Fatal(err)
	}
	// NIC now has 2000 left; quota has 0 GPUs left.
	if _, err := Place(s, req); !errors.Is(err, ErrQuotaExceeded) {
		t.Fatalf("third placement: %v", err)
	}
	if err := s.Release(d1.Reservation); err != nil {
		t.Fatal(err)
	}
	if u := s.Tenants["t"].Usage; u != (Usage{Sessions: 1, GPUs: 1, EgressMbps: 4000}) {
		t.Fatalf("usage after release %+v", u)
	}
	d3, err := Place(s, req)
	if err != nil {
		t.Fatalf("after release: %v", err)
	}
	if d3.Revision != 3 {
		t.Fatalf("decision revision %d, want 3", d3.Revision)
	}
}

func TestApplyRejects(t *testing.T) {
	base := func() *Snapshot {
		return &Snapshot{Nodes: []Node{node("a", "eu-west", paris.Lat, paris.Lon)}}
	}
	good := Decision{NodeID: "a", Reservation: Reservation{Tenant: "t", NodeID: "a", GPUs: []GPUSlice{{Index: 0, MemoryMB: 24000, Exclusive: true}}, EgressMbps: 100}}
	tests := []struct {
		name string
		mod  func(*Snapshot, *Decision)
		want error
	}{
		{"ok", func(*Snapshot, *Decision) {}, nil},
		{"unknown node", func(_ *Snapshot, d *Decision) { d.NodeID, d.Reservation.NodeID = "x", "x" }, ErrUnknownNode},
		{"node mismatch", func(_ *Snapshot, d *Decision) { d.NodeID = "x" }, ErrInvalidRequest},
		{"stale", func(s *Snapshot, _ *Decision) { s.Nodes[0].Revision = 9 }, ErrStaleDecision},
		{"dead", func(s *Snapshot, _ *Decision) { s.Nodes[0].State = StateDead }, ErrNoCapacity},
		{"nic", func(s *Snapshot, _ *Decision) { s.Nodes[0].ReservedEgressMbps = 9950 }, ErrNoCapacity},
		{"gpu taken", func(s *Snapshot, _ *Decision) { s.Nodes[0].GPUs[0].ReservedMB = 1 }, ErrNoCapacity},
		{"gpu unknown", func(_ *Snapshot, d *Decision) { d.Reservation.GPUs[0].Index = 7 }, ErrInvalidRequest},
		{"gpu twice", func(_ *Snapshot, d *Decision) {
			d.Reservation.GPUs = append(d.Reservation.GPUs, GPUSlice{Index: 0, MemoryMB: 1})
		}, ErrInvalidRequest},
		{"quota", func(s *Snapshot, _ *Decision) {
			s.Tenants = map[string]Tenant{"t": {Quota: Quota{MaxSessions: 1}, Usage: Usage{Sessions: 1}}}
		}, ErrQuotaExceeded},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, d := base(), good
			d.Reservation.GPUs = append([]GPUSlice(nil), good.Reservation.GPUs...)
			tt.mod(s, &d)
			err := s.Apply(d)
			if tt.want == nil && err != nil || tt.want != nil && !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
			if err != nil && (s.Nodes[0].Revision != 0 && tt.name != "stale") {
				t.Fatalf("failed apply changed the node: %+v", s.Nodes[0])
			}
		})
	}
}

func TestCloneIsDeep(t *testing.T) {
	s := &Snapshot{Nodes: []Node{node("a", "eu-west", paris.Lat, paris.Lon)}, Tenants: map[string]Tenant{"t": {}}}
	c := s.Clone()
	d, err := Place(c, Request{Tenant: "t", GPUs: 1})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Apply(d); err != nil {
		t.Fatal(err)
	}
	if s.Nodes[0].GPUs[0].ReservedMB != 0 || s.Nodes[0].Revision != 0 || s.Tenants["t"].Usage.Sessions != 0 {
		t.Fatalf("apply on the clone changed the original")
	}
}

// TestPrepareStaleness: a replaced Nodes slice is re-prepared lazily; a
// field change in place needs an explicit Prepare, as documented.
func TestPrepareStaleness(t *testing.T) {
	s := &Snapshot{Nodes: []Node{node("a", "eu-west", paris.Lat, paris.Lon)}}
	if err := s.Prepare(); err != nil {
		t.Fatal(err)
	}
	s.Nodes = []Node{node("b", "eu-west", paris.Lat, paris.Lon)}
	if d, err := Place(s, Request{Tenant: "t", GPUs: 1}); err != nil || d.NodeID != "b" {
		t.Fatalf("replaced slice: %v %v", d.NodeID, err)
	}
	s.Nodes[0].Draining = true
	if err := s.Prepare(); err != nil {
		t.Fatal(err)
	}
	if _, err := Place(s, Request{Tenant: "t", GPUs: 1}); !errors.Is(err, ErrNoCapacity) {
		t.Fatalf("after Prepare: %v", err)
	}
}

// TestQuotaAndCapacitySumsAreChecked: usage near the int64 limit is never
// wrapped: a quota check that would overflow refuses, a node whose
// reserved egress would overflow has no room, and releases never take a
// usage below zero.
func TestQuotaAndCapacitySumsAreChecked(t *testing.T) {
	const huge = int64(1) << 62
	s := &Snapshot{
		Nodes:   []Node{{ID: "a", State: StateAlive, NICMbps: 1<<63 - 1}},
		Tenants: map[string]Tenant{"t": {Usage: Usage{Sessions: 1, EgressMbps: 3 * (huge / 2)}}},
	}
	d := Decision{NodeID: "a", Reservation: Reservation{Tenant: "t", NodeID: "a", EgressMbps: huge}}
	if err := s.Apply(d); !errors.Is(err, ErrQuotaExceeded) {
		t.Fatalf("overflowing tenant usage: err = %v, want quota exceeded", err)
	}
	s.Tenants = nil
	s.Nodes[0].ReservedEgressMbps = 3 * (huge / 2)
	if err := s.Apply(d); !errors.Is(err, ErrNoCapacity) {
		t.Fatalf("overflowing node egress: err = %v, want no capacity", err)
	}
	s.Nodes[0].ReservedEgressMbps = 0
	for range 3 {
		_ = s.Apply(d)
		d.Revision = s.Nodes[0].Revision
	}
	if u := s.Tenants["t"].Usage; u.EgressMbps != huge || u.Sessions != 1 || s.Nodes[0].ReservedEgressMbps != huge {
		t.Fatalf("after three applies of 2^62: usage %+v, node %d", u, s.Nodes[0].ReservedEgressMbps)
	}
	for range 3 {
		if err := s.Release(d.Reservation); err != nil {
			t.Fatal(err)
		}
	}
	if u := s.Tenants["t"].Usage; u.EgressMbps != 0 || u.Sessions != 0 || s.Nodes[0].ReservedEgressMbps != 0 {
		t.Fatalf("after releases: usage %+v, node %d", u, s.Nodes[0].ReservedEgressMbps)
	}
	if got := AddUsage(1<<63-1, 1); got != 1<<63-1 {
		t.Fatalf("AddUsage saturates: got %d", got)
	}
	if got := AddUsage(-1<<63, -1); got != 0 {
		t.Fatalf("AddUsage clamps at zero: got %d", got)
	}
}
