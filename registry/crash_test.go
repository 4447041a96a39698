package registry

import "context"

// crashed is a context already done: Close with it skips the leadership
// transfer and stops at once, as a crash would.
func crashed() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}
