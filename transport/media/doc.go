// Package media is the in-memory media model of a Strata node: broadcasts,
// tracks, groups and objects, the per-track fan-out buffer that lets one
// publisher feed thousands of subscribers, and the per-node Hub that finds
// broadcasts by namespace.
//
// The buffer is built around two rules from the design: a publisher never
// blocks on a subscriber, and payload bytes are shared, never copied per
// subscriber. Subscribers therefore keep their own cursors into a bounded,
// append-only history; a subscriber that falls behind the retained history
// skips forward to the newest group instead of holding memory or the
// publisher back.
//
// The read API mirrors how MoQ sends a track: each group (subgroup) goes on
// its own QUIC stream, so a Subscription hands out one GroupReader per group
// (NextGroup) and each GroupReader yields that group's objects (NextObject).
// Next offers a flat object-by-object view for consumers that do not care
// about groups (WebRTC packetizers, the recorder).
//
// Lock order, where more than one lock is held: Hub.mu, then Broadcast.mu,
// then Track.mu, then Hub.wmu (the watcher list, a leaf).
package media
