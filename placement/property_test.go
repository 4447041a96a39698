package placement

import (
	"errors"
	"math/rand/v2"
	"slices"
	"testing"
)

// checkDecision verifies one Place result against the reference filters
// and the closest-bucket rule.
func checkDecision(t *testing.T, s *Snapshot, req Request, d Decision, err error) {
	t.Helper()
	var want FilterCounts
	feasible := 0
	minBucket, minRef := 1<<30, 1e18
	for i := range s.Nodes {
		n := &s.Nodes[i]
		f := refFilter(s, n, req)
		want[f]++
		if f == filterPass {
			feasible++
			minBucket = min(minBucket, engineBucket(n, req.Requester))
			minRef = min(minRef, refRTT(n, req.Requester))
		}
	}
	if t0, ok := s.Tenants[req.Tenant]; ok && t0.Quota.violation(t0.Usage, req.GPUs, req.EgressMbps) != "" {
		if !errors.Is(err, ErrQuotaExceeded) {
			t.Fatalf("quota exceeded but err = %v", err)
		}
		return
	}
	want[filterPass] = 0
	if ex := d.Explanation; ex.Skipped > 0 {
		// The geo index never examined some nodes; what it counted must
		// still add up and stay within the reference counts.
		sum := ex.Feasible + ex.Skipped
		for f, c := range ex.Rejected {
			sum += c
			if c > want[f] {
				t.Fatalf("explanation %v exceeds reference %v", ex.Rejected, want)
			}
		}
		if sum != len(s.Nodes) || ex.Feasible > feasible || err != nil {
			t.Fatalf("skipped %d: counts %v feasible %d add to %d of %d nodes, err %v", ex.Skipped, ex.Rejected, ex.Feasible, sum, len(s.Nodes), err)
		}
	} else if d.Explanation.Rejected != want || d.Explanation.Feasible != feasible {
		t.Fatalf("explanation %v feasible %d, reference %v feasible %d", d.Explanation.Rejected, d.Explanation.Feasible, want, feasible)
	}
	if feasible == 0 {
		if !errors.Is(err, ErrNoCapacity) {
			t.Fatalf("no feasible node but err = %v", err)
		}
		return
	}
	if err != nil {
		t.Fatalf("feasible %d but err = %v", feasible, err)
	}
	i, _ := s.NodeIndex(d.NodeID)
	n := &s.Nodes[i]
	if f := refFilter(s, n, req); f != filterPass {
		t.Fatalf("chose %s which fails %s", n.ID, f)
	}
	if got := engineBucket(n, req.Requester); got != minBucket {
		t.Fatalf("chose bucket %d, closest feasible is %d", got, minBucket)
	}
	if ref := refRTT(n, req.Requester); ref > minRef+RTTBucketMs+1e-6 {
		t.Fatalf("chose rtt %.3f ms, closest feasible %.3f ms", ref, minRef)
	}
	checkSlices(t, n, req, d.Reservation.GPUs)
}

// engineBucket recomputes the engine's bucket from Node fields.
func engineBucket(n *Node, q Requester) int {
	if (q.Coordinate == nil || n.Coordinate == nil || len(q.Coordinate.Vec) != len(n.Coordinate.Vec)) && q.Location.Known && n.Location.Known {
		ax, ay, az, _ := unitVector(q.Location)
		bx, by, bz, _ := unitVector(n.Location)
		return geoBucket(ax*bx + ay*by + az*bz)
	}
	return bucketOf(engineRTT(n, q))
}

// engineRTT recomputes the engine's own estimate from Node fields.
func engineRTT(n *Node, q Requester) float64 {
	if q.Coordinate != nil && n.Coordinate != nil && len(q.Coordinate.Vec) == len(n.Coordinate.Vec) {
		return vivaldiRTTMs(q.Coordinate, n.Coordinate)
	}
	if q.Location.Known && n.Location.Known {
		return GeoRTTMs(q.Location, n.Location)
	}
	return refRTT(n, q)
}

