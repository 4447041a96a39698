package origin

import (
	"net/http"
	"time"

	"github.com/strata-edge/strata/api"
	"github.com/strata-edge/strata/internal/token"
	"github.com/strata-edge/strata/registry"
)

// publisherTokenTTL bounds how long a publisher token works; a publisher
// reconnecting later asks again.
const publisherTokenTTL = time.Hour

// relayTokenTTL bounds relay tokens; edges refresh them well before.
const relayTokenTTL = 10 * time.Minute

// signingKey is the active token signing key, or 503 before the first.
func (o *Origin) signingKey() (*registry.SigningKey, error) {
	key, ok := o.reg.State().ActiveSigningKey()
	if !ok {
		return nil, unavailable(api.CodeNoLeader, 1, "no token signing key yet")
	}
	return key, nil
}

// noEdgeYet refuses a token for a session not placed yet; the caller may
// retry shortly.
func noEdgeYet(s *registry.Session) *api.Error {
	return &api.Error{Status: http.StatusConflict, Code: api.CodeInvalidState, Message: "session " + s.ID + " is " + s.State.String() + " and has no edge yet", RetryAfter: 1}
}

// addPublisher signs a publisher token for a session, bound to its
// ingest edge, and says where to publish (MoQ or WHIP).
func (o *Origin) addPublisher(c *call) (int, any, error) {
	s, err := o.sessionFor(c)
	if err != nil {
		return 0, nil, err
	}
	if s.Reservation == nil {
		return 0, nil, noEdgeYet(s)
	}
	if c.who.isNode() && s.Reservation.NodeID != c.who.node.NodeID {
		// An edge mints publisher tokens only for the sessions it runs.
		return 0, nil, notFound("session", s.ID)
	}
	key, err := o.signingKey()
	if err != nil {
		return 0, nil, err
	}
	node := s.Reservation.NodeID
	now := time.Now().UTC()
	exp := now.Add(publisherTokenTTL)
	tok, err := token.Sign(key.Private, key.ID, token.Claims{
		Issuer: "strata", Tenant: s.TenantID, Session: s.ID, Role: token.RolePublisher, Node: node,
		IssuedAt: now, NotBefore: now.Add(-time.Minute), ExpiresAt: exp,
	})
	if err != nil {
		return 0, nil, err
	}
	ans := api.PublisherAnswer{Edge: node, Token: tok, ExpiresAt: exp, Role: api.TokenRole(token.RolePublisher)}
	if n, ok := o.reg.State().Node(node); ok {
		if a := n.Addrs["quic"]; a != "" {
			ans.MoQURL = "https://" + a + "/moq"
		}
		if a := n.Addrs["whip"]; a != "" {
			ans.WHIPURL = "https://" + a + "/whip/" + s.TenantID + "/" + s.ID
		}
	}
	return http.StatusOK, ans, nil
}

// relayToken signs a short-lived relay-role token for an edge, which
// presents it when it subscribes to broadcasts ingested by other edges.
// The token names no node: the edge presents it to whichever edge ingests
// a broadcast, and a relay token only ever reads.
func (o *Origin) relayToken(c *call) (int, any, error) {
	id := pathParam(c, "id")
	if !nodeIDPattern.MatchString(id) {
		return 0, nil, api.Errorf(400, api.CodeInvalidID, "node id %q is not valid", truncate(id, 80))
	}
	n, ok := o.reg.State().Node(id)
	if !ok || n.Role != registry.RoleEdge {
		return 0, nil, notFound("node", id)
	}
	key, err := o.signingKey()
	if err != nil {
		return 0, nil, err
	}
	now := time.Now().UTC()
	exp := now.Add(relayTokenTTL)
	tok, err := token.Sign(key.Private, key.ID, token.Claims{
		Issuer: "strata/" + id, Role: token.RoleRelay,
		IssuedAt: now, NotBefore: now.Add(-time.Minute), ExpiresAt: exp,
	})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, api.RelayToken{Token: tok, ExpiresAt: exp}, nil
}
