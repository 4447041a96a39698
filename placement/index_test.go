package placement

import (
	"errors"
	"math"
	"math/rand/v2"
	"reflect"
	"testing"
)

// scatter moves every located node of s, and returns a requester location
// generator, according to geography g: 0 keeps genSnapshot's six regions,
// 1 spreads nodes uniformly over the sphere, 2 crowds them around a pole
// and the antimeridian where the latitude/longitude grid degenerates.
func scatter(r *rand.Rand, s *Snapshot, g int) func() Location {
	uniform := func() Location {
		return Location{Lat: math.Asin(2*r.Float64()-1) * 180 / math.Pi, Lon: r.Float64()*360 - 180, Known: true}
	}
	edge := func() Location {
		lat := 80 + r.Float64()*10
		if r.IntN(2) == 0 {
			lat = -lat
		}
		lon := 175 + r.Float64()*5
		if r.IntN(2) == 0 {
			lon = -lon
		}
		if r.IntN(4) == 0 {
			lat, lon = 90, 0
		}
		return Location{Lat: lat, Lon: lon, Known: true}
	}
	gen := map[int]func() Location{1: uniform, 2: edge}[g]
	if gen == nil {
		return nil
	}
	for i := range s.Nodes {
		if s.Nodes[i].Location.Known {
			s.Nodes[i].Location = gen()
		}
	}
	return gen
}

// sameDecision fails unless the indexed decision equals the full scan's in
// everything but the counts of nodes the index never examined.
func sameDecision(t *testing.T, n int, full, idx Decision, errFull, errIdx error) {
	t.Helper()
	if (errFull == nil) != (errIdx == nil) || errFull != nil && errFull.Error() != errIdx.Error() {
		t.Fatalf("errors differ: full %v, indexed %v", errFull, errIdx)
	}
	fe, ie := full.Explanation, idx.Explanation
	if ie.Considered+ie.Skipped != n || fe.Considered != n || fe.Skipped != 0 {
		t.Fatalf("considered %d + skipped %d, full considered %d skipped %d, of %d nodes", ie.Considered, ie.Skipped, fe.Considered, fe.Skipped, n)
	}
	if ie.Skipped == 0 && (ie.Rejected != fe.Rejected || ie.Feasible != fe.Feasible) {
		t.Fatalf("nothing skipped but counts differ: %v/%d vs %v/%d", ie.Rejected, ie.Feasible, fe.Rejected, fe.Feasible)
	}
	if ie.Skipped > 0 && errIdx != nil {
		t.Fatalf("skipped %d nodes without placing: %v", ie.Skipped, errIdx)
	}
	for f := range fe.Rejected {
		if ie.Rejected[f] > fe.Rejected[f] {
			t.Fatalf("indexed rejected more by %s: %d > %d", Filter(f), ie.Rejected[f], fe.Rejected[f])
		}
	}
	ie.Considered, ie.Skipped, ie.Rejected, ie.Feasible = fe.Considered, fe.Skipped, fe.Rejected, fe.Feasible
	idx.Explanation = ie
	if !reflect.DeepEqual(full, idx) {
		t.Fatalf("decisions differ:\nfull    %+v\nindexed %+v", full, idx)
	}
}

// TestPropertyIndexMatchesFullScan is what makes the geo index safe: over
// random snapshots (regional, uniform, polar/antimeridian), random
// requests of every kind and both policies, and fleets changing through
// Apply, the indexed scan returns exactly the full scan's decision.
func TestPropertyIndexMatchesFullScan(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	skipped, decisions := 0, 0
	for c := range 150 {
		s := genSnapshot(r, 1+r.IntN(400))
		for k := range s.Nodes {
			s.Nodes[k].ReservedEgressMbps = min(s.Nodes[k].ReservedEgressMbps, s.Nodes[k].NICMbps)
		}
		loc := scatter(r, s, c%3)
		for step := range 40 {
			req := genRequest(r, s)
			if loc != nil && req.Requester.Location.Known {
				req.Requester.Location = loc()
			}
			full, errFull := place(s, req, scanFull)
			idx, errIdx := place(s, req, scanIndexed)
			sameDecision(t, len(s.Nodes), full, idx, errFull, errIdx)
			checkDecision(t, s, req, idx, errIdx)
			decisions++
			skipped += idx.Explanation.Skipped
			if errIdx == nil && step%2 == 0 {
				if err := s.Apply(idx); err != nil && !errors.Is(err, ErrQuotaExceeded) {
					t.Fatalf("case %d step %d: apply: %v", c, step, err)
				}
			}
		}
	}
	if skipped == 0 {
		t.Fatalf("the index pruned nothing in %d decisions: the property is vacuous", decisions)
	}
}

