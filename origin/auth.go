package origin

import (
	"errors"
	"net/http"
	"strings"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/strata-edge/strata/api"
	"github.com/strata-edge/strata/internal/auth"
	"github.com/strata-edge/strata/internal/pki"
	"github.com/strata-edge/strata/internal/ratelimit"
	"github.com/strata-edge/strata/registry"
)

// adminKeyID is the registry ID of the admin bootstrap key, whose hash is
// that of the whole admin token.
const adminKeyID = "admin"

// errUnknownKey means the bearer token names a key this origin does not
// know (yet): a follower forwards such requests to the leader.
var errUnknownKey = &api.Error{Status: http.StatusUnauthorized, Code: api.CodeUnauthorized, Message: "unknown API key"}

// principal is who made a request: an API key's holder, or a node
// authenticated by its certificate (scope ScopeNode, node set).
type principal struct {
	keyID    string
	scope    registry.KeyScope
	tenantID string
	node     pki.Identity
	// direct is true when the node's certificate was presented on this
	// connection, false when an origin forwarded the node's request.
	direct bool
}

func (p principal) String() string {
	if p.isNode() {
		return "node " + p.node.String()
	}
	return "this key (scope " + p.scope.String() + ")"
}

// isNode reports whether a node (not a key) made the request.
func (p principal) isNode() bool { return p.node.NodeID != "" }

// hdrNode carries a node's identity when an origin forwards the node's
// request to the leader; it is believed only from an origin's
// certificate.
const hdrNode = "X-Strata-Node"

// canSee reports whether the caller may act on objects of tenantID. Other
// tenants' objects must look absent (404), never forbidden.
func (p principal) canSee(tenantID string) bool {
	return p.scope == registry.ScopeAdmin || p.tenantID == tenantID
}

// peerNode is the node whose verified certificate is on this connection.
func peerNode(ctx *fasthttp.RequestCtx) (pki.Identity, bool) {
	cs := ctx.TLSConnectionState()
	if cs == nil || len(cs.VerifiedChains) == 0 {
		return pki.Identity{}, false
	}
	id, err := pki.IdentityOf(cs.PeerCertificates[0])
	return id, err == nil
}

// nodePrincipal is the principal for a node identity.
func nodePrincipal(id pki.Identity, direct bool) principal {
	return principal{keyID: "node/" + id.NodeID, scope: registry.ScopeNode, node: id, direct: direct}
}

func (o *Origin) authenticate(ctx *fasthttp.RequestCtx) (principal, error) {
	if id, ok := peerNode(ctx); ok {
		switch {
		case id.Role != pki.RoleOrigin:
			return nodePrincipal(id, true), nil
		case len(ctx.Request.Header.Peek(hdrNode)) > 0:
			role, nodeID, _ := strings.Cut(string(ctx.Request.Header.Peek(hdrNode)), "/")
			fwd := pki.Identity{Role: role, NodeID: nodeID}
			if err := fwd.Validate(); err != nil {
				return principal{}, api.Errorf(http.StatusBadRequest, api.CodeBadRequest, "%s: %v", hdrNode, err)
			}
			return nodePrincipal(fwd, false), nil
		case len(ctx.Request.Header.Peek("Authorization")) == 0:
			return nodePrincipal(id, true), nil
		}
		// An origin forwarding a key holder's request: the key decides.
	}
	tok, ok := api.BearerToken(string(ctx.Request.Header.Peek("Authorization")))
	if !ok {
		return principal{}, api.Errorf(http.StatusUnauthorized, api.CodeUnauthorized, "an Authorization: Bearer <API key> header is required")
	}
	id, secret := adminKeyID, tok
	if strings.HasPrefix(tok, "key_") {
		var err error
		if id, secret, err = auth.Split(tok); err != nil {
			return principal{}, err
		}
		secret = strings.TrimSpace(secret)
	} else {
		secret = tok
	}
	k, found := o.reg.State().APIKey(id)
	if !found {
		return principal{}, errUnknownKey
	}
	if !auth.Match(secret, k.Hash) {
		return principal{}, api.Errorf(http.StatusUnauthorized, api.CodeUnauthorized, "invalid API key")
	}
	if k.Expired(time.Now()) {
		return principal{}, api.Errorf(http.StatusUnauthorized, api.CodeUnauthorized, "API key %s expired at %s", k.ID, k.ExpiresAt.Format(time.RFC3339))
	}
	if k.Scope == registry.ScopeNode {
		return principal{}, api.Errorf(http.StatusUnauthorized, api.CodeUnauthorized, "node key %s is no longer accepted: nodes authenticate with cluster certificates; enroll with a join token", k.ID)
	}
	return principal{keyID: k.ID, scope: k.Scope, tenantID: k.TenantID}, nil
}

// leaderAccepted reports whether the leader's answer to a forwarded
// request shows that it accepted the credentials: not a refusal (401),
// not its own failure limit (429, which must not refill this origin's
// bucket), and not an error that left them unjudged (5xx).
func leaderAccepted(status int) bool {
	return status < 500 && status != http.StatusUnauthorized && status != http.StatusTooManyRequests
}

// clientKey is the failed-authentication bucket of the connecting
// address (ratelimit.AddrKey).
func clientKey(ctx *fasthttp.RequestCtx) string { return ratelimit.AddrKey(ctx.RemoteIP()) }

// limitFailure takes a failed-authentication token from the bucket of
// the client address key, or returns the 429 to answer when it is empty.
func (o *Origin) limitFailure(key string, now time.Time) *api.Error {
	wait, ok := o.authFails.Allow(key, now)
	if ok {
		return nil
	}
	o.metrics.authFailures.WithLabelValues("limited").Inc()
	e := api.Errorf(http.StatusTooManyRequests, api.CodeRateLimited, "too many failed authentications from this address (limit %g/s)", o.cfg.API.AuthFailRate)
	e.RetryAfter = int(wait/time.Second) + 1
	return e
}

// authFailed answers a request whose credentials were refused: at most
// api.auth_fail_rate such requests per second per client address reach
// the check (or, for a key this follower does not know yet, the leader);
// beyond that they get 429 here. A forwarded key the leader accepts gives
// its token back, so a follower's lag costs legitimate clients nothing.
func (o *Origin) authFailed(ctx *fasthttp.RequestCtx, err error, now time.Time) {
	key := clientKey(ctx)
	if e := o.limitFailure(key, now); e != nil {
		o.writeError(ctx, e)
		return
	}
	if errors.Is(err, errUnknownKey) && !o.reg.IsLeader() && !o.forwarded(ctx) {
		// The key may be newer than this follower's state.
		o.forward(ctx, principal{})
		if leaderAccepted(ctx.Response.StatusCode()) {
			o.authFails.Refund(key)
			return
		}
		o.metrics.authFailures.WithLabelValues("forwarded").Inc()
		return
	}
	o.metrics.authFailures.WithLabelValues("refused").Inc()
	o.writeError(ctx, toAPIError(err))
}
