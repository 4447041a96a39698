package relay

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/strata-edge/strata/internal/pki"
	"github.com/strata-edge/strata/internal/token"
	"github.com/strata-edge/strata/transport/media"
	"github.com/strata-edge/strata/transport/moq"
)

// Source is the edge a remote broadcast is relayed from.
type Source struct {
	// Addr is the host:port of its MoQ UDP port.
	Addr string
	// NodeID is its node ID: its cluster certificate must name it, so a
	// stale address now answered by another edge is refused.
	NodeID string
}

// Locator names the edge that ingests a broadcast. The edge wiring fills
// it from the registry; tests use a static map.
type Locator func(ctx context.Context, ns media.Namespace) (Source, error)

// Config configures a Relay. Zero values mean the defaults.
type Config struct {
	// NodeID is this edge's ID; tokens bound to another node are refused.
	// Ignored with Deps.Authorizer.
	NodeID string
	// Linger is how long an upstream track without viewers stays open.
	Linger time.Duration
	// RetryMin and RetryMax bound the backoff between upstream retries.
	RetryMin, RetryMax time.Duration
	// IngestTracks are subscribed from a publisher as soon as it announces,
	// so late joiners find a keyframe; other tracks are pulled on demand.
	IngestTracks []string
	// Track bounds each hub track's retention.
	Track media.TrackOptions
	// MoQ tunes the sessions (limits, request window). Its AuthToken and
	// Logger are ignored.
	MoQ moq.Config
}

// Deps are a Relay's collaborators.
type Deps struct {
	// Keys verifies viewer, publisher and relay tokens. Required unless
	// Authorizer is set.
	Keys *token.KeySet
	// Authorizer, if set, replaces Keys, Config.NodeID and Now: the edge
	// shares one, over keys it refreshes from the origins, with WebRTC.
	Authorizer Authorizer
	// Hub is the node's track hub. If nil the relay makes its own (the
	// usual case: other ingest and egress paths share it via Hub()). A
	// caller-made hub must route its Upstream to Relay.Upstream, or remote
	// broadcasts and on-demand ingest will not work.
	Hub *media.Hub
	// Locator finds remote broadcasts; nil disables relaying.
	Locator Locator
	// Identity is the edge's cluster certificate, the one credential
	// edges accept from each other: relays dial with it and accept only
	// the cluster edge the Locator named, and Listen takes relay
	// connections (PeerServerName) only from cluster edges. Relay tokens
	// are taken only over such connections. Nil turns relaying between
	// edges off (ErrNoIdentity); local ingest and viewing still work.
	Identity *pki.Holder
	// RelayToken returns the relay-role token presented to other edges.
	RelayToken func() ([]byte, error)
	// Registerer receives the relay's metrics; nil leaves them
	// unregistered.
	Registerer prometheus.Registerer
	// Logger is nil for slog.Default().
	Logger *slog.Logger
	// Now is the clock for token checks; nil is time.Now. Ignored with
	// Authorizer.
	Now func() time.Time
}

// options is what the relay runs with: its config and collaborators,
// defaults applied.
type options struct {
	Config
	Deps
}

// Defaults for zero Config fields.
const (
	DefaultLinger   = 5 * time.Second
	DefaultRetryMin = 100 * time.Millisecond
	DefaultRetryMax = 5 * time.Second
)

func (o options) withDefaults() options {
	if o.Linger <= 0 {
		o.Linger = DefaultLinger
	}
	if o.RetryMin <= 0 {
		o.RetryMin = DefaultRetryMin
	}
	if o.RetryMax < o.RetryMin {
		o.RetryMax = max(DefaultRetryMax, o.RetryMin)
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// validate names the first unusable field. Every zero Config field means
// its default, so what can be wrong is a missing collaborator, or one
// that needs a Config field.
func (o options) validate() error {
	switch {
	case o.Keys == nil && o.Authorizer == nil:
		return fmt.Errorf("%w: Keys or Authorizer is required", ErrBadOptions)
	}
	return nil
}
