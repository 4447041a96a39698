package relay

import (
	"errors"

	"github.com/strata-edge/strata/edge/authz"
	"github.com/strata-edge/strata/internal/token"
	"github.com/strata-edge/strata/transport/media"
	"github.com/strata-edge/strata/transport/moq"
	"github.com/strata-edge/strata/transport/moq/wire"
)

// Authorizer decides what a token allows on this node. *authz.Authorizer
// is the one the edge shares between MoQ and WebRTC.
type Authorizer interface {
	// Claims verifies a token and its node binding, whatever it is for.
	Claims(tok string) (token.Claims, error)
	// Authorize also checks the token grants one of roles on ns.
	Authorize(tok string, ns media.Namespace, roles ...token.Role) (token.Claims, error)
}

var _ Authorizer = (*authz.Authorizer)(nil)

// newAuthorizer is Deps.Authorizer, or one over Deps.Keys.
func newAuthorizer(o options) (Authorizer, error) {
	if o.Authorizer != nil {
		return o.Authorizer, nil
	}
	return authz.New(authz.Config{Keys: o.Keys, NodeID: o.NodeID, Now: o.Now})
}

// authorize checks the request's token (or the setup token) grants one
// of roles on ns and returns its claims.
func (r *Relay) authorize(s *moq.Session, params wire.Parameters, ns media.Namespace, roles ...token.Role) (token.Claims, error) {
	toks := moq.Tokens(params)
	if len(toks) == 0 {
		toks = s.SetupTokens()
	}
	if len(toks) == 0 {
		return token.Claims{}, ErrNoToken
	}
	c, err := r.auth.Authorize(string(toks[0]), ns, roles...)
	if err == nil {
		err = r.checkPeer(s, c)
	}
	if err != nil {
		return token.Claims{}, err
	}
	return c, nil
}

// claims verifies a session's setup token as authorize does, without a
// namespace.
func (r *Relay) claims(s *moq.Session, tok string) (token.Claims, error) {
	c, err := r.auth.Claims(tok)
	if err == nil {
		err = r.checkPeer(s, c)
	}
	if err != nil {
		return token.Claims{}, err
	}
	return c, nil
}

// checkPeer refuses a relay token over a session that did not come from
// a verified cluster edge: a relay token in a viewer's hands (stolen, or
// leaked from a log) opens nothing.
func (r *Relay) checkPeer(s *moq.Session, c token.Claims) error {
	if c.Role != token.RoleRelay {
		return nil
	}
	if _, ok := r.peer(s); !ok {
		return ErrNotPeer
	}
	return nil
}

// requestCode maps an authorization failure to the code shared by the
// SUBSCRIBE_ERROR and PUBLISH_NAMESPACE_ERROR spaces (same values).
func requestCode(err error) uint64 {
	switch {
	case errors.Is(err, token.ErrExpired):
		return wire.SubscribeErrExpiredAuthToken
	case errors.Is(err, token.ErrMalformed):
		return wire.SubscribeErrMalformedAuthToken
	default:
		return wire.SubscribeErrUnauthorized
	}
}

// sessionCode maps a setup token failure to a session termination code.
func sessionCode(err error) wire.ErrorCode {
	switch {
	case errors.Is(err, token.ErrExpired):
		return wire.CodeExpiredAuthToken
	case errors.Is(err, token.ErrMalformed):
		return wire.CodeMalformedAuthToken
	default:
		return wire.CodeUnauthorized
	}
}
