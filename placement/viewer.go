package placement

import (
	"fmt"
	"slices"
)

// RelayBonusMs is subtracted from the RTT of an edge that already relays (or
// ingests) the session. Such an edge serves the viewer without opening a new
// upstream, so the fabric saves a track pull and the viewer starts on a warm
// buffer; 20 ms is about what a cold upstream subscription costs before the
// first keyframe, and small enough that a viewer is never sent to another
// continent for it.
// It must be a multiple of RTTBucketMs so it shifts buckets exactly.
const RelayBonusMs = 20.0

// relayBonusBuckets is RelayBonusMs in buckets.
const relayBonusBuckets = int(RelayBonusMs / RTTBucketMs)

// ViewerRequest asks where a viewer of a running session should connect.
type ViewerRequest struct {
	// SessionID selects the edges listed as relaying it in Node.Relaying.
	SessionID string
	// IngestNodeID is the edge the session publishes to: the upstream for
	// any other edge. Required and must be in the snapshot.
	IngestNodeID string
	// BitrateMbps is the session's bitrate: the egress one more viewer costs.
	BitrateMbps int64
	// Viewer is where the viewer is.
	Viewer Requester
	// Regions, when not empty, restricts the edge to these regions.
	Regions []string
}

// ViewerDecision is RouteViewer's answer.
type ViewerDecision struct {
	// EdgeID is the edge the viewer connects to.
	EdgeID string `json:"edge"`
	// UpstreamID is the ingest edge EdgeID pulls the session from; empty
	// when the viewer lands on the ingest edge itself.
	UpstreamID string `json:"upstream,omitempty"`
	// Relaying is true when EdgeID already serves the session.
	Relaying bool `json:"relaying"`
	// Score is the edge's breakdown; RTTBucket includes RelayBonusMs.
	Score Score `json:"score"`
	// Explanation has the per-filter counts (no rejection list).
	Explanation Explanation `json:"explanation"`
}

// RouteViewer picks the edge for a viewer: among alive, non-draining edges
// (in Regions, if given) with NIC headroom for one more copy of the stream,
// the one with the lowest RTT bucket after the relay bonus, then the most
// NIC headroom, then the lowest ID. Errors: ErrInvalidRequest,
// ErrInvalidSnapshot, ErrUnknownNode for an ingest node not in the snapshot,
// and *NoCapacityError when no edge qualifies.
func RouteViewer(snap *Snapshot, req ViewerRequest) (ViewerDecision, error) {
	if snap == nil {
		return ViewerDecision{}, fmt.Errorf("%w: nil snapshot", ErrInvalidSnapshot)
	}
	if req.IngestNodeID == "" || req.BitrateMbps < 0 {
		return ViewerDecision{}, fmt.Errorf("%w: ingest node and a non-negative bitrate are required", ErrInvalidRequest)
	}
	if err := req.Viewer.validate(); err != nil {
		return ViewerDecision{}, err
	}
	p, err := snap.prepared()
	if err != nil {
		return ViewerDecision{}, err
	}
	ingest, ok := p.byID[req.IngestNodeID]
	if !ok {
		return ViewerDecision{}, fmt.Errorf("%w: ingest %q", ErrUnknownNode, req.IngestNodeID)
	}
	q := query{egress: req.BitrateMbps}
	if len(req.Regions) > 0 {
		q.hasRegions = true
		for _, name := range req.Regions {
			if id, ok := p.regions[name]; ok {
				q.regions = append(q.regions, id)
			}
		}
	}
	relayers := p.relayers[req.SessionID] // ascending node indices
	ri := 0
	ex := Explanation{Considered: len(p.nodes)}
	o := newOrigin(p, &req.Viewer)
	pk := newPicker(&o)
	for i := range p.nodes {
		np := &p.nodes[i]
		f := filterPass
		switch {
		case np.flags&flagAlive == 0:
			f = FilterNotAlive
		case np.flags&flagEligible == 0:
			f = FilterDraining
		case q.hasRegions && !slices.Contains(q.regions, np.region):
			f = FilterRegion
		case int64(np.egressFree) < q.egress:
			f = FilterNICHeadroom
		}
		if f != filterPass {
			ex.Rejected[f]++
			continue
		}
		ex.Feasible++
		bonus := 0
		for ri < len(relayers) && relayers[ri] < int32(i) {
			ri++
		}
		if int32(i) == ingest || ri < len(relayers) && relayers[ri] == int32(i) {
			bonus = relayBonusBuckets
		}
		bucket, ok := pk.bucketFor(p, i, bonus)
		if !ok {
			continue
		}
		pk.consider(i, p.cold[i].rank, bucket, fraction(int64(np.egressFree)-q.egress, int64(np.nicMbps)))
	}
	if pk.best < 0 {
		return ViewerDecision{Explanation: ex}, &NoCapacityError{Explanation: ex}
	}
	d := ViewerDecision{EdgeID: snap.Nodes[pk.best].ID, Explanation: ex}
	d.Relaying = int32(pk.best) == ingest || slices.Contains(relayers, int32(pk.best))
	if int32(pk.best) != ingest {
		d.UpstreamID = req.IngestNodeID
	}
	sc := score(&p.nodes[pk.best], 0, 0, q.egress, PolicySpread)
	sc.Within = sc.NICFree
	sc.RTTMs, sc.RTTSource = o.rtt(p, pk.best)
	sc.RTTBucket = o.bucket(p, pk.best)
	if d.Relaying {
		sc.RTTBucket -= relayBonusBuckets
	}
	sc.Total = sc.Within - 2*float64(sc.RTTBucket)
	d.Score = sc
	d.Explanation.Winner = sc
	return d, nil
}
