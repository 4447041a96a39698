package gossip

import "errors"

// Sentinel errors, wrapped with %w and the detail that explains them.
var (
	ErrMetaTooLarge  = errors.New("gossip: node metadata too large")
	ErrBadMeta       = errors.New("gossip: bad node metadata")
	ErrBadMessage    = errors.New("gossip: bad gossip message")
	ErrBadKey        = errors.New("gossip: bad encryption key")
	ErrNoKeys        = errors.New("gossip: no encryption key configured")
	ErrBadConfig     = errors.New("gossip: bad config")
	ErrMetaIDChange  = errors.New("gossip: node id cannot change")
	ErrNoCoordinate  = errors.New("gossip: no network coordinate for node")
	ErrUnknownMember = errors.New("gossip: unknown member")
	ErrShutdown      = errors.New("gossip: pool is shut down")
	// ErrLeaveUnconfirmed: the leave notice was not sent often enough before
	// the deadline; peers may see a failure until it reaches them.
	ErrLeaveUnconfirmed = errors.New("gossip: leave notice not confirmed")
)
