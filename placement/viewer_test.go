package placement

import (
	"errors"
	"math/rand/v2"
	"testing"
)

func TestRouteViewer(t *testing.T) {
	london := Location{Lat: 51.5, Lon: -0.12, Known: true}
	fleet := func() []Node {
		ing := node("ingest", "eu-central", frankfurt.Lat, frankfurt.Lon)
		ing.Relaying = []string{"s1"}
		p := node("paris", "eu-west", paris.Lat, paris.Lon)
		relay := node("relay-fra", "eu-central", frankfurt.Lat+0.1, frankfurt.Lon)
		relay.Relaying = []string{"s1", "s2"}
		us := node("us", "us-east", virginia.Lat, virginia.Lon)
		return []Node{us, relay, p, ing}
	}
	tests := []struct {
		name         string
		mod          func([]Node)
		req          ViewerRequest
		want         string
		wantUpstream string
		wantRelaying bool
	}{
		{"relay bonus outweighs a few ms", nil, ViewerRequest{SessionID: "s1", IngestNodeID: "ingest", BitrateMbps: 8, Viewer: at(london)}, "ingest", "", true},
		{"closest edge when nobody relays nearby", func(ns []Node) { ns[3].Draining = true }, ViewerRequest{SessionID: "s9", IngestNodeID: "ingest", BitrateMbps: 8, Viewer: at(london)}, "paris", "ingest", false},
		{"relaying edge preferred when close enough", nil, ViewerRequest{SessionID: "s1", IngestNodeID: "ingest", BitrateMbps: 8, Viewer: at(paris)}, "ingest", "", true},
		{"relay bonus does not cross an ocean", nil, ViewerRequest{SessionID: "s1", IngestNodeID: "ingest", BitrateMbps: 8, Viewer: at(virginia)}, "us", "ingest", false},
		{"other relayer", func(ns []Node) { ns[3].ReservedEgressMbps = ns[3].NICMbps }, ViewerRequest{SessionID: "s2", IngestNodeID: "ingest", BitrateMbps: 8, Viewer: at(paris)}, "relay-fra", "ingest", true},
		{"draining and full skipped", func(ns []Node) { ns[2].Draining = true; ns[3].State = StateSuspect }, ViewerRequest{SessionID: "s9", IngestNodeID: "ingest", BitrateMbps: 8, Viewer: at(paris)}, "relay-fra", "ingest", false},
		{"region constraint", nil, ViewerRequest{SessionID: "s9", IngestNodeID: "ingest", BitrateMbps: 8, Viewer: at(paris), Regions: []string{"us-east"}}, "us", "ingest", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ns := fleet()
			if tt.mod != nil {
				tt.mod(ns)
			}
			d, err := RouteViewer(&Snapshot{Nodes: ns}, tt.req)
			if err != nil {
				t.Fatal(err)
			}
			if d.EdgeID != tt.want || d.UpstreamID != tt.wantUpstream || d.Relaying != tt.wantRelaying {
				t.Fatalf("got %+v, want %s upstream %q relaying %t", d, tt.want, tt.wantUpstream, tt.wantRelaying)
			}
		})
	}
}

func TestRouteViewerErrors(t *testing.T) {
	n := node("a", "eu-west", paris.Lat, paris.Lon)
	n.ReservedEgressMbps = n.NICMbps
	s := &Snapshot{Nodes: []Node{n}}
	if _, err := RouteViewer(s, ViewerRequest{IngestNodeID: "nope", BitrateMbps: 1}); !errors.Is(err, ErrUnknownNode) {
		t.Fatalf("unknown ingest: %v", err)
	}
	if _, err := RouteViewer(s, ViewerRequest{BitrateMbps: 1}); !errors.Is(err, ErrInvalidRequest) {
		t.Fatalf("no ingest: %v", err)
	}
	_, err := RouteViewer(s, ViewerRequest{IngestNodeID: "a", BitrateMbps: 1})
	var nce *NoCapacityError
	if !errors.As(err, &nce) || nce.Explanation.Rejected[FilterNICHeadroom] != 1 {
		t.Fatalf("full fleet: %v", err)
	}
}

// TestPropertyRouteViewer checks the chosen edge against a reference: it is
// feasible, and no feasible edge has a lower bonus-adjusted bucket; the
// result does not depend on node order.
func TestPropertyRouteViewer(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	for range 300 {
		s := genSnapshot(r, 1+r.IntN(60))
		g := genRequest(r, s)
		req := ViewerRequest{
			SessionID:    "s" + string(rune('0'+r.IntN(5))),
			IngestNodeID: s.Nodes[r.IntN(len(s.Nodes))].ID,
			BitrateMbps:  int64(r.IntN(3000)),
			Viewer:       g.Requester,
		}
		d, err := RouteViewer(s, req)
		best, feasible := 1<<30, 0
		for i := range s.Nodes {
			n := &s.Nodes[i]
			if refFilter(s, n, Request{EgressMbps: req.BitrateMbps}) != filterPass {
				continue
			}
			feasible++
			b := engineBucket(n, req.Viewer)
			for _, sid := range n.Relaying {
				if sid == req.SessionID {
					b -= relayBonusBuckets
					break
				}
			}
			if n.ID == req.IngestNodeID && !containsStr(n.Relaying, req.SessionID) {
				b -= relayBonusBuckets
			}
			best = min(best, b)
		}
		if feasible == 0 {
			if !errors.Is(err, ErrNoCapacity) {
				t.Fatalf("no feasible edge, err = %v", err)
			}
			continue
		}
		if err != nil {
			t.Fatal(err)
		}
		if d.Score.RTTBucket != best || d.Explanation.Feasible != feasible {
			t.Fatalf("bucket %d feasible %d, reference %d / %d", d.Score.RTTBucket, d.Explanation.Feasible, best, feasible)
		}
		sh := s.Clone()
		r.Shuffle(len(sh.Nodes), func(i, j int) { sh.Nodes[i], sh.Nodes[j] = sh.Nodes[j], sh.Nodes[i] })
		if d2, _ := RouteViewer(sh, req); d2.EdgeID != d.EdgeID || d2.UpstreamID != d.UpstreamID {
			t.Fatalf("order changed result: %s vs %s", d.EdgeID, d2.EdgeID)
		}
	}
}

func containsStr(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}
