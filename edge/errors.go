package edge

import "errors"

// Sentinel errors, wrapped with %w and the detail that explains them.
var (
	// ErrInvalid is a bad configuration value; the message names the key.
	ErrInvalid = errors.New("edge: invalid configuration")
	// ErrNoNIC means the NIC capacity is neither configured nor readable.
	ErrNoNIC = errors.New("edge: nic capacity unknown")
	// ErrNoSeeds means no gossip seed could be found: none configured and
	// no origin listed one.
	ErrNoSeeds = errors.New("edge: no gossip seeds")
	// ErrClosed is returned by Drain on an edge that is already closed.
	ErrClosed = errors.New("edge: closed")
)
