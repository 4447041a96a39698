package edge

import "context"

// crashed is a context already done: Close with it stops at once, without
// a gossip leave, as a crash would.
func crashed() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}
