package origin

import (
	"errors"
	"net/http"
	"time"

	"github.com/strata-edge/strata/api"
	"github.com/strata-edge/strata/internal/auth"
	"github.com/strata-edge/strata/internal/ids"
	"github.com/strata-edge/strata/internal/pki"
	"github.com/strata-edge/strata/registry"
)

// Join token defaults: a day, ten nodes.
const (
	defaultJoinTokenTTL  = 24 * time.Hour
	defaultJoinTokenUses = 10
)

func errNoPKI() *api.Error {
	return api.Errorf(http.StatusConflict, api.CodeInvalidState, "this cluster runs without certificates (pki.disable)")
}

func (o *Origin) createJoinToken(c *call) (int, any, error) {
	if o.node == nil {
		return 0, nil, errNoPKI()
	}
	var b api.JoinTokenCreate
	if err := decode(c, &b); err != nil {
		return 0, nil, err
	}
	if err := checkName("name", b.Name); err != nil {
		return 0, nil, err
	}
	role := registry.RoleEdge
	switch b.Role {
	case "", api.RoleEdge:
	case api.RoleOrigin:
		role = registry.RoleOrigin
	default:
		return 0, nil, badRequest("role: want edge or origin")
	}
	if err := checkRange("ttl_seconds", b.TTLSeconds, api.MaxJoinTokenTTLSeconds); err != nil {
		return 0, nil, err
	}
	if err := checkRange("max_uses", b.MaxUses, api.MaxJoinTokenUses); err != nil {
		return 0, nil, err
	}
	ttl, uses := defaultJoinTokenTTL, uint64(defaultJoinTokenUses)
	if b.TTLSeconds > 0 {
		ttl = time.Duration(b.TTLSeconds) * time.Second
	}
	if b.MaxUses > 0 {
		uses = uint64(b.MaxUses)
	}
	now := time.Now().UTC()
	secret, hash := auth.NewSecret()
	t := registry.JoinToken{ID: ids.New("jt", now), Name: b.Name, Role: role, Hash: hash, ExpiresAt: now.Add(ttl), MaxUses: uses, Meta: registry.Meta{CreatedAt: now}}
	v, err := o.reg.Apply(c.cx, &registry.CreateJoinToken{Token: t})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, api.CreatedJoinToken{
		JoinToken: toAPIJoinToken(v.(*registry.JoinToken)), Token: auth.Token(t.ID, secret), CAFingerprint: pki.Fingerprint(o.node.CA()),
	}, nil
}

func (o *Origin) listJoinTokens(c *call) (int, any, error) {
	limit, cursor, err := page(c, idOf("jt"))
	if err != nil {
		return 0, nil, err
	}
	var out []api.JoinToken
	for _, t := range o.reg.State().JoinTokens() {
		if t.ID > cursor {
			out = append(out, toAPIJoinToken(t))
		}
	}
	return http.StatusOK, pageOf(out, func(t api.JoinToken) string { return t.ID }, limit), nil
}

func (o *Origin) deleteJoinToken(c *call) (int, any, error) {
	id, err := idParam(c, "id", "jt")
	if err != nil {
		return 0, nil, err
	}
	if _, ok := o.reg.State().JoinToken(id); !ok {
		return 0, nil, notFound("join token", id) // nothing to commit
	}
	if _, err := o.reg.Apply(c.cx, &registry.DeleteJoinToken{ID: id}); err != nil {
		return 0, nil, err
	}
	return http.StatusNoContent, nil, nil
}

func toAPIJoinToken(t *registry.JoinToken) api.JoinToken {
	return api.JoinToken{ID: t.ID, Name: t.Name, Role: api.NodeRole(t.Role.String()), ExpiresAt: t.ExpiresAt,
		MaxUses: int64(t.MaxUses), Uses: int64(t.Uses), CreatedAt: t.CreatedAt}
}

// clusterCAView answers GET /v1/pki/ca. It needs no credentials: a
// client checks what it gets against a fingerprint it was given.
func (o *Origin) clusterCAView(*call) (int, any, error) {
	if o.node == nil {
		return 0, nil, errNoPKI()
	}
	return http.StatusOK, api.ClusterCA{Certificate: string(pki.CertPEM(o.node.CA().Raw)), Fingerprint: pki.Fingerprint(o.node.CA())}, nil
}

