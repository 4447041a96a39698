package placement

import (
	"slices"
)

// PolicyWeight is the share of the within-bucket score that comes from the
// policy (headroom for spread, fullness for pack); the rest rewards balance
// between GPU and NIC so neither is stranded on a node.
const PolicyWeight = 0.8

// query is a Request compiled against a prepared snapshot: names resolved to
// interned IDs and indices once per call instead of once per node.
type query struct {
	hasRegions bool
	regions    []int32
	labels     []labelID // required labels, interned; the hot loop compares ints
	noLabels   bool      // a required pair exists on no node at all
	avoid      []int32   // sorted node indices
	// hasRuntime: nodes must offer the runtime whose bit is runtime (0
	// when no node offers it: all fail).
	hasRuntime bool
	runtime    uint8
	egress     int64
	gpu        gpuQuery
	policy     Policy
}

func newQuery(p *prepared, r *Request) query {
	q := query{egress: r.EgressMbps, gpu: newGPUQuery(p, r), policy: r.Policy}
	if len(r.Regions) > 0 {
		q.hasRegions = true
		for _, name := range r.Regions {
			if id, ok := p.regions[name]; ok {
				q.regions = append(q.regions, id)
			}
		}
	}
	for k, v := range r.Labels {
		kid, ok1 := p.keys[k]
		vid, ok2 := p.values[v]
		q.noLabels = q.noLabels || !ok1 || !ok2
		q.labels = append(q.labels, labelID{kid, vid})
	}
	for _, id := range r.AvoidNodes {
		if i, ok := p.byID[id]; ok {
			q.avoid = append(q.avoid, i)
		}
	}
	slices.Sort(q.avoid)
	if r.Runtime != "" {
		q.hasRuntime, q.runtime = true, p.runtimes[r.Runtime]
	}
	return q
}

// avoided reports whether node i is in the anti-affinity set. Nodes are
// visited in any order (the indexed scan goes cell by cell), so it
// searches rather than walking a cursor.
func (q *query) avoided(i int32) bool {
	_, found := slices.BinarySearch(q.avoid, i)
	return found
}

// constraint applies the region, label and anti-affinity filters, which
// only constrained requests pay for.
func (q *query) constraint(p *prepared, i int, np *nodePrep) Filter {
	switch {
	case q.hasRegions && !slices.Contains(q.regions, np.region):
		return FilterRegion
	case len(q.labels) > 0 && (q.noLabels || !labelsMatch(p.nodeLabels(i), q.labels)):
		return FilterLabels
	case len(q.avoid) > 0 && q.avoided(int32(i)):
		return FilterAntiAffinity
	}
	return filterPass
}

// labelsMatch reports whether every wanted pair is among have. Both are
// tiny, so nested scans beat any map.
func labelsMatch(have, want []labelID) bool {
next:
	for _, w := range want {
		for _, h := range have {
			if h == w {
				continue next
			}
		}
		return false
	}
	return true
}

// freeAfter returns the fractions of GPU memory and NIC left free on np
// after reserving needMB and egressMbps (GPU is 1 when no GPU is asked).
func freeAfter(np *nodePrep, gpus int32, needMB, egressMbps int64) (gpuFree, nicFree float64) {
	nicFree = fraction(int64(np.egressFree)-egressMbps, int64(np.nicMbps))
	gpuFree = 1
	if gpus > 0 {
		gpuFree = fraction(int64(np.gpuFreeMB)-needMB, int64(np.gpuTotalMB))
	}
	return gpuFree, nicFree
}

// within is the within-bucket score used for ranking; score computes the
// same numbers with their breakdown for the winner.
func within(np *nodePrep, gpus int32, needMB, egressMbps int64, policy Policy) float64 {
	g, n := freeAfter(np, gpus, needMB, egressMbps)
	return withinOf(g, n, gpus, policy)
}

// withinOf combines the free fractions: Policy·w + Balance·(1−w).
func withinOf(gpuFree, nicFree float64, gpus int32, policy Policy) float64 {
	_, _, pol, bal := policyParts(gpuFree, nicFree, gpus, policy)
	return PolicyWeight*pol + (1-PolicyWeight)*bal
}

// policyParts derives headroom, balance and the policy term.
func policyParts(gpuFree, nicFree float64, gpus int32, policy Policy) (headroom, balanceDiff, pol, bal float64) {
	headroom, bal = nicFree, 1
	if gpus > 0 {
		headroom = min(gpuFree, nicFree)
		balanceDiff = gpuFree - nicFree
		if balanceDiff < 0 {
			balanceDiff = -balanceDiff
		}
		bal = 1 - balanceDiff
	}
	pol = headroom
	if policy == PolicyPack {
		pol = 1 - headroom
	}
	return headroom, balanceDiff, pol, bal
}

// score is the full breakdown of within for one node (RTT fields are filled
// by the caller).
func score(np *nodePrep, gpus int32, needMB, egressMbps int64, policy Policy) Score {
	var sc Score
	sc.GPUFree, sc.NICFree = freeAfter(np, gpus, needMB, egressMbps)
	sc.Headroom, _, sc.Policy, sc.Balance = policyParts(sc.GPUFree, sc.NICFree, gpus, policy)
	sc.Within = withinOf(sc.GPUFree, sc.NICFree, gpus, policy)
	return sc
}

// fraction is free/total clamped to [0, 1]; 0 when total is not positive.
func fraction(free, total int64) float64 {
	if total <= 0 || free <= 0 {
		return 0
	}
	if free >= total {
		return 1
	}
	return float64(free) / float64(total)
}
