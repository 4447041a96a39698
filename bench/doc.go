// Package bench measures Strata's capacity: Raft write throughput and
// latency, placement (the pure engine and placements committed through a
// local cluster), gossip join and failure detection, session starts and
// re-placement, MoQ and WebRTC fan-out, and the browser player. Each
// suite takes Options and returns a Result that cmd/strata-bench prints
// as JSON. Most suites run a whole cluster in one process
// (internal/testcluster) or drive a browser, which is why they live in
// the strata-bench binary and never in strata.
package bench
