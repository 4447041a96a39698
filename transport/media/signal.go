package media

import "sync/atomic"

// signal wakes waiting readers. Readers arm it before re-checking state and
// then wait on ch; the publisher replaces and closes it only when armed, so
// appends nobody waits for cost no allocation, and one close wakes every
// waiter of a track without per-subscriber goroutines or channels.
//
// No wake-up is lost: a reader stores armed before re-checking, the
// publisher changes state before loading armed, and Go's synchronizing
// operations are sequentially consistent, so either the reader sees the new
// state or the publisher sees armed.
type signal struct {
	ch    chan struct{}
	armed atomic.Bool
}

func newSignal() *signal { return &signal{ch: make(chan struct{})} }

// arm marks the signal as awaited and returns the channel to wait on.
func (s *signal) arm() <-chan struct{} {
	s.armed.Store(true)
	return s.ch
}
