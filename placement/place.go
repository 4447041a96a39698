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
	return place(snap, req, scanAuto)
}

// scanMode selects how place visits the nodes; tests force either path.
type scanMode uint8

const (
	scanAuto    scanMode = iota // the index on large fleets, else every node
	scanFull                    // every node, in index order
	scanIndexed                 // through the geo index whenever possible
)

// place is Place with the scan mode chosen by the caller. The geo index is
// used only for a requester with a location and without Explain (whose
// rejection list names every node, in node order).
func place(snap *Snapshot, req Request, mode scanMode) (Decision, error) {
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
	st := scanState{pk: newPicker(&o), pruneDot: -3, sameDot: -3}
	if (mode == scanIndexed || mode == scanAuto && len(p.nodes) >= indexMinNodes) && !req.Explain && o.hasLoc && p.index != nil {
		q.scanIndexed(snap, p, &o, &st)
		examined := st.feasible
		for _, c := range st.rejected {
			examined += c
		}
		ex.Considered, ex.Skipped = examined, len(p.nodes)-examined
	} else if mode != scanFull && q.hasRegions && !req.Explain && p.index != nil {
		q.scanRegions(snap, p, &o, &st)
	} else {
		var rej *Explanation
		if req.Explain {
			rej = &ex
		}
		q.scanNodes(snap, p, &o, rej, &st, nil, 0, len(p.nodes), 0)
	}
	copy(ex.Rejected[:], st.rejected[:NumFilters])
	ex.Feasible = st.feasible
	pk := st.pk
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

// scanState is what a decision's scan carries from one list of nodes to
// the next: the best candidate, its bucket's dot-product thresholds and
// the filter counts.
type scanState struct {
	pk                picker
	pruneDot, sameDot float64
	rejected          [16]int
	feasible          int
}

// scanNodes runs nodes through the filters, counting rejections in st and
// keeping the best feasible node in st.pk. The nodes are list[lo:hi], or
// the indices lo..hi-1 when list is nil; with skipDim set, nodes with a
// Vivaldi coordinate of that size are passed over (the indexed scan visits
// them separately). Rejections are appended to ex when it is not nil.
//
// It is the hot loop: request fields are copied into locals, the common
// GPU cases and the geographic bucket test are written inline, and only
// rare paths (label, region and anti-affinity constraints, mixed-model or
// multi-GPU shared requests, non-geographic RTT) call out.
func (q *query) scanNodes(snap *Snapshot, p *prepared, o *origin, ex *Explanation, st *scanState, list []int32, lo, hi int, skipDim uint8) {
	pk := st.pk
	var (
		egress      = q.egress
		k           = q.gpu.k
		memMB       = q.gpu.memMB
		model       = q.gpu.model
		constrained = q.hasRegions || len(q.labels) > 0 || len(q.avoid) > 0
		hasRuntime  = q.hasRuntime
		runtimeBit  = q.runtime
		geo         = o.hasLoc
		ox, oy, oz  = o.x, o.y, o.z
		odim        = o.dim
		// Geographic nodes with dot <= pruneDot are in a worse bucket than
		// the best, those with pruneDot < dot <= sameDot in the same one.
		pruneDot, sameDot = st.pruneDot, st.sameDot
		rejected          = st.rejected // local counters: no stores through st per node
		feasible          = st.feasible
	)
	nodes := p.nodes
	for j := lo; j < hi; j++ {
		i := j
		if list != nil {
			i = int(list[j])
		}
		np := &nodes[i]
		if skipDim != 0 && np.dim == skipDim {
			continue
		}
		// Every filter's verdict is computed without branching and set as
		// bit f in bad; the lowest set bit is the first failing filter.
		// Nodes are in random order, so branches on them would mispredict.
		fl := np.flags
		bad := b2u(fl&flagAlive == 0)<<FilterNotAlive |
			b2u(fl&flagEligible == 0)<<FilterDraining |
			b2u(int64(np.egressFree) < egress)<<FilterNICHeadroom |
			b2u(hasRuntime && np.runtimes&runtimeBit == 0)<<FilterRuntime
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
			if ex != nil {
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
	st.pk, st.pruneDot, st.sameDot, st.rejected, st.feasible = pk, pruneDot, sameDot, rejected, feasible
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
