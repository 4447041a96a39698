// Package bench measures Strata's capacity: Raft write throughput and
// latency, placement (the pure engine and placements committed through a
// local cluster), gossip join and failure detection, session starts and
// re-placement, MoQ and WebRTC fan-out, the browser player, an edge's
// capacity knee (Capacity, with Knee and the SLO) and load against a
// running cluster (Load). Each suite takes Options and returns a Result
// that cmd/strata-bench prints as JSON stamped with the host (Stamped)
// and can lay out as an HTML report with SVG plots (ReportFor); Compare
// sets two results side by side. Most suites run a whole cluster in one
// process (internal/testcluster) or drive a browser, which is why they
// live in the strata-bench binary and never in strata.
package bench
