package moq

import (
	"net/url"
	"strings"

	"github.com/strata-edge/strata/transport/moq/wire"
)

// URLTokenParam is the query parameter of the session URL (the
// WebTransport CONNECT URL, or a raw QUIC client's PATH) that carries a
// token for clients that cannot send the AUTHORIZATION TOKEN setup
// parameter, as browser MoQ libraries do.
const URLTokenParam = "jwt"

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
// with one token and check it again per request. A client that sent none
// there but put one in its session URL's URLTokenParam gets that one:
// the setup parameter wins when both are present.
func (s *Session) SetupTokens() [][]byte { return s.setupTokens }

// connectQueryer is a Conn that knows its WebTransport CONNECT URL's
// query.
type connectQueryer interface{ connectQuery() string }

var _ connectQueryer = wtConn{}

// urlToken is the token in the session URL's query (the CONNECT URL over
// WebTransport, PATH over raw QUIC), or nil.
func (s *Session) urlToken() []byte {
	var raw string
	if c, ok := s.conn.(connectQueryer); ok {
		raw = c.connectQuery()
	} else if _, q, ok := strings.Cut(s.path, "?"); ok {
		raw = q
	}
	if raw == "" {
		return nil
	}
	q, _ := url.ParseQuery(raw) // what parsed is kept, as a server would
	if tok := q.Get(URLTokenParam); tok != "" {
		return []byte(tok)
	}
	return nil
}

// RedactURL returns rawURL with the value of its URLTokenParam replaced,
// for errors and logs: a token must never reach them. A URL that does not
// parse is returned without its query.
func RedactURL(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		base, _, _ := strings.Cut(rawURL, "?")
		return base
	}
	q := u.Query()
	if !q.Has(URLTokenParam) {
		return rawURL
	}
	q.Set(URLTokenParam, "REDACTED")
	u.RawQuery = q.Encode()
	return u.String()
}
