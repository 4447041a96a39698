package placement

import "fmt"

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
		f, need := q.filter(snap, p, i, np)
		if f != filterPass {
			ex.Rejected[f]++
			if req.Explain {
				ex.Rejections = append(ex.Rejections, Rejection{NodeID: snap.Nodes[i].ID, Filter: f})
			}
			continue
		}
		ex.Feasible++
		bucket, _, _, ok := pk.bucketFor(np, 0)
		if !ok {
			continue
		}
		pk.consider(i, np, bucket, score(np, q.gpu.k, need, q.egress, q.policy).Within)
	}
	if pk.best < 0 {
		return Decision{Explanation: ex}, &NoCapacityError{Explanation: ex}
	}

	nd, np := &snap.Nodes[pk.best], &p.nodes[pk.best]
	_, need := q.gpu.check(p, np)
	sc := score(np, q.gpu.k, need, q.egress, q.policy)
	sc.RTTMs, sc.RTTSource = o.rtt(np)
	sc.RTTBucket = bucketOf(sc.RTTMs)
	sc.Total = sc.Within - 2*float64(sc.RTTBucket)
	ex.Winner = sc
	return Decision{
		NodeID: nd.ID,
		Reservation: Reservation{
			Tenant:     req.Tenant,
			NodeID:     nd.ID,
			GPUs:       q.gpu.choose(p, nd, np, req.Policy),
			EgressMbps: req.EgressMbps,
		},
		Score:       sc.Total,
		Revision:    nd.Revision,
		Explanation: ex,
	}, nil
}
