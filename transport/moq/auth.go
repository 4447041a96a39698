package moq

import (
	"github.com/strata-edge/strata/transport/moq/wire"
)

// TokenTypeUnspecified is the token type Strata sends: the spec leaves
// type 0 to out-of-band agreement, here "a Strata compact JWS".
const TokenTypeUnspecified = 0

// TokenParam wraps a token value in an AUTHORIZATION TOKEN parameter sent
// by value (no alias), for SUBSCRIBE, PUBLISH_NAMESPACE and CLIENT_SETUP.
func TokenParam(tok []byte) (wire.KeyValuePair, error) {
	return wire.AuthToken{AliasType: wire.AliasUseValue, TokenType: TokenTypeUnspecified, Value: tok}.Param()
}

// Tokens returns the values of the by-value AUTHORIZATION TOKEN
// parameters in ps, in order. Alias registrations and uses are skipped:
// this session layer advertises no token cache (MAX_AUTH_TOKEN_CACHE_SIZE
// 0), so a peer may not rely on them. The codec has already rejected
// tokens that do not parse.
func Tokens(ps wire.Parameters) [][]byte {
	var out [][]byte
	for _, p := range ps.All(wire.ParamAuthorizationToken) {
		t, err := wire.ParseAuthToken(p.Bytes)
		if err != nil || t.AliasType != wire.AliasUseValue {
			continue
		}
		out = append(out, t.Value)
	}
	return out
}

// SetupTokens returns the by-value tokens the client sent in
// CLIENT_SETUP (server side), so an edge can admit a whole connection
// with one token and check it again per request.
func (s *Session) SetupTokens() [][]byte { return s.setupTokens }
