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
	"github.com/strata-edge/strata/registry"
)

// adminKeyID is the registry ID of the admin bootstrap key, whose hash is
// that of the whole admin token.
const adminKeyID = "admin"

// errUnknownKey means the bearer token names a key this origin does not
// know (yet): a follower forwards such requests to the leader.
var errUnknownKey = &api.Error{Status: http.StatusUnauthorized, Code: api.CodeUnauthorized, Message: "unknown API key"}

// principal is who made a request.
type principal struct {
	keyID    string
	scope    registry.KeyScope
	tenantID string
}

// canSee reports whether the caller may act on objects of tenantID. Other
// tenants' objects must look absent (404), never forbidden.
func (p principal) canSee(tenantID string) bool {
	return p.scope == registry.ScopeAdmin || p.tenantID == tenantID
}

func (o *Origin) authenticate(ctx *fasthttp.RequestCtx) (principal, error) {
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
