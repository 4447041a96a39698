package testsrc

import (
	"context"
	"errors"
	"sync"
)

// Run produces src's media and runs serve (a publisher serving it) side
// by side until ctx ends or either returns; the first to return cancels
// the other, so a failed publisher stops the source and a source error
// stops the publisher. It returns once both have, with their errors
// joined: nil when ctx ended them.
func Run(ctx context.Context, src *Source, serve func(context.Context) error) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	var runErr, serveErr error
	wg.Go(func() {
		defer cancel()
		runErr = src.Run(ctx)
	})
	wg.Go(func() {
		defer cancel()
		serveErr = serve(ctx)
	})
	wg.Wait()
	return errors.Join(runErr, serveErr)
}
