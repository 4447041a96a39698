package origin

import (
	"errors"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/valyala/fasthttp"

	"github.com/strata-edge/strata/api"
	"github.com/strata-edge/strata/internal/auth"
	"github.com/strata-edge/strata/internal/pki"
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

// limiter is a token bucket per key (an API key, a client address),
// local to this origin. Memory is bounded: at most maxKeys buckets, beyond
// which buckets that have refilled (as good as absent) are dropped, and if
// none has, new keys share one overflow bucket.
type limiter struct {
	rate    float64 // tokens per second; 0 disables
	burst   float64
	maxKeys int
	mu      sync.Mutex
	keys    map[string]*bucket
	pruned  time.Time // last sweep for refilled buckets
}

type bucket struct {
	tokens float64
	last   time.Time
}

// overflowKey is the shared bucket of keys that found the limiter full.
const overflowKey = "\x00overflow"

func newLimiter(rate float64, burst int) *limiter {
	if burst <= 0 {
		burst = int(rate)
	}
	return &limiter{rate: rate, burst: float64(max(burst, 1)), maxKeys: 100000, keys: map[string]*bucket{}}
}

// allow takes a token for key, or says how long until one is available.
func (l *limiter) allow(key string, now time.Time) (time.Duration, bool) {
	if l.rate <= 0 {
		return 0, true
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.keys[key]
	if b == nil {
		b = l.add(key, now)
	}
	b.tokens = min(l.burst, b.tokens+now.Sub(b.last).Seconds()*l.rate)
	b.last = now
	if b.tokens < 1 {
		return time.Duration((1 - b.tokens) / l.rate * float64(time.Second)), false
	}
	b.tokens--
	return 0, true
}

// refund gives back a token allow took for key.
func (l *limiter) refund(key string) {
	if l.rate <= 0 {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if b := l.keys[key]; b != nil {
		b.tokens = min(l.burst, b.tokens+1)
	}
}

// add makes a full bucket for key, making room first if the limiter is
// full. The caller holds l.mu.
func (l *limiter) add(key string, now time.Time) *bucket {
	if len(l.keys) >= l.maxKeys && now.Sub(l.pruned) >= time.Second {
		l.pruned = now
		for k, b := range l.keys {
			if b.tokens+now.Sub(b.last).Seconds()*l.rate >= l.burst {
				delete(l.keys, k)
			}
		}
	}
	if len(l.keys) >= l.maxKeys {
		key = overflowKey
		if b := l.keys[key]; b != nil {
			return b
		}
	}
	b := &bucket{tokens: l.burst, last: now}
	l.keys[key] = b
	return b
}

// leaderAccepted reports whether the leader's answer to a forwarded
// request shows that it accepted the credentials: not a refusal (401),
// not its own failure limit (429, which must not refill this origin's
// bucket), and not an error that left them unjudged (5xx).
func leaderAccepted(status int) bool {
	return status < 500 && status != http.StatusUnauthorized && status != http.StatusTooManyRequests
}

// clientKey is the failed-authentication bucket of the connecting address:
// an IPv4 address, or the /64 of an IPv6 one (one host usually holds a
// whole /64, so single addresses would not bound an attacker).
func clientKey(ctx *fasthttp.RequestCtx) string {
	ip := ctx.RemoteIP()
	if ip4 := ip.To4(); ip4 != nil {
		return string(ip4)
	}
	return string(ip.Mask(net.CIDRMask(64, 128)))
}

// limitFailure takes a failed-authentication token from the bucket of
// the client address key, or returns the 429 to answer when it is empty.
func (o *Origin) limitFailure(key string, now time.Time) *api.Error {
	wait, ok := o.authFails.allow(key, now)
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
			o.authFails.refund(key)
			return
		}
		o.metrics.authFailures.WithLabelValues("forwarded").Inc()
		return
	}
	o.metrics.authFailures.WithLabelValues("refused").Inc()
	o.writeError(ctx, toAPIError(err))
}
