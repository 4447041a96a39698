package placement

import (
	"fmt"
	"slices"
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
	pk := newPicker(&o)
	for i := range p.nodes {
		np := &p.nodes[i]
		// The filters, cheapest first, written out here rather than called
		// so the common rejections cost a few instructions.
		f, need := filterPass, int64(0)
		switch {
		case np.flags&flagEligible == 0:
			f = FilterDraining
			if np.flags&flagAlive == 0 {
				f = FilterNotAlive
			}
		case q.hasRegions && !slices.Contains(q.regions, np.region):
			f = FilterRegion
		case len(q.labels) > 0 && (q.noLabels || !labelsMatch(p.nodeLabels(i), q.labels)):
			f = FilterLabels
		case len(q.avoid) > 0 && q.avoided(int32(i)):
			f = FilterAntiAffinity
		case int64(np.egressFree) < q.egress:
			f = FilterNICHeadroom
		case q.gpu.k > 0:
			f, need = q.gpu.check(p, i)
		}
		if f != filterPass {
			ex.Rejected[f]++
			if req.Explain {
				ex.Rejections = append(ex.Rejections, Rejection{NodeID: snap.Nodes[i].ID, Filter: f})
			}
			continue
		}
		ex.Feasible++
		bucket, ok := pk.bucketFor(p, i, 0)
		if !ok {
			continue
		}
		pk.consider(i, p.cold[i].rank, bucket, within(np, q.gpu.k, need, q.egress, q.policy))
	}
	if pk.best < 0 {
		return Decision{Explanation: ex}, &NoCapacityError{Explanation: ex}
	}

	nd := &snap.Nodes[pk.best]
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
			GPUs:       q.gpu.choose(p, nd, pk.best, req.Policy),
			EgressMbps: req.EgressMbps,
		},
		Score:       sc.Total,
		Revision:    nd.Revision,
		Explanation: ex,
	}, nil
}
