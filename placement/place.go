package placement

import (
	"fmt"
	"math/bits"
)

// Place chooses the node for one session: every node goes through the
// filters (alive, not draining, region, labels, anti-affinity, NIC
// headroom, GPU model/count/memory; tenant quota once up front), feasible
// nodes are ranked by RTT bucket to the requester, then by the policy's
// within-bucket score, then by ID. It reads snap and never modifies it
// (beyond preparing it lazily, see Snapshot).
//
// Errors: ErrInvalidRequest, ErrInvalidSnapshot, ErrQuotaExceeded, and a
// *NoCapacityError (errors.Is ErrNoCapacity) when nothing fits. The returned
// Decision carries the Explanation in every case except invalid input.
func Place(snap *Snapshot, req Request) (Decision, error) {
	if snap == nil {
		return Decision{}, fmt.Errorf("%w: nil snapshot", ErrInvalidSnapshot)
	}
	if err := req.validate(); err != nil {
		return Decision{}, err
	}
	p, err := snap.prepared()
	if err != nil {
		return Decision{}, err
	}
	ex := Explanation{Considered: len(snap.Nodes)}
	if err := snap.checkQuota(req.Tenant, req.GPUs, req.EgressMbps); err != nil {
		ex.Rejected[FilterQuota] = len(snap.Nodes)
		if req.Explain {
			ex.Rejections = make([]Rejection, len(snap.Nodes))
			for i := range snap.Nodes {
				ex.Rejections[i] = Rejection{NodeID: snap.Nodes[i].ID, Filter: FilterQuota}
			}
		}
		return Decision{Explanation: ex}, err
	}

	q := newQuery(p, &req)
	o := newOrigin(p, &req.Requester)
	pk := q.scan(snap, p, &o, &ex, req.Explain)
	if pk.best < 0 {
		return Decision{Explanation: ex}, &NoCapacityError{Explanation: ex}
	}

	nd := &snap.Nodes[pk.best]
	gpus := q.gpu.choose(p, nd, pk.best, req.Policy)
	if len(gpus) != req.GPUs {
		return Decision{Explanation: ex}, fmt.Errorf("%w: node %q: GPU choice disagrees with its filter", ErrNoCapacity, nd.ID)
	}
	_, need := q.gpu.check(p, pk.best)
	sc := score(&p.nodes[pk.best], q.gpu.k, need, q.egress, q.policy)
	sc.RTTMs, sc.RTTSource = o.rtt(p, pk.best)
	sc.RTTBucket = o.bucket(p, pk.best)
	sc.Total = sc.Within - 2*float64(sc.RTTBucket)
	ex.Winner = sc
	return Decision{
		NodeID: nd.ID,
		Reservation: Reservation{
			Tenant:     req.Tenant,
			NodeID:     nd.ID,
			GPUs:       gpus,
			EgressMbps: req.EgressMbps,
		},
		Score:       sc.Total,
		Revision:    nd.Revision,
		Explanation: ex,
	}, nil
}

// scan runs every node through the filters, counting rejections in ex, and
// returns the picker holding the best feasible node. It is the hot loop:
// request fields are copied into locals, the common GPU cases and the
// geographic bucket test are written inline, and only rare paths (label,
// region and anti-affinity constraints, mixed-model or multi-GPU shared
// requests, non-geographic RTT) call out.
func (q *query) scan(snap *Snapshot, p *prepared, o *origin, ex *Explanation, explain bool) picker {
	pk := newPicker(o)
	var (
		egress      = q.egress
		k           = q.gpu.k
		memMB       = q.gpu.memMB
		model       = q.gpu.model
		constrained = q.hasRegions || len(q.labels) > 0 || len(q.avoid) > 0
		geo         = o.hasLoc
		ox, oy, oz  = o.x, o.y, o.z
		odim        = o.dim
		// Geographic nodes with dot <= pruneDot are in a worse bucket than
		// the best, those with pruneDot < dot <= sameDot in the same one.
		pruneDot, sameDot = -3.0, -3.0
	)
	var rejected [16]int // local counters: no stores through ex per node
	feasible := 0
	nodes := p.nodes
	for i := range nodes {
		np := &nodes[i]
		// Every filter's verdict is computed without branching and set as
		// bit f in bad; the lowest set bit is the first failing filter.
		// Nodes are in random order, so branches on them would mispredict.
		fl := np.flags
		bad := b2u(fl&flagAlive == 0)<<FilterNotAlive |
			b2u(fl&flagEligible == 0)<<FilterDraining |
			b2u(int64(np.egressFree) < egress)<<FilterNICHeadroom
		if constrained && fl&flagEligible != 0 {
			bad |= 1 << q.constraint(p, i, np) // bit 0 (pass) is masked below
		}
		slow, uniformNeed := false, false
		if k > 0 {
			switch {
			case model == anyModel || np.model == model: // summary suffices
				short := int32(np.gpuN) < k
				bad |= b2u(short)<<FilterGPUCount |
					b2u(memMB > 0 && int64(np.maxFreeMB) < memMB || memMB == 0 && int32(np.wholeFree) < k)<<FilterGPUMemory
				if memMB == 0 {
					uniformNeed = fl&flagUniform != 0
					slow = !uniformNeed
				} else {
					slow = k > 1
				}
			case np.model != mixedModels:
				bad |= 1 << FilterGPUModel
			default:
				slow = true
			}
		}
		f, need := Filter(bits.TrailingZeros32(bad&^1)), int64(0)
		if bad&^1 == 0 {
			f = filterPass
			if slow {
				f, need = q.gpu.check(p, i)
			} else if memMB > 0 {
				need = int64(k) * memMB
			}
		}
		if f != filterPass {
			rejected[f&15]++ // f < NumFilters <= 16; the mask drops the bounds check
			if explain {
				ex.Rejections = append(ex.Rejections, Rejection{NodeID: snap.Nodes[i].ID, Filter: f})
			}
			continue
		}
		feasible++

		var bucket int
		if geo && np.flags&flagHasLoc != 0 && (odim == 0 || np.dim != odim) {
			dot := ox*np.x + oy*np.y + oz*np.z
			if dot <= pruneDot {
				continue
			}
			if dot <= sameDot {
				bucket = pk.bucket
			} else {
				bucket = geoBucket(dot)
			}
		} else {
			bucket = o.bucket(p, i)
		}
		if pk.best >= 0 && bucket > pk.bucket {
			continue
		}
		if uniformNeed {
			need = int64(k) * (int64(np.gpuTotalMB) / int64(np.gpuN))
		}
		first, before := pk.best < 0, pk.bucket
		if pk.consider(i, p.cold[i].rank, bucket, within(np, k, need, egress, q.policy)) && (first || pk.bucket != before) {
			pruneDot, sameDot = bucketDots(pk.bucket)
		}
	}
	copy(ex.Rejected[:], rejected[:NumFilters])
	ex.Feasible = feasible
	return pk
}

// bucketDots returns the dot-product thresholds for a best geographic
// bucket bb: at or below prune is a worse bucket, in (prune, same] the same.
func bucketDots(bb int) (prune, same float64) {
	switch {
	case bb < 0:
		return 3, 3 // geographic buckets are never negative: all worse
	case bb+1 < len(geoEdges):
		return geoEdges[bb+1], geoEdges[bb]
	case bb < len(geoEdges):
		return -3, geoEdges[bb]
	default:
		return -3, -3 // every geographic node is better
	}
}

// b2u converts a bool to 0 or 1; the compiler emits a flag move, no branch.
func b2u(b bool) uint32 {
	if b {
		return 1
	}
	return 0
}
