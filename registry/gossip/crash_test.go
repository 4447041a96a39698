package gossip

import "context"

// crashed is a context already done: Close with it skips the graceful
// leave, so peers see a failure as after a crash.
func crashed() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}
