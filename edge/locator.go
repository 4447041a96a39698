package edge

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/strata-edge/strata/api"
	"github.com/strata-edge/strata/edge/relay"
	"github.com/strata-edge/strata/transport/media"
)

// ingestRegistry is what the ingest locator reads from the origins.
type ingestRegistry interface {
	// Session reads a session; an error wrapping errNotInRegistry means
	// the origins have no such session.
	Session(ctx context.Context, id string) (api.Session, error)
	// Node reads a node's registration.
	Node(ctx context.Context, id string) (api.Node, error)
}

// ingestLocator answers the relay's question "which edge ingests this
// broadcast?": the session's reservation names the ingest edge, whose
// registered addrs.quic is dialed, and whose node ID its cluster
// certificate must name. Answers are cached for ttl, so a
// burst of viewers costs the origins one lookup; failures are not.
type ingestLocator struct {
	reg     ingestRegistry
	nodeID  string
	ttl     time.Duration
	timeout time.Duration    // bounds one lookup (both reads)
	now     func() time.Time // the cache's clock

	mu    sync.Mutex // guards cache; never held across a lookup
	cache map[media.Namespace]located
}

type located struct {
	src relay.Source
	exp time.Time
}

func newIngestLocator(reg ingestRegistry, nodeID string, ttl, timeout time.Duration) *ingestLocator {
	return &ingestLocator{reg: reg, nodeID: nodeID, ttl: ttl, timeout: timeout, now: time.Now,
		cache: map[media.Namespace]located{}}
}

// locate is the relay's Locator. A session with no reservation, one of
// another tenant, or one reserved here (but not published yet) is
// media.ErrNotFound, as is an ingest edge that serves no MoQ.
func (l *ingestLocator) locate(ctx context.Context, ns media.Namespace) (relay.Source, error) {
	l.mu.Lock()
	c, ok := l.cache[ns]
	l.mu.Unlock()
	if ok && l.now().Before(c.exp) {
		return c.src, nil
	}
	ctx, cancel := context.WithTimeout(ctx, l.timeout)
	defer cancel()
	s, err := l.reg.Session(ctx, ns.Session)
	if err != nil {
		if errors.Is(err, errNotInRegistry) {
			return relay.Source{}, fmt.Errorf("%w: session %s: %w", media.ErrNotFound, ns.Session, err)
		}
		return relay.Source{}, fmt.Errorf("locate %s: %w", ns, err)
	}
	if s.TenantID != ns.Tenant || s.Reservation == nil {
		return relay.Source{}, fmt.Errorf("%w: %s has no ingest edge", media.ErrNotFound, ns)
	}
	if s.Reservation.NodeID == l.nodeID {
		return relay.Source{}, fmt.Errorf("%w: %s is ingested here but not published", media.ErrNotFound, ns)
	}
	n, err := l.reg.Node(ctx, s.Reservation.NodeID)
	if err != nil {
		return relay.Source{}, fmt.Errorf("locate %s: node %s: %w", ns, s.Reservation.NodeID, err)
	}
	src := relay.Source{Addr: n.Addrs["quic"], NodeID: s.Reservation.NodeID}
	if src.Addr == "" {
		return relay.Source{}, fmt.Errorf("%w: ingest edge %s serves no MoQ", media.ErrNotFound, n.ID)
	}
	l.mu.Lock()
	l.cache[ns] = located{src: src, exp: l.now().Add(l.ttl)}
	l.mu.Unlock()
	return src, nil
}
