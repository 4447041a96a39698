package placement

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

// TestFilters checks every filter in isolation: a two-node fleet where the
// closer node "a" (Paris) is broken in one way and the farther node "b"
// (Frankfurt) is fine, so the decision must go to b and the explanation
// must name a's filter.
func TestFilters(t *testing.T) {
	tests := []struct {
		name   string
		breakA func(*Node)
		req    func(*Request)
		want   Filter
	}{
		{"dead", func(n *Node) { n.State = StateDead }, nil, FilterNotAlive},
		{"suspect", func(n *Node) { n.State = StateSuspect }, nil, FilterNotAlive},
		{"left", func(n *Node) { n.State = StateLeft }, nil, FilterNotAlive},
		{"zero state", func(n *Node) { n.State = StateUnknown }, nil, FilterNotAlive},
		{"draining", func(n *Node) { n.Draining = true }, nil, FilterDraining},
		{"region", func(n *Node) { n.Region = "eu-west" }, func(r *Request) { r.Regions = []string{"eu-central", "us-east"} }, FilterRegion},
		{"label missing", nil, func(r *Request) { r.Labels = map[string]string{"tier": "gold"} }, FilterLabels},
		{"label differs", func(n *Node) { n.Labels = map[string]string{"tier": "silver"} }, func(r *Request) { r.Labels = map[string]string{"tier": "gold"} }, FilterLabels},
		{"anti-affinity", nil, func(r *Request) { r.AvoidNodes = []string{"zzz", "a"} }, FilterAntiAffinity},
		{"nic reserved", func(n *Node) { n.ReservedEgressMbps = 9000 }, nil, FilterNICHeadroom},
		{"nic fresh load", func(n *Node) { n.Load = Load{EgressMbps: 9500, Age: 4 * time.Second} }, nil, FilterNICHeadroom},
		{"gpu model", nil, func(r *Request) { r.GPUModel = "A100" }, FilterGPUModel},
		{"gpu model none", func(n *Node) { n.GPUs = nil }, func(r *Request) { r.GPUModel = "L4" }, FilterGPUModel},
		{"gpu count", nil, func(r *Request) { r.GPUs = 3 }, FilterGPUCount},
		{"gpu count no gpus", func(n *Node) { n.GPUs = nil }, nil, FilterGPUCount},
		{"gpu exclusive taken", func(n *Node) { n.GPUs[0].ReservedMB = 1000; n.GPUs[1].ReservedMB = 1000 }, nil, FilterGPUMemory},
		{"gpu shared full", func(n *Node) { n.GPUs[0].ReservedMB = 20000; n.GPUs[1].ReservedMB = 24000 }, func(r *Request) { r.GPUMemoryMB = 8000 }, FilterGPUMemory},
		{"gpu shared two need two", func(n *Node) { n.GPUs[1].ReservedMB = 20000 }, func(r *Request) { r.GPUs = 2; r.GPUMemoryMB = 8000 }, FilterGPUMemory},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, b := node("a", "eu-west", paris.Lat, paris.Lon), node("b", "eu-central", frankfurt.Lat, frankfurt.Lon)
			b.Labels = map[string]string{"tier": "gold"}
			b.GPUs = gpuN(4, "L4", 24000)
			if tt.want == FilterGPUModel {
				b.GPUs = gpuN(2, "A100", 80000)
				if tt.name == "gpu model none" {
					b.GPUs = gpuN(2, "L4", 24000)
				}
			}
			if tt.breakA != nil {
				tt.breakA(&a)
			}
			s := &Snapshot{Nodes: []Node{a, b}}
			req := Request{Tenant: "t", GPUs: 1, EgressMbps: 2000, Requester: at(paris), Explain: true}
			if tt.req != nil {
				tt.req(&req)
			}
			d, err := Place(s, req)
			if err != nil {
				t.Fatalf("Place: %v", err)
			}
			if d.NodeID != "b" {
				t.Fatalf("chose %s, want b", d.NodeID)
			}
			ex := d.Explanation
			if ex.Rejected[tt.want] != 1 || len(ex.Rejections) != 1 || ex.Rejections[0] != (Rejection{"a", tt.want}) {
				t.Fatalf("explanation %+v, want a rejected by %s", ex, tt.want)
			}
			if ex.Considered != 2 || ex.Feasible != 1 {
				t.Fatalf("considered %d feasible %d", ex.Considered, ex.Feasible)
			}
		})
	}
}

