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
	return routeViewer(snap, req, scanAuto)
}

// routeViewer is RouteViewer with the scan mode chosen by the caller; as
// for Place, the geo index is used for a viewer with a location on a large
// fleet and gives the same decision as the full scan.
func routeViewer(snap *Snapshot, req ViewerRequest, mode scanMode) (ViewerDecision, error) {
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
	ex := Explanation{Considered: len(p.nodes)}
	o := newOrigin(p, &req.Viewer)
	vs := viewerScan{p: p, q: &q, o: &o, pk: newPicker(&o), ex: &ex, ingest: ingest, relayers: relayers}
	if (mode == scanIndexed || mode == scanAuto && len(p.nodes) >= indexMinNodes) && o.hasLoc && p.index != nil {
		vs.indexed()
		examined := ex.Feasible
		for _, c := range ex.Rejected {
			examined += c
		}
		ex.Considered, ex.Skipped = examined, len(p.nodes)-examined
	} else {
		ri := 0 // cursor into relayers: nodes go in ascending order
		for i := range p.nodes {
			for ri < len(relayers) && relayers[ri] < int32(i) {
				ri++
			}
			vs.node(i, int32(i) == ingest || ri < len(relayers) && relayers[ri] == int32(i))
		}
	}
	pk := vs.pk
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

// viewerScan is one RouteViewer decision in progress.
type viewerScan struct {
	p        *prepared
	q        *query
	o        *origin
	pk       picker
	ex       *Explanation
	ingest   int32
	relayers []int32 // ascending
	seen     []uint64
}

// node filters node i and offers it to the picker, with the relay bonus
// when it is the ingest edge or relays the session.
func (v *viewerScan) node(i int, relaying bool) {
	p, np := v.p, &v.p.nodes[i]
	f := filterPass
	switch {
	case np.flags&flagAlive == 0:
		f = FilterNotAlive
	case np.flags&flagEligible == 0:
		f = FilterDraining
	case v.q.hasRegions && !slices.Contains(v.q.regions, np.region):
		f = FilterRegion
	case int64(np.egressFree) < v.q.egress:
		f = FilterNICHeadroom
	}
	if f != filterPass {
		v.ex.Rejected[f]++
		return
	}
	v.ex.Feasible++
	bonus := 0
	if relaying {
		bonus = relayBonusBuckets
	}
	bucket, ok := v.pk.bucketFor(p, i, bonus)
	if !ok {
		return
	}
	v.pk.consider(i, p.cold[i].rank, bucket, fraction(int64(np.egressFree)-v.q.egress, int64(np.nicMbps)))
}

// visit runs node once per decision: the indexed scan reaches some nodes
// both through a list and through their cell. The ingest edge and the
// relayers are visited first, so any node visited later has no bonus.
func (v *viewerScan) visit(i int32, relaying bool) {
	w, bit := i>>6, uint64(1)<<(i&63)
	if v.seen[w]&bit != 0 {
		return
	}
	v.seen[w] |= bit
	v.node(int(i), relaying)
}

// indexed scans the nodes whose bucket is not plain geography (no
// location, Vivaldi, relay bonus) first, then the cells nearest the viewer,
// then every cell whose bound still beats the best bucket; bonus nodes
// sort before geography, so a cell is skipped only when all its nodes are
// in a worse bucket.
func (v *viewerScan) indexed() {
	ix := v.p.index
	v.seen = make([]uint64, len(v.p.nodes)/64+1)
	v.visit(v.ingest, true)
	for _, i := range v.relayers {
		v.visit(i, true)
	}
	for _, i := range ix.unlocated {
		v.visit(i, false)
	}
	if v.o.dim != 0 {
		for _, i := range ix.byDim[v.o.dim] {
			v.visit(i, false)
		}
	}
	prune := func() float64 {
		if v.pk.best < 0 {
			return -3
		}
		d, _ := bucketDots(v.pk.bucket)
		return d
	}
	bounds := make([]float64, len(ix.cells))
	for c := range ix.cells {
		bounds[c] = ix.cells[c].maxDot(v.o.x, v.o.y, v.o.z)
	}
	scanCell := func(c int) {
		cell := &ix.cells[c]
		for _, i := range ix.members[cell.off : cell.off+cell.n] {
			v.visit(i, false)
		}
		bounds[c] = cellVisited
	}
	for k := 0; k < 16 && (k < 4 || v.pk.best < 0); k++ {
		best, top := -1, prune()
		for c, b := range bounds {
			if b > top {
				best, top = c, b
			}
		}
		if best < 0 {
			break
		}
		scanCell(best)
	}
	for c, b := range bounds {
		if b != cellVisited && b > prune() {
			scanCell(c)
		}
	}
}
