package autoscale

import (
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"
)

var t0 = time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)

func pool() Pool {
	return Pool{Region: "eu", Min: 1, Max: 10, SlotsPerNode: 4, ScaleDownWindow: 5 * time.Minute, LeadTime: 90 * time.Second, DrainDeadline: 10 * time.Minute}
}

// nodes makes n nodes of 4 slots with the given sessions each.
func nodes(sessions ...int) []Node {
	out := make([]Node, len(sessions))
	for i, s := range sessions {
		out[i] = Node{ID: fmt.Sprintf("e%d", i+1), Slots: 4, Sessions: s, JoinedAt: t0.Add(-time.Hour)}
	}
	return out
}

func known(n int) Memory {
	m := Memory{}
	for i := range n {
		m.Known = append(m.Known, fmt.Sprintf("e%d", i+1))
	}
	return m
}

func TestDecide(t *testing.T) {
	drained := func(ns []Node, ids ...string) []Node {
		for i := range ns {
			for _, id := range ids {
				if ns[i].ID == id {
					ns[i].Draining = true
				}
			}
		}
		return ns
	}
	over := func(m Memory, since time.Duration) Memory { m.OverSince = t0.Add(-since); return m }
	withDrains := func(m Memory, ago time.Duration, ids ...string) Memory {
		m.DrainStarted = map[string]time.Time{}
		for _, id := range ids {
			m.DrainStarted[id] = t0.Add(-ago)
		}
		return m
	}
	tests := []struct {
		name    string
		pool    func(p Pool) Pool
		nodes   []Node
		demand  Demand
		lost    bool
		mem     Memory
		want    Plan // only Current, Desired, Add, Drain, Undrain, Remove compared
		because string
	}{
		{name: "steady", nodes: nodes(2, 2), mem: known(2),
			want: Plan{Current: 2, Desired: 1}, because: "stabilisation window of"},
		{name: "pending sessions scale up with buffer", pool: func(p Pool) Pool { p.Buffer = 2; return p },
			nodes: nodes(4, 4), demand: Demand{Pending: 5}, mem: known(2),
			want: Plan{Current: 2, Desired: 4, Add: 2}, because: "scale up 2→4"},
		{name: "percent buffer", pool: func(p Pool) Pool { p.BufferPercent = 50; return p },
			nodes: nodes(4, 4), mem: known(2),
			want: Plan{Current: 2, Desired: 3, Add: 1}, because: "buffer 4"},
		{name: "exhaustion within lead time scales up", nodes: nodes(3, 3), demand: Demand{GrowthPerSecond: 0.05}, mem: known(2),
			// 2 free slots, 0.05/s: exhaustion in 40 s < 90 s lead; 5 more within the lead time.
			want: Plan{Current: 2, Desired: 3, Add: 1}, because: "exhaustion in 40s (lead 1m30s)"},
		{name: "growth ignored when metrics are lost", nodes: nodes(3, 3), demand: Demand{GrowthPerSecond: 0.05}, lost: true, mem: known(2),
			want: Plan{Current: 2, Desired: 2}, because: "steady"},
		{name: "max holds", pool: func(p Pool) Pool { p.Max = 3; return p }, nodes: nodes(4, 4), demand: Demand{Pending: 40}, mem: known(2),
			want: Plan{Current: 2, Desired: 3, Add: 1}},
		{name: "min holds with no nodes and no metrics", pool: func(p Pool) Pool { p.Min = 2; return p }, lost: true,
			want: Plan{Current: 0, Desired: 2, Add: 2}, because: "registry only"},
		{name: "lost metrics scale up from registry pending", nodes: nodes(4), demand: Demand{Pending: 3}, lost: true, mem: known(1),
			want: Plan{Current: 1, Desired: 2, Add: 1}},
		{name: "in-flight request counts toward current", nodes: nodes(4), demand: Demand{Pending: 3},
			mem:  Memory{Known: []string{"e1"}, Requests: []Request{{DecisionID: "d1", At: t0.Add(-30 * time.Second), Count: 1}}},
			want: Plan{Current: 2, Desired: 2}, because: "steady"},
		{name: "expired request no longer counts", nodes: nodes(4), demand: Demand{Pending: 3},
			mem:  Memory{Known: []string{"e1"}, Requests: []Request{{DecisionID: "d1", At: t0.Add(-10 * time.Minute), Count: 1}}},
			want: Plan{Current: 1, Desired: 2, Add: 1}},
		{name: "no scale-in inside the window", nodes: nodes(1, 0, 0), mem: over(known(3), 4*time.Minute),
			want: Plan{Current: 3, Desired: 1}, because: "stabilisation window, 1m0s left"},
		{name: "scale-in after the window drains the emptiest", nodes: nodes(1, 0, 0, 3), mem: over(known(4), 5*time.Minute),
			want: Plan{Current: 4, Desired: 1, Drain: []string{"e2", "e3", "e1"}}, because: "scale in 4→1"},
		{name: "viewers break session ties", nodes: func() []Node { n := nodes(0, 0, 2); n[0].Viewers = 5; return n }(), mem: over(known(3), time.Hour),
			want: Plan{Current: 3, Desired: 1, Drain: []string{"e2", "e1"}}},
		{name: "no scale-in when metrics are lost", nodes: nodes(0, 0, 0), lost: true, mem: over(known(3), time.Hour),
			want: Plan{Current: 3, Desired: 1}, because: "metrics unavailable, no scale-in"},
		{name: "no scale-in below min", pool: func(p Pool) Pool { p.Min = 3; return p }, nodes: nodes(0, 0, 0), mem: over(known(3), time.Hour),
			want: Plan{Current: 3, Desired: 3}},
		{name: "empty drained node is removed", nodes: drained(nodes(1, 0), "e2"), mem: withDrains(known(2), time.Minute, "e2"),
			want: Plan{Current: 1, Desired: 1, Remove: []string{"e2"}}, because: "removing drained [e2]"},
		{name: "drained node with a session waits", nodes: drained(nodes(1, 1), "e2"), mem: withDrains(known(2), time.Minute, "e2"),
			want: Plan{Current: 1, Desired: 1}},
		{name: "drained node with viewers waits", nodes: func() []Node { n := drained(nodes(1, 0), "e2"); n[1].Viewers = 1; return n }(), mem: withDrains(known(2), time.Minute, "e2"),
			want: Plan{Current: 1, Desired: 1}},
		{name: "drain deadline removes anyway", nodes: drained(nodes(1, 1), "e2"), mem: withDrains(known(2), 10*time.Minute, "e2"),
			want: Plan{Current: 1, Desired: 1, Remove: []string{"e2"}}},
		{name: "no removal while metrics are lost", nodes: drained(nodes(1, 0), "e2"), lost: true, mem: withDrains(known(2), time.Hour, "e2"),
			want: Plan{Current: 1, Desired: 1}},
		{name: "operator's drain is not ours to remove", nodes: drained(nodes(1, 0), "e2"), mem: known(2),
			want: Plan{Current: 1, Desired: 1}},
		{name: "demand back cancels the fullest drain first", nodes: drained(nodes(4, 1, 0), "e2", "e3"), demand: Demand{Pending: 2},
			mem:  withDrains(known(3), time.Minute, "e2", "e3"),
			want: Plan{Current: 1, Desired: 2, Undrain: []string{"e2"}, Remove: []string{"e3"}}, because: "1 drain(s) cancelled"},
		{name: "demand beyond drained nodes adds the rest", nodes: drained(nodes(4, 0), "e2"), demand: Demand{Pending: 8},
			mem:  withDrains(known(2), time.Minute, "e2"),
			want: Plan{Current: 1, Desired: 3, Add: 1, Undrain: []string{"e2"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := pool()
			if tc.pool != nil {
				p = tc.pool(p)
			}
			in := Input{Pool: p, Nodes: tc.nodes, Demand: tc.demand, MetricsOK: !tc.lost}
			got, _ := Decide(t0, in, tc.mem, "d-now")
			cmp := Plan{Current: got.Current, Desired: got.Desired, Add: got.Add, Drain: got.Drain, Undrain: got.Undrain, Remove: got.Remove}
			if !reflect.DeepEqual(cmp, tc.want) {
				t.Fatalf("plan %+v, want %+v (reason %q)", cmp, tc.want, got.Reason)
			}
			if !strings.Contains(got.Reason, tc.because) {
				t.Fatalf("reason %q does not say %q", got.Reason, tc.because)
			}
		})
	}
}

// TestScaleDownWindowResetsOnDemand runs rounds: an over-provisioned pool
// starts the window, a blip of demand resets it, and only a full window
// later does it drain.
func TestScaleDownWindowResetsOnDemand(t *testing.T) {
	p := pool()
	mem := known(3)
	round := func(at time.Duration, ns []Node, d Demand) Plan {
		t.Helper()
		var pl Plan
		pl, mem = Decide(t0.Add(at), Input{Pool: p, Nodes: ns, Demand: d, MetricsOK: true}, mem, fmt.Sprintf("d%d", at))
		return pl
	}
	if pl := round(0, nodes(1, 0, 0), Demand{}); pl.Acts() {
		t.Fatalf("acted at once: %+v", pl)
	}
	if pl := round(4*time.Minute, nodes(4, 4, 3), Demand{}); pl.Acts() || !mem.OverSince.IsZero() {
		t.Fatalf("demand did not reset the window: %+v %+v", pl, mem)
	}
	if pl := round(5*time.Minute, nodes(1, 0, 0), Demand{}); pl.Acts() {
		t.Fatalf("drained inside a fresh window: %+v", pl)
	}
	if pl := round(9*time.Minute, nodes(1, 0, 0), Demand{}); pl.Acts() {
		t.Fatalf("drained before the window ended: %+v", pl)
	}
	pl := round(10*time.Minute, nodes(1, 0, 0), Demand{})
	if !reflect.DeepEqual(pl.Drain, []string{"e2", "e3"}) {
		t.Fatalf("drain %v, want [e2 e3]", pl.Drain)
	}
	if len(mem.DrainStarted) != 2 {
		t.Fatalf("drains not remembered: %+v", mem)
	}
}

// TestLeadTimeMeasured checks that a scale-up's request-to-join time
// replaces the configured lead time, and that a filled request no longer
// counts as in flight.
func TestLeadTimeMeasured(t *testing.T) {
	p := pool()
	mem := known(1)
	pl, mem := Decide(t0, Input{Pool: p, Nodes: nodes(4), Demand: Demand{Pending: 4}, MetricsOK: true}, mem, "d1")
	if pl.Add != 1 || len(mem.Requests) != 1 || mem.Requests[0].DecisionID != "d1" {
		t.Fatalf("plan %+v memory %+v", pl, mem)
	}
	// Asked again while in flight: nothing added twice.
	pl, mem = Decide(t0.Add(10*time.Second), Input{Pool: p, Nodes: nodes(4), Demand: Demand{Pending: 4}, MetricsOK: true}, mem, "d2")
	if pl.Add != 0 {
		t.Fatalf("added twice: %+v", pl)
	}
	ns := nodes(4, 0)
	ns[1].JoinedAt = t0.Add(40 * time.Second)
	pl, mem = Decide(t0.Add(41*time.Second), Input{Pool: p, Nodes: ns, Demand: Demand{Pending: 4}, MetricsOK: true}, mem, "d3")
	if pl.Add != 0 || len(mem.Requests) != 0 {
		t.Fatalf("plan %+v memory %+v", pl, mem)
	}
	if mem.LeadTime != 40*time.Second {
		t.Fatalf("lead time %s, want 40s", mem.LeadTime)
	}
	pl, _ = Decide(t0.Add(42*time.Second), Input{Pool: p, Nodes: ns, MetricsOK: true}, mem, "d4")
	if pl.LeadTime != 40*time.Second {
		t.Fatalf("plan used lead %s", pl.LeadTime)
	}
}

// TestRemovedNodeNotRemovedTwice checks that a node handed to the provider
// is not asked for again while it lingers, and is forgotten once gone.
func TestRemovedNodeNotRemovedTwice(t *testing.T) {
	p := pool()
	ns := nodes(1, 0)
	ns[1].Draining = true
	mem := known(2)
	mem.DrainStarted = map[string]time.Time{"e2": t0.Add(-time.Minute)}
	pl, mem := Decide(t0, Input{Pool: p, Nodes: ns, MetricsOK: true}, mem, "d1")
	if !reflect.DeepEqual(pl.Remove, []string{"e2"}) {
		t.Fatalf("remove %v", pl.Remove)
	}
	pl, mem = Decide(t0.Add(time.Second), Input{Pool: p, Nodes: ns, MetricsOK: true}, mem, "d2")
	if len(pl.Remove) != 0 || pl.Current != 1 {
		t.Fatalf("removed twice: %+v", pl)
	}
	_, mem = Decide(t0.Add(2*time.Second), Input{Pool: p, Nodes: ns[:1], MetricsOK: true}, mem, "d3")
	if len(mem.Removing) != 0 || len(mem.DrainStarted) != 0 {
		t.Fatalf("gone node remembered: %+v", mem)
	}
}

func TestDryRunRemembersNoAction(t *testing.T) {
	p := pool()
	mem := over(known(3))
	pl, next := Decide(t0, Input{Pool: p, Nodes: nodes(0, 0, 1), MetricsOK: true, DryRun: true}, mem, "d1")
	if !pl.DryRun || len(pl.Drain) != 2 {
		t.Fatalf("dry run plan %+v", pl)
	}
	if len(next.DrainStarted) != 0 {
		t.Fatalf("dry run remembered drains: %+v", next)
	}
	pl, next = Decide(t0, Input{Pool: p, Nodes: nodes(4), Demand: Demand{Pending: 4}, MetricsOK: true, DryRun: true}, known(1), "d2")
	if pl.Add != 1 || len(next.Requests) != 0 {
		t.Fatalf("dry run plan %+v memory %+v", pl, next)
	}
}

func over(m Memory) Memory { m.OverSince = t0.Add(-time.Hour); return m }

func TestDecideDoesNotMutate(t *testing.T) {
	ns := nodes(0, 3, 0)
	mem := over(known(3))
	mem.Requests = []Request{{DecisionID: "x", At: t0.Add(-time.Hour), Count: 1}}
	before := fmt.Sprintf("%+v %+v", ns, mem)
	Decide(t0, Input{Pool: pool(), Nodes: ns, MetricsOK: true}, mem, "d")
	if after := fmt.Sprintf("%+v %+v", ns, mem); after != before {
		t.Fatalf("arguments changed:\n%s\n%s", before, after)
	}
}

func TestPoolValidate(t *testing.T) {
	for _, p := range []Pool{
		{},
		{Region: "eu", Min: 3, Max: 2},
		{Region: "eu", Max: 1, Buffer: -1},
		{Region: "eu", Max: 1, BufferPercent: 101},
		{Region: "eu", Max: 1, LeadTime: -time.Second},
	} {
		if err := p.Validate(); !errors.Is(err, ErrInvalidPool) {
			t.Errorf("%+v: %v", p, err)
		}
	}
	if err := (Pool{Region: "eu", Class: "L4", Max: 2}).Validate(); err != nil {
		t.Fatal(err)
	}
	if n := (Pool{Region: "eu", Class: "L4"}).Name(); n != "eu/L4" {
		t.Fatal(n)
	}
}
