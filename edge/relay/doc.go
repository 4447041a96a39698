// Package relay is an edge's Media over QUIC server: one UDP port that
// accepts raw QUIC and WebTransport (/moq) sessions and binds them to the
// node's media.Hub.
//
// Three flows meet here:
//
//   - Ingest. A publisher sends PUBLISH_NAMESPACE strata/{tenant}/{session}
//     with a publisher token for exactly that session. The relay accepts,
//     publishes the broadcast in the hub and SUBSCRIBEs back to the
//     publisher's tracks (eagerly for Config.IngestTracks, otherwise on a
//     viewer's first request), appending objects with the upstream group
//     and object numbers.
//   - Egress. A viewer SUBSCRIBEs with a viewer (or controller) token and
//     is served from the hub: one subgroup stream per group, objects in
//     order, payload bytes shared with every other viewer. A viewer that
//     falls behind the track's retention has its stream reset and skips to
//     the newest group; a late joiner starts at the newest keyframe.
//   - Relaying. A subscription for a broadcast not ingested here reaches
//     the hub's Upstream, which asks the Locator which edge ingests it,
//     reuses or opens ONE MoQ connection to that edge, and subscribes once
//     per track however many local viewers there are. An upstream with no
//     viewers lingers for Config.Linger, then closes; a lost upstream is
//     retried with exponential backoff while viewers remain.
//
// Loop prevention: a relay only ever serves another relay from broadcasts
// it ingests itself. A subscriber holding a relay token is refused
// (TRACK_DOES_NOT_EXIST) for anything that would need an upstream, so a
// broadcast travels at most one relay hop and two edges can never pull a
// broadcast from each other in a cycle, whatever their Locators say.
//
// Relay-to-relay authentication is mutual TLS with the cluster
// certificates (Deps.Identity, peers.go). A relay dials the ingest edge
// asking for the server name <node id>.nodes.strata.invalid; for that
// name the server answers with its cluster certificate and requires one
// from the client, both signed by the cluster CA for the edge role, and
// each side checks the other's identity (the client also that it reached
// the node the Locator named). Every other name gets the public
// certificate viewers see, so both share one UDP port. On top of that
// the relay presents an origin-signed token with role "relay" (Deps.
// RelayToken, in CLIENT_SETUP and every upstream SUBSCRIBE or PUBLISH),
// sent only after the handshake has verified the server, and taken only
// over a connection from a verified cluster edge: a relay token on a
// viewer's connection is refused. Without Deps.Identity an edge neither
// relays from nor serves other edges.
//
// Authorization: a token is taken from the request's AUTHORIZATION TOKEN
// parameter, else from CLIENT_SETUP. Refusals use the spec's codes:
// UNAUTHORIZED, EXPIRED_AUTH_TOKEN or MALFORMED_AUTH_TOKEN in the
// request's error space; a bad token in CLIENT_SETUP closes the session
// with the matching session code.
//
// Goroutines: the Relay owns an accept loop per listener, one handler per
// session (which owns that session's request goroutines) and one feeder
// per ingested or relayed track. All stop when Close cancels the relay's
// context; Close waits for them.
//
// Locks: Relay.mu guards the publisher, remote and peer maps; Relay.dialMu
// serializes dials so each remote edge gets one connection. dialMu is
// taken before mu, never the other way round.
package relay