// TestFilterBoundaries pins the inclusive edges of the capacity filters.
func TestFilterBoundaries(t *testing.T) {
	tests := []struct {
		name string
		mod  func(*Node)
		req  func(*Request)
		ok   bool
	}{
		{"egress exactly fits", func(n *Node) { n.ReservedEgressMbps = 8000 }, nil, true},
		{"egress one over", func(n *Node) { n.ReservedEgressMbps = 8001 }, nil, false},
		{"stale load ignored", func(n *Node) { n.Load = Load{EgressMbps: 10000, Age: LoadFreshness} }, nil, true},
		{"fresh load below reservation", func(n *Node) { n.ReservedEgressMbps = 8000; n.Load = Load{EgressMbps: 100} }, nil, true},
		{"shared exactly fits", func(n *Node) { n.GPUs[0].ReservedMB = 16000; n.GPUs[1].ReservedMB = 24000 }, func(r *Request) { r.GPUMemoryMB = 8000 }, true},
		{"memory equal to GPU is exclusive", func(n *Node) { n.GPUs[0].ReservedMB = 1; n.GPUs[1].ReservedMB = 1 }, func(r *Request) { r.GPUMemoryMB = 24000 }, false},
		{"memory above GPU", nil, func(r *Request) { r.GPUMemoryMB = 24001 }, false},
		{"overbooked GPU counts as full", func(n *Node) { n.GPUs[0].ReservedMB = 99999; n.GPUs[1].ReservedMB = 99999 }, func(r *Request) { r.GPUMemoryMB = 1 }, false},
		{"no GPU asked", func(n *Node) { n.GPUs = nil }, func(r *Request) { r.GPUs = 0 }, true},
		{"unknown region constraint", nil, func(r *Request) { r.Regions = []string{"mars"} }, false},
		{"unknown label", nil, func(r *Request) { r.Labels = map[string]string{"gpu": "yes"} }, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := node("a", "eu-west", paris.Lat, paris.Lon)
			if tt.mod != nil {
				tt.mod(&n)
			}
			req := Request{Tenant: "t", GPUs: 1, EgressMbps: 2000, Requester: at(paris)}
			if tt.req != nil {
				tt.req(&req)
			}
			_, err := Place(&Snapshot{Nodes: []Node{n}}, req)
			if (err == nil) != tt.ok {
				t.Fatalf("err = %v, want ok=%t", err, tt.ok)
			}
			if err != nil && !errors.Is(err, ErrNoCapacity) {
				t.Fatalf("err = %v, want ErrNoCapacity", err)
			}
		})
	}
}

func TestQuota(t *testing.T) {
	tests := []struct {
		name  string
		quota Quota
		usage Usage
		ok    bool
	}{
		{"unlimited", Quota{}, Usage{Sessions: 1000, GPUs: 1000, EgressMbps: 1e9}, true},
		{"sessions left", Quota{MaxSessions: 2}, Usage{Sessions: 1}, true},
		{"sessions full", Quota{MaxSessions: 2}, Usage{Sessions: 2}, false},
		{"gpus full", Quota{MaxGPUs: 4}, Usage{GPUs: 4}, false},
		{"egress exact", Quota{MaxEgressMbps: 5000}, Usage{EgressMbps: 3000}, true},
		{"egress over", Quota{MaxEgressMbps: 5000}, Usage{EgressMbps: 3001}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := &Snapshot{
				Nodes:   []Node{node("a", "eu-west", paris.Lat, paris.Lon)},
				Tenants: map[string]Tenant{"t": {Quota: tt.quota, Usage: tt.usage}},
			}
			d, err := Place(s, Request{Tenant: "t", GPUs: 1, EgressMbps: 2000, Requester: at(paris), Explain: true})
			if tt.ok != (err == nil) {
				t.Fatalf("err = %v, want ok=%t", err, tt.ok)
			}
			if !tt.ok && (!errors.Is(err, ErrQuotaExceeded) || d.Explanation.Rejected[FilterQuota] != 1 || len(d.Explanation.Rejections) != 1) {
				t.Fatalf("err = %v, explanation %+v", err, d.Explanation)
			}
		})
	}
}

func TestInvalidRequests(t *testing.T) {
	tests := []struct {
		name string
		req  Request
	}{
		{"no tenant", Request{GPUs: 1}},
		{"negative gpus", Request{Tenant: "t", GPUs: -1}},
		{"negative memory", Request{Tenant: "t", GPUs: 1, GPUMemoryMB: -1}},
		{"memory without gpus", Request{Tenant: "t", GPUMemoryMB: 100}},
		{"negative egress", Request{Tenant: "t", EgressMbps: -1}},
		{"bad policy", Request{Tenant: "t", Policy: 7}},
		{"bad latitude", Request{Tenant: "t", Requester: Requester{Location: Location{Lat: 91, Known: true}}}},
	}
	s := &Snapshot{Nodes: []Node{node("a", "eu-west", paris.Lat, paris.Lon)}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := Place(s, tt.req); !errors.Is(err, ErrInvalidRequest) {
				t.Fatalf("err = %v, want ErrInvalidRequest", err)
			}
		})
	}
}

