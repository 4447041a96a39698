package registry

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"
)

// applyAt encodes, decodes and applies c at idx the way the FSM does, so
// every command exercised here also round-trips through its wire form.
func applyAt(t *testing.T, s *State, idx uint64, c Command) (any, error) {
	t.Helper()
	s.mu.Lock()
	defer s.mu.Unlock()
	r := applyEntry(s, EncodeCommand(c), idx)
	s.index = idx
	return r.Value, r.Err
}

func TestCreatePlacedSession(t *testing.T) {
	now := time.Unix(1700000000, 0).UTC()
	s := NewState()
	setup := []Command{
		&CreateTenant{Tenant: Tenant{ID: "t1", Name: "one", Quota: Quota{MaxSessions: 3}, Meta: Meta{CreatedAt: now}}},
		&CreateApp{App: App{ID: "app1", TenantID: "t1", Name: "a", GPUs: 1, GPUMemoryMB: 600, EgressMbps: 10, Meta: Meta{CreatedAt: now}}},
		&UpsertNode{Node: Node{ID: "e1", Role: RoleEdge, NICMbps: 100, GPUs: []GPU{{Index: 0, Model: "H100", MemoryMB: 1000}}, Meta: Meta{CreatedAt: now}}},
	}
	for i, c := range setup {
		if _, err := applyAt(t, s, uint64(i+1), c); err != nil {
			t.Fatalf("setup %T: %v", c, err)
		}
	}
	res := Reservation{NodeID: "e1", EgressMbps: 10, GPUs: []GPUSlice{{Index: 0, MemoryMB: 600}}}
	mk := func(id string) *CreatePlacedSession {
		return &CreatePlacedSession{
			Session:     Session{ID: id, TenantID: "t1", AppID: "app1", GPUs: 1, GPUMemoryMB: 600, EgressMbps: 10, Meta: Meta{CreatedAt: now}},
			Reservation: res,
		}
	}

	// Round trip of the wire form.
	c := mk("ses1")
	back, err := DecodeCommand(EncodeCommand(c))
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(back, Command(c)) {
		t.Fatalf("round trip: got %+v, want %+v", back, c)
	}

	// Fits: created and placed in one entry.
	v, err := applyAt(t, s, 10, c)
	if err != nil {
		t.Fatal(err)
	}
	ses := v.(*Session)
	if ses.State != StatePlaced || ses.Reservation == nil || ses.Reservation.NodeID != "e1" || ses.Placements != 1 || ses.CreateIndex != 10 {
		t.Fatalf("placed session = %+v", ses)
	}
	if u := s.NodeUsage("e1"); u.GPUMemoryMB[0] != 600 || u.EgressMbps != 10 || u.Sessions != 1 {
		t.Fatalf("node usage = %+v", u)
	}
	if n, _ := s.Node("e1"); n.ResIndex != 10 || s.CapacityIndex() != 10 {
		t.Fatalf("node res index %d, capacity index %d; want 10", n.ResIndex, s.CapacityIndex())
	}
	if s.PendingCount() != 0 {
		t.Fatalf("pending = %d", s.PendingCount())
	}

	// No longer fits (600+600 > 1000 MB): created pending, nothing reserved.
	v, err = applyAt(t, s, 11, mk("ses2"))
	if err != nil {
		t.Fatal(err)
	}
	ses = v.(*Session)
	if ses.State != StatePending || ses.Reservation != nil {
		t.Fatalf("refused session = %+v", ses)
	}
	if u := s.NodeUsage("e1"); u.GPUMemoryMB[0] != 600 || u.Sessions != 1 {
		t.Fatalf("node usage after refusal = %+v", u)
	}
	if s.PendingCount() != 1 || s.TenantUsage("t1").Sessions != 2 {
		t.Fatalf("pending %d, tenant usage %+v", s.PendingCount(), s.TenantUsage("t1"))
	}

	// The per-node index holds only the placed session; a refused create
	// does not count as a change to the node's sessions.
	if got, _ := s.Sessions(SessionFilter{NodeID: "e1"}); len(got) != 1 || got[0].ID != "ses1" {
		t.Fatalf("sessions on e1 = %v", got)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if idx := s.WaitNodeSessions(ctx, "e1", 9); idx != 11 {
		t.Fatalf("wait after 9 = %d, want at once with 11", idx)
	}
	if s.WaitNodeSessions(ctx, "e1", 10); ctx.Err() == nil {
		t.Fatal("wait after 10 returned before its deadline: no change to e1 since")
	}

	// Duplicate IDs and quota are checked as CreateSession does.
	if _, err := applyAt(t, s, 12, mk("ses1")); !errors.Is(err, ErrAlreadyExists) {
		t.Fatalf("duplicate: err = %v", err)
	}
	if _, err := applyAt(t, s, 13, mk("ses3")); err != nil {
		t.Fatal(err)
	}
	if _, err := applyAt(t, s, 14, mk("ses4")); !errors.Is(err, ErrQuotaExceeded) {
		t.Fatalf("over quota: err = %v", err)
	}
}

// TestQuotaSumsDoNotOverflow: sessions whose amounts add up past int64
// are refused as over quota, with or without a limit, and usage never
// wraps negative.
func TestQuotaSumsDoNotOverflow(t *testing.T) {
	const huge = int64(1) << 62
	ctx := context.Background()
	now := time.Unix(1700000000, 0).UTC()
	for _, tc := range []struct {
		name  string
		quota Quota
	}{
		{"unlimited", Quota{}},
		{"max egress", Quota{MaxEgressMbps: 1<<63 - 1}},
		{"max gpus", Quota{MaxGPUs: 1<<63 - 1}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := NewMemory()
			for _, c := range []Command{
				&CreateTenant{Tenant: Tenant{ID: "t1", Name: "one", Quota: tc.quota, Meta: Meta{CreatedAt: now}}},
				&CreateApp{App: App{ID: "app1", TenantID: "t1", Name: "a", Meta: Meta{CreatedAt: now}}},
			} {
				if _, err := m.Apply(ctx, c); err != nil {
					t.Fatalf("setup %T: %v", c, err)
				}
			}
			accepted := 0
			for i := range 5 {
				ses := Session{ID: fmt.Sprintf("ses%d", i), TenantID: "t1", AppID: "app1", GPUs: huge, EgressMbps: huge, Meta: Meta{CreatedAt: now}}
				_, err := m.Apply(ctx, &CreateSession{Session: ses})
				switch {
				case err == nil:
					accepted++
				case !errors.Is(err, ErrQuotaExceeded):
					t.Fatalf("session %d: err = %v, want quota exceeded", i, err)
				}
				if err := m.State().CheckQuota("t1", &ses); err == nil {
					t.Fatalf("after %d sessions the early check admits another", i+1)
				}
				u := m.State().TenantUsage("t1")
				if u.GPUs < 0 || u.EgressMbps < 0 || u.Sessions < 0 {
					t.Fatalf("usage wrapped negative: %+v", u)
				}
			}
			if u := m.State().TenantUsage("t1"); accepted != 1 || u.GPUs != huge || u.EgressMbps != huge || u.Sessions != 1 {
				t.Fatalf("accepted %d sessions, usage %+v; want 1 and one session's worth", accepted, u)
			}
		})
	}
}

// TestFitsRefusesOverflow: a reservation whose egress or GPU memory would
// overflow the node's reserved sum does not fit, though the wrapped sum
// would be below the node's capacity.
func TestFitsRefusesOverflow(t *testing.T) {
	const maxInt, big = int64(1<<63 - 1), int64(1<<62 + 1<<61)
	n := &Node{ID: "e1", State: NodeAlive, NICMbps: maxInt, GPUs: []GPU{{Index: 0, MemoryMB: maxInt}}}
	use := &NodeUsage{EgressMbps: big, GPUMemoryMB: map[int64]int64{0: big}}
	for name, r := range map[string]Reservation{
		"egress": {NodeID: "e1", EgressMbps: big},
		"gpu":    {NodeID: "e1", GPUs: []GPUSlice{{Index: 0, MemoryMB: big}}},
	} {
		if err := fits(n, use, &r); !errors.Is(err, ErrNoCapacity) {
			t.Errorf("%s: err = %v, want no capacity", name, err)
		}
	}
	if err := fits(n, use, &Reservation{NodeID: "e1", EgressMbps: 1 << 60, GPUs: []GPUSlice{{Index: 0, MemoryMB: 1 << 60}}}); err != nil {
		t.Errorf("room left: %v", err)
	}
}
