package authz

import (
	"fmt"
	"strings"
	"time"

	"github.com/strata-edge/strata/internal/token"
	"github.com/strata-edge/strata/transport/media"
)

// Verifier checks a token's signature and validity window at now.
// *token.KeySet (fixed keys) and *Keys (refreshed from the origins) are
// the two used.
type Verifier interface {
	Verify(tok string, now time.Time) (token.Claims, error)
}

var (
	_ Verifier = (*token.KeySet)(nil)
	_ Verifier = (*Keys)(nil)
)

// Config configures an Authorizer.
type Config struct {
	// Keys verifies signatures and validity windows. Required.
	Keys Verifier
	// NodeID is this node's ID: a token bound to another node is refused
	// here, and BoundElsewhere names that node.
	NodeID string
	// Now is the clock for validity windows; nil is time.Now.
	Now func() time.Time
}

// Authorizer decides what a token allows on this node. It holds no state
// of its own, so one is shared by every media path.
type Authorizer struct {
	keys Verifier
	node string
	now  func() time.Time
}

// New returns an Authorizer over cfg.Keys.
func New(cfg Config) (*Authorizer, error) {
	if cfg.Keys == nil {
		return nil, fmt.Errorf("%w: Keys is required", ErrBadConfig)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	return &Authorizer{keys: cfg.Keys, node: cfg.NodeID, now: cfg.Now}, nil
}

// Claims verifies tok and checks it is not bound to another node; it
// does not look at scope or role. A MoQ session's setup token is checked
// this way before any request names a session.
func (a *Authorizer) Claims(tok string) (token.Claims, error) {
	c, err := a.keys.Verify(tok, a.now())
	if err != nil {
		return token.Claims{}, err
	}
	if c.Node != "" && c.Node != a.node {
		return token.Claims{}, fmt.Errorf("%w: token is for node %q", ErrUnauthorized, c.Node)
	}
	return c, nil
}

// Authorize verifies tok (as Claims does) and checks it grants at least
// one of roles on ns (token.Claims.Allows: a controller may also view, a
// relay may view any session). It returns the token's claims, whose Role
// says which grant the caller got.
func (a *Authorizer) Authorize(tok string, ns media.Namespace, roles ...token.Role) (token.Claims, error) {
	c, err := a.Claims(tok)
	if err != nil {
		return token.Claims{}, err
	}
	for _, r := range roles {
		if c.Allows(r, ns.Tenant, ns.Session) {
			return c, nil
		}
	}
	names := make([]string, len(roles))
	for i, r := range roles {
		names[i] = string(r)
	}
	return token.Claims{}, fmt.Errorf("%w: %s token for %s/%s does not grant %s on %s",
		ErrUnauthorized, c.Role, c.Tenant, c.Session, strings.Join(names, " or "), ns)
}

// BoundElsewhere reports the node a valid token for ns is bound to when
// that is not this one: the origin routed its holder there, so a viewer
// presenting it here belongs there. Anything else (an invalid token, one
// for another session, an unbound one, one bound here) reports false.
func (a *Authorizer) BoundElsewhere(tok string, ns media.Namespace) (node string, ok bool) {
	c, err := a.keys.Verify(tok, a.now())
	if err != nil || c.Node == "" || c.Node == a.node || c.Tenant != ns.Tenant || c.Session != ns.Session {
		return "", false
	}
	return c.Node, true
}
