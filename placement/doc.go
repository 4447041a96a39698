// Package placement is Strata's pure placement engine: a read-only snapshot
// of the fleet goes in, a decision and its explanation come out.
//
// The Raft leader calls Place to put a GPU session on the closest edge that
// has free GPU and NIC capacity, then commits the decision through Raft; the
// FSM re-checks it (Snapshot.Apply does the same check for tests and for a
// registry that wants to reuse it) and rejects it when the node's Revision
// moved. RouteViewer uses the same distance model to send a viewer to the
// closest edge with NIC headroom, preferring edges that already relay the
// session.
//
// The package is deliberately pure: no I/O, no clocks (load ages are supplied
// by the caller), no goroutines, no randomness and no map iteration in any
// result, so the same snapshot and request always give the same decision on
// every origin. It imports nothing else from Strata.
//
// Typical use on the Raft leader:
//
//	snap := &placement.Snapshot{Nodes: nodes, Tenants: tenants} // from the FSM
//	if err := snap.Prepare(); err != nil { ... }                 // once per snapshot
//	d, err := placement.Place(snap, req)
//	// commit PlaceSession{..., d.Reservation, expectedRevision: d.Revision};
//	// the FSM re-checks exactly what Snapshot.Apply checks.
//
// Performance: on fleets of indexMinNodes nodes or more, a requester (or
// viewer) with a location is decided through a geo index built by
// Snapshot.Prepare: nodes are grouped into cells bounded by spherical caps,
// the cells nearest the requester are scanned first, and a cell whose cap
// lies wholly beyond the best RTT bucket found is skipped, since none of
// its nodes can win. The decision is exactly the full scan's (a property
// test holds them equal); only Explanation's counts then cover the
// examined nodes. A request constrained to regions and without a location
// scans only those regions' nodes (its counts stay exact). A full scan
// (Explain, small fleets) costs about 10 ns per node on one core. Everything derived from
// the nodes (unit vectors for great-circle distance, interned regions,
// labels and GPU models, ID order for tie-breaks, free capacity) is
// precomputed once into flat arrays with a 64-byte record per node; the
// hot loop touches only those, classifies nodes without data-dependent
// branches, ranks geographic distance by comparing dot products against a
// precomputed table (no trigonometry per node), allocates nothing per
// node, and builds the list of rejected nodes only when Request.Explain is
// set.
package placement
