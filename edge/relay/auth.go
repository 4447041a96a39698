package relay

import (
	"errors"
	"fmt"

	"github.com/strata-edge/strata/internal/token"
	"github.com/strata-edge/strata/transport/media"
	"github.com/strata-edge/strata/transport/moq"
	"github.com/strata-edge/strata/transport/moq/wire"
)

func (r *Relay) verify(tok []byte) (token.Claims, error) {
	c, err := r.opts.Verify(string(tok), r.opts.Now())
	if err != nil {
		return token.Claims{}, err
	}
	if c.Node != "" && c.Node != r.opts.NodeID {
		return token.Claims{}, fmt.Errorf("%w: token is for node %q", ErrUnauthorized, c.Node)
	}
	return c, nil
}

// authorize checks the request's token (or the setup token) grants role
// on ns and returns its claims.
func (r *Relay) authorize(s *moq.Session, params wire.Parameters, role token.Role, ns media.Namespace) (token.Claims, error) {
	c, err := r.requestClaims(s, params)
	if err != nil {
		return token.Claims{}, err
	}
	if !c.Allows(role, ns.Tenant, ns.Session) {
		return token.Claims{}, fmt.Errorf("%w: %s token for %s/%s cannot %s %s", ErrUnauthorized, c.Role, c.Tenant, c.Session, role, ns)
	}
	return c, nil
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

// requestClaims verifies the request's authorization token, or the one
// the session gave at setup when the request carries none.
func (r *Relay) requestClaims(s *moq.Session, params wire.Parameters) (token.Claims, error) {
	toks := moq.Tokens(params)
	if len(toks) == 0 {
		toks = s.SetupTokens()
	}
	if len(toks) == 0 {
		return token.Claims{}, ErrNoToken
	}
	return r.verify(toks[0])
}