// checkSlices verifies the chosen GPUs are distinct, of the model, and fit.
func checkSlices(t *testing.T, n *Node, req Request, gs []GPUSlice) {
	t.Helper()
	if len(gs) != req.GPUs {
		t.Fatalf("got %d GPUs, want %d", len(gs), req.GPUs)
	}
	seen := map[int]bool{}
	for _, sl := range gs {
		if seen[sl.Index] {
			t.Fatalf("GPU %d chosen twice", sl.Index)
		}
		seen[sl.Index] = true
		var g *GPU
		for k := range n.GPUs {
			if n.GPUs[k].Index == sl.Index {
				g = &n.GPUs[k]
			}
		}
		if g == nil || req.GPUModel != "" && g.Model != req.GPUModel || sl.MemoryMB > g.MemoryMB-g.ReservedMB ||
			req.GPUMemoryMB > 0 && sl.MemoryMB != req.GPUMemoryMB || req.GPUMemoryMB == 0 && g.ReservedMB != 0 {
			t.Fatalf("slice %+v does not fit GPU %+v for %+v", sl, g, req)
		}
	}
}

func TestPropertyPlaceMatchesReference(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	for c := range 400 {
		s := genSnapshot(r, 1+r.IntN(60))
		for range 10 {
			req := genRequest(r, s)
			req.Explain = r.IntN(2) == 0
			d, err := Place(s, req)
			checkDecision(t, s, req, d, err)
			if req.Explain && err == nil && len(d.Explanation.Rejections) != len(s.Nodes)-d.Explanation.Feasible {
				t.Fatalf("case %d: %d rejections for %d infeasible", c, len(d.Explanation.Rejections), len(s.Nodes)-d.Explanation.Feasible)
			}
		}
	}
}

func TestPropertyDeterministicUnderShuffle(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for range 300 {
		s := genSnapshot(r, 1+r.IntN(60))
		req := genRequest(r, s)
		d1, err1 := Place(s, req)
		d2, err2 := Place(s, req)
		sh := s.Clone()
		r.Shuffle(len(sh.Nodes), func(i, j int) { sh.Nodes[i], sh.Nodes[j] = sh.Nodes[j], sh.Nodes[i] })
		d3, err3 := Place(sh, req)
		if (err1 == nil) != (err2 == nil) || (err1 == nil) != (err3 == nil) {
			t.Fatalf("errors differ: %v / %v / %v", err1, err2, err3)
		}
		for _, d := range []Decision{d2, d3} {
			if d.NodeID != d1.NodeID || d.Score != d1.Score || !slices.Equal(d.Reservation.GPUs, d1.Reservation.GPUs) ||
				d.Explanation.Rejected != d1.Explanation.Rejected {
				t.Fatalf("decisions differ:\n%+v\n%+v", d1, d)
			}
		}
	}
}

func TestPropertyNeverOverbooks(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	for range 60 {
		s := genSnapshot(r, 1+r.IntN(40))
		for k := range s.Nodes {
			// Apply checks authoritative reservations only; start consistent.
			s.Nodes[k].ReservedEgressMbps = min(s.Nodes[k].ReservedEgressMbps, s.Nodes[k].NICMbps)
		}
		placed := 0
		for step := range 400 {
			req := genRequest(r, s)
			d, err := Place(s, req)
			checkDecision(t, s, req, d, err)
			if err != nil {
				continue
			}
			if err := s.Apply(d); err != nil {
				t.Fatalf("step %d: apply fresh decision: %v", step, err)
			}
			if err := s.Apply(d); !errors.Is(err, ErrStaleDecision) {
				t.Fatalf("re-applying a decision: err = %v, want ErrStaleDecision", err)
			}
			placed++
			checkInvariants(t, s)
		}
		if placed == 0 {
			t.Logf("no placements in this case")
		}
	}
}

// checkInvariants fails when any node or tenant is over capacity.
func checkInvariants(t *testing.T, s *Snapshot) {
	t.Helper()
	for _, n := range s.Nodes {
		if n.ReservedEgressMbps > n.NICMbps {
			t.Fatalf("node %s egress %d > NIC %d", n.ID, n.ReservedEgressMbps, n.NICMbps)
		}
		for _, g := range n.GPUs {
			if g.ReservedMB > g.MemoryMB {
				t.Fatalf("node %s GPU %d reserved %d > %d", n.ID, g.Index, g.ReservedMB, g.MemoryMB)
			}
		}
	}
	for id, tn := range s.Tenants {
		q, u := tn.Quota, tn.Usage
		if q.MaxSessions > 0 && u.Sessions > q.MaxSessions || q.MaxGPUs > 0 && u.GPUs > q.MaxGPUs ||
			q.MaxEgressMbps > 0 && u.EgressMbps > q.MaxEgressMbps {
			t.Fatalf("tenant %s usage %+v over quota %+v", id, u, q)
		}
	}
}
