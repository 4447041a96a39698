package media

import (
	"context"
	"sync"
)

// EventKind says what changed in a hub.
type EventKind uint8

// Hub events. Relays announce and withdraw namespaces from them.
const (
	BroadcastAdded EventKind = iota + 1
	BroadcastRemoved
	TrackAdded
	TrackRemoved
)

// String returns a short name for logs.
func (k EventKind) String() string {
	switch k {
	case BroadcastAdded:
		return "broadcast-added"
	case BroadcastRemoved:
		return "broadcast-removed"
	case TrackAdded:
		return "track-added"
	case TrackRemoved:
		return "track-removed"
	default:
		return "unknown"
	}
}

// Event is one change in a hub. Track is empty for broadcast events.
type Event struct {
	Kind      EventKind
	Namespace Namespace
	Track     string
	Remote    bool // the broadcast is relayed from an upstream
}

// Watcher receives a hub's events in order. Its queue is unbounded because
// events are rare control-plane changes and a watcher must never block a
// publisher; an owner that stops reading must Close it.
type Watcher struct {
	h    *Hub
	wake chan struct{} // capacity 1: "queue not empty or closed"

	mu     sync.Mutex
	queue  []Event
	closed bool
}

func newWatcher(h *Hub) *Watcher {
	return &Watcher{h: h, wake: make(chan struct{}, 1)}
}

// Next returns the next event, waiting for one. After Close, or Hub.Close
// once the queue is drained, it returns ErrWatcherClosed.
func (w *Watcher) Next(ctx context.Context) (Event, error) {
	for {
		w.mu.Lock()
		if len(w.queue) > 0 {
			e := w.queue[0]
			w.queue[0] = Event{}
			w.queue = w.queue[1:]
			w.mu.Unlock()
			return e, nil
		}
		closed := w.closed
		w.mu.Unlock()
		if closed {
			return Event{}, ErrWatcherClosed
		}
		select {
		case <-w.wake:
		case <-ctx.Done():
			return Event{}, ctx.Err()
		}
	}
}

// Close stops the watcher and discards queued events.
func (w *Watcher) Close() {
	w.h.unwatch(w)
	w.mu.Lock()
	w.closed = true
	w.queue = nil
	w.mu.Unlock()
	w.poke()
}

func (w *Watcher) push(e Event) {
	w.mu.Lock()
	if !w.closed {
		w.queue = append(w.queue, e)
	}
	w.mu.Unlock()
	w.poke()
}

// end marks the watcher closed but lets it drain what is queued.
func (w *Watcher) end() {
	w.mu.Lock()
	w.closed = true
	w.mu.Unlock()
	w.poke()
}

func (w *Watcher) poke() {
	select {
	case w.wake <- struct{}{}:
	default:
	}
}
