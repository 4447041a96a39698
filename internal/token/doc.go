// Package token issues and verifies the short-lived Ed25519-signed tokens
// that let viewers, publishers and relays onto an edge. Origins sign them;
// edges verify them offline against the origins' published key set (JWKS),
// so admitting a viewer never needs a round trip to the control plane.
//
// The format is a compact JWS (RFC 7515) with alg "EdDSA" (RFC 8037) and a
// "kid" header naming the signing key, i.e. a JWT that browsers and common
// tools can decode. Only that one algorithm is accepted: the header cannot
// downgrade verification.
package token
