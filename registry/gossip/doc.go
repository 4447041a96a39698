// Package gossip is Strata's membership layer: a hashicorp/memberlist pool
// that every node (origin and edge) joins. It carries
//
//   - node metadata (id, role, region, zone, location, addresses, capacity
//     digest, draining) in memberlist's NodeMeta, compactly encoded (meta.go);
//   - live load, broadcast every second with a per-node sequence number and
//     re-broadcast by receivers so it reaches every node in well under two
//     seconds; push/pull anti-entropy carries the whole fresh table so a
//     joining node sees every load at once (load.go, delegate.go);
//   - Vivaldi network coordinates exchanged in ping acks, so placement can
//     estimate the RTT between any two members (coord.go);
//   - leave notices, relayed and carried in push/pull, so a graceful leave
//     is never mistaken for a failure even when memberlist's own leave
//     message outruns the Leaving metadata or is lost (leave.go).
//
// The registry consumes Events and Members; this package knows nothing of
// the registry.
//
// Lock order: memberlist's internal node lock may be held when it calls our
// delegates, which take Pool.mu; so Pool never calls into memberlist while
// holding Pool.mu.
package gossip