// enrollNode trades a join token and a CSR for a node certificate. The
// token is checked here, on the receiving origin, before anything is
// forwarded; counting its use is a write, which a follower forwards.
func (o *Origin) enrollNode(c *call) (int, any, error) {
	if o.node == nil {
		return 0, nil, errNoPKI()
	}
	tok, err := o.joinToken(c)
	if err != nil {
		return 0, nil, err
	}
	var b api.EnrollRequest
	if err := decode(c, &b); err != nil {
		return 0, nil, err
	}
	if !nodeIDPattern.MatchString(b.NodeID) {
		return 0, nil, api.Errorf(400, api.CodeInvalidID, "node_id %q is not a valid node id", truncate(b.NodeID, 80))
	}
	csr, err := parseCSR(b.CSR)
	if err != nil {
		return 0, nil, err
	}
	if n, ok := o.reg.State().Node(b.NodeID); ok && (n.Role != tok.Role || n.State == registry.NodeAlive) {
		// Enrolling under the ID of a live node would let a token holder
		// impersonate it; a dead or removed node's ID can be reused.
		return 0, nil, api.Errorf(http.StatusConflict, api.CodeConflict, "node %s is registered as a %s that is %s; pick another ID, or remove the node first", n.ID, n.Role, n.State)
	}
	ca, err := o.clusterCA()
	if err != nil {
		return 0, nil, unavailable(api.CodeNoLeader, 1, err.Error())
	}
	if _, err := o.reg.Apply(c.cx, &registry.UseJoinToken{ID: tok.ID, At: time.Now().UTC()}); err != nil {
		return 0, nil, err
	}
	id := pki.Identity{Role: tok.Role.String(), NodeID: b.NodeID}
	o.log.Info("node enrolled", "identity", id.String(), "join_token", tok.ID, "from", c.ctx.RemoteAddr().String())
	return o.issue(ca, csr, id)
}

// joinToken authenticates the request's join token against local state;
// a follower that does not know the token yet forwards the request.
func (o *Origin) joinToken(c *call) (*registry.JoinToken, error) {
	t, err := o.checkJoinToken(c)
	if err != nil {
		// A failed join token is a failed authentication: limited per
		// address here, before a follower forwards a token it lacks.
		if e := o.limitFailure(clientKey(c.ctx), time.Now()); e != nil {
			return nil, e
		}
		if !errors.Is(err, registry.ErrNotLeader) {
			o.metrics.authFailures.WithLabelValues("refused").Inc()
		}
	}
	return t, err
}

// checkJoinToken is joinToken without the failure limit.
func (o *Origin) checkJoinToken(c *call) (*registry.JoinToken, error) {
	raw, ok := api.BearerToken(string(c.ctx.Request.Header.Peek("Authorization")))
	if !ok {
		return nil, api.Errorf(http.StatusUnauthorized, api.CodeUnauthorized, "an Authorization: Bearer <join token> header is required")
	}
	id, secret, err := auth.Split(raw)
	if err != nil {
		return nil, err
	}
	t, found := o.reg.State().JoinToken(id)
	if !found {
		if !o.reg.IsLeader() {
			return nil, registry.ErrNotLeader // forwarded: the token may be newer than this follower's state
		}
		return nil, api.Errorf(http.StatusUnauthorized, api.CodeUnauthorized, "unknown join token")
	}
	if !auth.Match(secret, t.Hash) {
		return nil, api.Errorf(http.StatusUnauthorized, api.CodeUnauthorized, "invalid join token")
	}
	if err := t.Usable(time.Now()); err != nil {
		return nil, err
	}
	return t, nil
}

// renewNode issues a node a new certificate for a new key, naming the
// node its current certificate names. Any origin can: each holds the CA.
func (o *Origin) renewNode(c *call) (int, any, error) {
	if o.node == nil {
		return 0, nil, errNoPKI()
	}
	if !c.who.isNode() || !c.who.direct {
		return 0, nil, api.Errorf(http.StatusForbidden, api.CodeForbidden, "renewal needs the node's current certificate on the connection")
	}
	var b api.RenewRequest
	if err := decode(c, &b); err != nil {
		return 0, nil, err
	}
	csr, err := parseCSR(b.CSR)
	if err != nil {
		return 0, nil, err
	}
	ca, err := o.clusterCA()
	if err != nil {
		return 0, nil, unavailable(api.CodeNoLeader, 1, err.Error())
	}
	return o.issue(ca, csr, c.who.node)
}

func (o *Origin) issue(ca *pki.CA, csr []byte, id pki.Identity) (int, any, error) {
	certPEM, err := ca.Sign(csr, id, nil, o.cfg.PKI.validity(), time.Now())
	if err != nil {
		return 0, nil, badRequest("%v", err)
	}
	leaf, _ := pki.ParseCertificate(certPEM)
	return http.StatusOK, api.NodeCertificate{Certificate: string(certPEM), CA: string(pki.CertPEM(ca.Cert.Raw)), ExpiresAt: leaf.NotAfter}, nil
}
