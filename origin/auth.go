package origin

import (
	"bytes"
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
	h := ctx.Request.Header.Peek("Authorization")
	token, ok := bytes.CutPrefix(h, []byte("Bearer "))
	if !ok || len(token) == 0 {
		return principal{}, api.Errorf(http.StatusUnauthorized, api.CodeUnauthorized, "an Authorization: Bearer <API key> header is required")
	}
	tok := string(token)
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

// limiter is a token bucket per API key, local to this origin.
type limiter struct {
	rate  float64 // tokens per second; 0 disables
	burst float64
	mu    sync.Mutex
	keys  map[string]*bucket
}

type bucket struct {
	tokens float64
	last   time.Time
}

func newLimiter(rate float64, burst int) *limiter {
	if burst <= 0 {
		burst = int(rate)
	}
	return &limiter{rate: rate, burst: float64(max(burst, 1)), keys: map[string]*bucket{}}
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
		if len(l.keys) > 100000 {
			l.keys = map[string]*bucket{} // bound memory; buckets refill anyway
		}
		b = &bucket{tokens: l.burst, last: now}
		l.keys[key] = b
	}
	b.tokens = min(l.burst, b.tokens+now.Sub(b.last).Seconds()*l.rate)
	b.last = now
	if b.tokens < 1 {
		return time.Duration((1 - b.tokens) / l.rate * float64(time.Second)), false
	}
	b.tokens--
	return 0, true
}