// TestIndexSkipsFarCells checks the index does prune on a clustered fleet,
// and that Explain and a requester without location scan every node.
func TestIndexSkipsFarCells(t *testing.T) {
	s := &Snapshot{}
	for i, l := range []Location{paris, frankfurt, virginia, tokyo} {
		for k := range 50 {
			n := node(string(rune('a'+i))+"-"+string(rune('a'+k%26))+string(rune('a'+k/26)), "r", l.Lat, l.Lon)
			s.Nodes = append(s.Nodes, n)
		}
	}
	req := Request{Tenant: "t", GPUs: 1, EgressMbps: 10, Requester: at(paris)}
	d, err := place(s, req, scanIndexed)
	if err != nil || d.NodeID[0] != 'a' {
		t.Fatalf("got %q, %v", d.NodeID, err)
	}
	if d.Explanation.Skipped < 100 || d.Explanation.Considered+d.Explanation.Skipped != len(s.Nodes) {
		t.Fatalf("considered %d skipped %d", d.Explanation.Considered, d.Explanation.Skipped)
	}
	for _, r := range []Request{
		{Tenant: "t", GPUs: 1, Requester: at(paris), Explain: true},
		{Tenant: "t", GPUs: 1, Requester: Requester{Region: "r"}},
	} {
		d, err := Place(s, r)
		if err != nil || d.Explanation.Skipped != 0 || d.Explanation.Considered != len(s.Nodes) {
			t.Fatalf("%+v: considered %d skipped %d err %v", r, d.Explanation.Considered, d.Explanation.Skipped, err)
		}
	}
}

// TestPropertyIndexedViewerMatchesFullScan holds RouteViewer's indexed
// scan to the full scan's decision, relay bonus included.
func TestPropertyIndexedViewerMatchesFullScan(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 14))
	skipped := 0
	for c := range 150 {
		s := genSnapshot(r, 1+r.IntN(400))
		loc := scatter(r, s, c%3)
		for range 30 {
			g := genRequest(r, s)
			if loc != nil && g.Requester.Location.Known {
				g.Requester.Location = loc()
			}
			req := ViewerRequest{
				SessionID:    "s" + string(rune('0'+r.IntN(6))),
				IngestNodeID: s.Nodes[r.IntN(len(s.Nodes))].ID,
				BitrateMbps:  int64(r.IntN(9000)),
				Viewer:       g.Requester,
				Regions:      g.Regions,
			}
			full, errFull := routeViewer(s, req, scanFull)
			idx, errIdx := routeViewer(s, req, scanIndexed)
			if (errFull == nil) != (errIdx == nil) || errFull != nil && errFull.Error() != errIdx.Error() {
				t.Fatalf("case %d: errors differ: full %v, indexed %v", c, errFull, errIdx)
			}
			fe, ie := full.Explanation, idx.Explanation
			if ie.Considered+ie.Skipped != len(s.Nodes) || ie.Skipped == 0 && (ie.Rejected != fe.Rejected || ie.Feasible != fe.Feasible) ||
				ie.Skipped > 0 && errIdx != nil {
				t.Fatalf("case %d: indexed counts %+v, full %+v", c, ie, fe)
			}
			skipped += ie.Skipped
			idx.Explanation = fe
			if !reflect.DeepEqual(full, idx) {
				t.Fatalf("case %d: decisions differ:\nfull    %+v\nindexed %+v", c, full, idx)
			}
		}
	}
	if skipped == 0 {
		t.Fatal("the index pruned nothing: the property is vacuous")
	}
}
