// Package edge is an edge node: it discovers its GPUs and NIC capacity,
// joins the gossip pool seeded by the origins, registers its full
// description with the registry over REST (the gossip metadata is too small
// for the GPU list), gossips its live load every second, and follows the
// sessions placed on it with blocking queries, handing every change to a
// Reconciler that runs the instances.
//
// Edge owns every goroutine it starts; each takes the Edge's context and
// Close stops them in order: the assignment follower, registration and
// seeding, the session runtime and the media plane, the load publisher and
// the GPU sampler, and finally the gossip membership (a graceful leave).
//
// Lifecycle, the contract every Strata component follows:
//
//   - New(cfg, deps) applies the config's defaults, calls cfg.Validate and
//     starts the component: when it returns without error the component
//     serves (listeners bound, its goroutines running). There is no Start.
//     deps are the collaborators (logger, metrics registry, interfaces).
//   - A component that is a loop its caller owns starts nothing in New and
//     has Run(ctx) error instead, returning when ctx ends (the GPU
//     sampler, the token key refresher of edge/authz).
//   - Close(ctx) error stops a component. ctx bounds the graceful part
//     (for an edge: the gossip leave, so peers see it left rather than
//     failed); a ctx already done skips it and stops at once, as a crash
//     would. Close is safe to call more than once.
//
// Operations that are not lifecycle stay methods of their own: Drain marks
// the edge draining and waits for its sessions to move; Close follows.
package edge
