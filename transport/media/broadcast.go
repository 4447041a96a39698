package media

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
)

// Broadcast is one session's set of tracks under a namespace.
type Broadcast struct {
	ns     Namespace
	remote bool
	hub    *Hub // nil for a standalone broadcast
	done   chan struct{}
	issued time.Time // the publisher's credential; set before it is shared

	mu     sync.Mutex
	tracks map[string]*Track
	closed bool
}

// NewBroadcast returns a broadcast that is not in any hub, for tests and
// tools; Hub.Publish is the usual constructor.
func NewBroadcast(ns Namespace) (*Broadcast, error) {
	if err := ns.Validate(); err != nil {
		return nil, err
	}
	return newBroadcast(ns, nil, false), nil
}

func newBroadcast(ns Namespace, h *Hub, remote bool) *Broadcast {
	return &Broadcast{ns: ns, hub: h, remote: remote, done: make(chan struct{}), tracks: make(map[string]*Track)}
}

// Namespace returns the broadcast's namespace.
func (b *Broadcast) Namespace() Namespace { return b.ns }

// Remote reports whether the hub created the broadcast to hold tracks pulled
// from an upstream rather than published locally.
func (b *Broadcast) Remote() bool { return b.remote }

// Issued is when the credential of the broadcast's publisher was issued
// (PublishNewer); zero otherwise.
func (b *Broadcast) Issued() time.Time { return b.issued }

// Done is closed when the broadcast is closed or replaced.
func (b *Broadcast) Done() <-chan struct{} { return b.done }

// CreateTrack adds an empty track and announces it to hub watchers.
func (b *Broadcast) CreateTrack(info TrackInfo, opts TrackOptions) (*Track, error) {
	if opts.Frame == nil && b.hub != nil {
		opts.Frame = b.hub.frame
	}
	t, err := NewTrack(info, opts)
	if err != nil {
		return nil, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil, fmt.Errorf("%w: %s", ErrBroadcastClosed, b.ns)
	}
	if old, ok := b.tracks[info.Name]; ok && !old.Closed() {
		return nil, fmt.Errorf("%w: %s track %q", ErrTrackExists, b.ns, info.Name)
	}
	b.tracks[info.Name] = t
	b.emit(Event{Kind: TrackAdded, Namespace: b.ns, Track: info.Name, Remote: b.remote})
	return t, nil
}

// Track returns the named track if it exists and is open.
func (b *Broadcast) Track(name string) (*Track, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	t, ok := b.tracks[name]
	if !ok || t.Closed() {
		return nil, false
	}
	return t, true
}

// Tracks returns the open tracks ordered by name.
func (b *Broadcast) Tracks() []*Track {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := make([]*Track, 0, len(b.tracks))
	for _, t := range b.tracks {
		if !t.Closed() {
			out = append(out, t)
		}
	}
	slices.SortFunc(out, func(x, y *Track) int { return strings.Compare(x.info.Name, y.info.Name) })
	return out
}

// RemoveTrack closes and forgets the named track; it reports whether the
// track existed.
func (b *Broadcast) RemoveTrack(name string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	t, ok := b.tracks[name]
	if !ok {
		return false
	}
	delete(b.tracks, name)
	t.Close()
	b.emit(Event{Kind: TrackRemoved, Namespace: b.ns, Track: name, Remote: b.remote})
	return true
}

// Close ends every track and removes the broadcast from its hub.
func (b *Broadcast) Close() {
	if b.hub != nil {
		b.hub.remove(b)
		return
	}
	b.shutdown()
}

// shutdown closes the tracks; the hub calls it holding Hub.mu.
func (b *Broadcast) shutdown() bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return false
	}
	b.closed = true
	names := make([]string, 0, len(b.tracks))
	for name := range b.tracks {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		b.tracks[name].Close()
		b.emit(Event{Kind: TrackRemoved, Namespace: b.ns, Track: name, Remote: b.remote})
	}
	clear(b.tracks)
	close(b.done)
	return true
}

func (b *Broadcast) emit(e Event) {
	if b.hub != nil {
		b.hub.emit(e)
	}
}
