// Package edge is an edge node: it discovers its GPUs and NIC capacity,
// joins the gossip pool seeded by the origins, registers its full
// description with the registry over REST (the gossip metadata is too small
// for the GPU list), gossips its live load every second, and follows the
// sessions placed on it with blocking queries, handing every change to a
// Reconciler that runs the instances.
//
// Edge owns every goroutine it starts; each takes the Edge's context and
// Close (or Drain, which ends in Close) stops them in order: the
// assignment follower, registration and seeding, the load publisher and
// the GPU sampler, and finally the gossip membership (a graceful leave).
package edge
