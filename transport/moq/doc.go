// Package moq runs Media over QUIC Transport sessions over raw QUIC and
// WebTransport, on top of the wire codec in transport/moq/wire.
//
// A Session owns one connection: the setup handshake with version
// negotiation, the control stream loop, request ID accounting in both
// directions, and the routing of incoming subgroup streams and datagrams
// to subscriptions by Track Alias. The transport is hidden behind Conn so
// raw QUIC and WebTransport sessions behave identically above it.
//
// Beyond subscribing, a session carries the namespace side of publishing
// (PublishNamespace / AcceptNamespace: a publisher announces, the relay
// answers and subscribes back to the tracks it wants), publisher-initiated
// subscriptions (Publish / AcceptPublish: PUBLISH and PUBLISH_OK, which
// edges use to send viewers' input upstream) and authorization
// tokens by value (Config.AuthToken in CLIENT_SETUP, TokenParam on
// requests; SetupTokens and Tokens read them on the receiving side, which
// decides and answers with the spec's UNAUTHORIZED or token codes).
// WriteRaw sends objects whose extension headers are already serialized,
// so a relay forwards them without re-encoding.
//
// Goroutines: every session runs a control loop, a unidirectional stream
// acceptor (plus one reader per stream) and a datagram reader. All of them
// stop when the session's context ends, which CloseWithError and any
// connection failure cause; Close waits for them.
//
// Locks: Session.mu guards session state; Session.writeMu serializes
// control stream writes. writeMu is never acquired while mu is held.
package moq
