// Package authz admits tokens on an edge's media plane. It holds the keys
// the origins sign tokens with (their JWKS, cached and refreshed, with an
// unknown key ID triggering a bounded refresh), and one Authorizer that
// every media path uses: MoQ publishers, viewers and relays, WHIP and
// WHEP, and whatever plugs into the edge next. Keeping it in one place
// keeps the rules (signature, validity window, session scope, role and
// node binding) from drifting between transports.
//
// It knows tokens (internal/token) and namespaces (transport/media) and
// nothing of the edge or of any transport, so the relay can use it
// without importing the edge.
package authz