func TestInvalidSnapshots(t *testing.T) {
	dupGPU := node("a", "r", 0, 0)
	dupGPU.GPUs[1].Index = 0
	tests := []struct {
		name  string
		nodes []Node
	}{
		{"empty id", []Node{node("", "r", 0, 0)}},
		{"duplicate id", []Node{node("a", "r", 0, 0), node("a", "r", 1, 1)}},
		{"duplicate gpu index", []Node{dupGPU}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Place(&Snapshot{Nodes: tt.nodes}, Request{Tenant: "t"})
			if !errors.Is(err, ErrInvalidSnapshot) {
				t.Fatalf("err = %v, want ErrInvalidSnapshot", err)
			}
		})
	}
	if _, err := Place(nil, Request{Tenant: "t"}); !errors.Is(err, ErrInvalidSnapshot) {
		t.Fatalf("nil snapshot: err = %v", err)
	}
}

func TestNoCapacityExplains(t *testing.T) {
	a := node("a", "eu-west", paris.Lat, paris.Lon)
	a.Draining = true
	b := node("b", "eu-west", paris.Lat, paris.Lon)
	b.GPUs = nil
	d, err := Place(&Snapshot{Nodes: []Node{a, b}}, Request{Tenant: "t", GPUs: 1})
	var nce *NoCapacityError
	if !errors.As(err, &nce) || !errors.Is(err, ErrNoCapacity) {
		t.Fatalf("err = %v, want *NoCapacityError", err)
	}
	if nce.Explanation.Rejected[FilterDraining] != 1 || nce.Explanation.Rejected[FilterGPUCount] != 1 || d.Explanation.Feasible != 0 {
		t.Fatalf("explanation %+v", nce.Explanation)
	}
	if want := "considered 2, feasible 0, draining 1, gpu_count 1"; nce.Explanation.Summary() != want {
		t.Fatalf("summary %q, want %q", nce.Explanation.Summary(), want)
	}
	if m := d.Explanation.RejectedByName(); m["draining"] != 1 || m["gpu_count"] != 1 || len(m) != 2 {
		t.Fatalf("by name %v", m)
	}
	js, err := json.Marshal(d.Explanation)
	if err != nil {
		t.Fatal(err)
	}
	if want := `"rejected":{"draining":1,"gpu_count":1}`; !strings.Contains(string(js), want) {
		t.Fatalf("JSON %s lacks %s", js, want)
	}
}

// TestRuntimeFilter: a node that does not offer the session's runtime
// driver is rejected under the "runtime" filter, and the one that does
// wins even though it is farther.
func TestRuntimeFilter(t *testing.T) {
	near := node("near", "eu-west", paris.Lat, paris.Lon)
	near.Runtimes = []string{"process"}
	far := node("far", "eu-west", paris.Lat+5, paris.Lon)
	far.Runtimes = []string{"process", "docker"}
	bare := node("bare", "eu-west", paris.Lat, paris.Lon+0.1) // offers none
	snap := &Snapshot{Nodes: []Node{near, far, bare}}
	d, err := Place(snap, Request{Tenant: "t", GPUs: 1, EgressMbps: 10, Requester: at(paris), Runtime: "docker", Explain: true})
	if err != nil || d.NodeID != "far" {
		t.Fatalf("docker: node %q, err %v; want far", d.NodeID, err)
	}
	if got := d.Explanation.RejectedByName()["runtime"]; got != 2 {
		t.Fatalf("runtime rejections = %d, want 2 (%s)", got, d.Explanation.Summary())
	}
	if d, err := Place(snap, Request{Tenant: "t", GPUs: 1, EgressMbps: 10, Requester: at(paris), Runtime: "process"}); err != nil || d.NodeID != "near" {
		t.Fatalf("process: node %q, err %v; want near", d.NodeID, err)
	}
	d, err = Place(snap, Request{Tenant: "t", GPUs: 1, EgressMbps: 10, Requester: at(paris), Runtime: "kubernetes", Explain: true})
	if !errors.Is(err, ErrNoCapacity) || d.Explanation.Rejected[FilterRuntime] != 3 {
		t.Fatalf("kubernetes: err %v, %s; want all 3 rejected by runtime", err, d.Explanation.Summary())
	}
	if FilterRuntime.String() != "runtime" {
		t.Fatalf("name %q", FilterRuntime)
	}
}
