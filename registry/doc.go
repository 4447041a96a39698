// Package registry is the origins' replicated state: tenants, API keys,
// apps, sessions, nodes, capacity reservations and signing keys, kept by
// a hashicorp/raft group. Every change is a typed, versioned Command in
// the Raft log, applied by a deterministic FSM to an immutable State that
// readers and snapshots share without locks. Registry runs one origin's
// member (log store, snapshots, membership, leadership); registry/gossip
// is the memberlist pool that carries live load, which is not written to
// Raft.
package registry
