package edge

import (
	"context"
	"fmt"
	"sync"
	"time"
)

// relayTokenIssuer is the origin call that issues this edge's relay
// tokens.
type relayTokenIssuer interface {
	RelayToken(ctx context.Context, node string) (tok string, expires time.Time, err error)
}

// relayTokenMargin is how long before its expiry a relay token is
// replaced, so one never expires on the way to another edge.
const relayTokenMargin = 2 * time.Minute

// relayTokens holds the relay-role token this edge presents to other
// edges when it pulls a broadcast, asking the origins for a new one only
// when it nears expiry.
type relayTokens struct {
	src     relayTokenIssuer
	nodeID  string
	timeout time.Duration    // bounds one origin call
	now     func() time.Time // the expiry clock

	mu  sync.Mutex // serializes fetches; guards tok and exp
	tok []byte
	exp time.Time
}

func newRelayTokens(src relayTokenIssuer, nodeID string, timeout time.Duration) *relayTokens {
	return &relayTokens{src: src, nodeID: nodeID, timeout: timeout, now: time.Now}
}

// get returns the current relay token, fetching one first when there is
// none or it expires within relayTokenMargin.
func (r *relayTokens) get(ctx context.Context) ([]byte, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.tok != nil && r.exp.Sub(r.now()) > relayTokenMargin {
		return r.tok, nil
	}
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	tok, exp, err := r.src.RelayToken(ctx, r.nodeID)
	if err != nil {
		return nil, fmt.Errorf("relay token: %w", err)
	}
	r.tok, r.exp = []byte(tok), exp
	return r.tok, nil
}
