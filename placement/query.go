package placement

import (
	"slices"
)

// PolicyWeight is the share of the within-bucket score that comes from the
// policy (headroom for spread, fullness for pack); the rest rewards balance
// between GPU and NIC so neither is stranded on a node.
const PolicyWeight = 0.8

// labelPair is one required label, compiled out of the request's map so the
// hot loop does not iterate a map per node.
type labelPair struct{ key, value string }

// query is a Request compiled against a prepared snapshot: names resolved to
// interned IDs and indices once per call instead of once per node.
type query struct {
	hasRegions bool
	regions    []int32
	labels     []labelPair
	avoid      []int32 // sorted node indices
	ai         int     // cursor into avoid; nodes are visited in index order
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
		q.labels = append(q.labels, labelPair{k, v})
	}
	for _, id := range r.AvoidNodes {
		if i, ok := p.byID[id]; ok {
			q.avoid = append(q.avoid, i)
		}
	}
	slices.Sort(q.avoid)
	return q
}

// avoided reports whether node i is in the anti-affinity set. It must be
// called with non-decreasing i.
func (q *query) avoided(i int32) bool {
	for q.ai < len(q.avoid) && q.avoid[q.ai] < i {
		q.ai++
	}
	return q.ai < len(q.avoid) && q.avoid[q.ai] == i
}

// filter returns the first filter node i fails, or filterPass and the GPU
// memory the session would reserve on it. Cheap checks on the prepared view
// come first; the Node itself is touched only for labels.
func (q *query) filter(s *Snapshot, p *prepared, i int, np *nodePrep) (Filter, int64) {
	if np.flags&flagEligible == 0 {
		if np.flags&flagAlive == 0 {
			return FilterNotAlive, 0
		}
		return FilterDraining, 0
	}
	if q.hasRegions && !slices.Contains(q.regions, np.region) {
		return FilterRegion, 0
	}
	if len(q.labels) > 0 && !labelsMatch(s.Nodes[i].Labels, q.labels) {
		return FilterLabels, 0
	}
	if len(q.avoid) > 0 && q.avoided(int32(i)) {
		return FilterAntiAffinity, 0
	}
	if np.egressFree < q.egress {
		return FilterNICHeadroom, 0
	}
	return q.gpu.check(p, np)
}

func labelsMatch(have map[string]string, want []labelPair) bool {
	for _, l := range want {
		if v, ok := have[l.key]; !ok || v != l.value {
			return false
		}
	}
	return true
}

// score computes the within-bucket part of a node's score after reserving
// needMB of GPU memory and egressMbps on it.
func score(np *nodePrep, gpus int32, needMB, egressMbps int64, policy Policy) Score {
	var sc Score
	sc.NICFree = fraction(np.egressFree-egressMbps, np.nicMbps)
	sc.GPUFree, sc.Headroom, sc.Balance = 1, sc.NICFree, 1
	if gpus > 0 {
		sc.GPUFree = fraction(np.gpuFreeMB-needMB, np.gpuTotalMB)
		sc.Headroom = min(sc.GPUFree, sc.NICFree)
		d := sc.GPUFree - sc.NICFree
		if d < 0 {
			d = -d
		}
		sc.Balance = 1 - d
	}
	sc.Policy = sc.Headroom
	if policy == PolicyPack {
		sc.Policy = 1 - sc.Headroom
	}
	sc.Within = PolicyWeight*sc.Policy + (1-PolicyWeight)*sc.Balance
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
