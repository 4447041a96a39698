package media

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
)

// Upstream obtains a track this node does not have, typically by
// subscribing to the edge that ingests the session. The hub calls it with
// the broadcast that will hold the track (created empty and marked remote if
// it did not exist) and the track name. It must create the track with
// b.CreateTrack and arrange for it to be fed, returning once the track
// exists or fetching failed; feeding outlives the call and is owned by the
// Upstream's implementation. The hub runs at most one call per namespace and
// track at a time, which gives "one upstream per track per edge".
type Upstream func(ctx context.Context, b *Broadcast, track string) error

// HubOptions configures a Hub.
type HubOptions struct {
	// Upstream, if set, is asked for tracks Subscribe cannot find locally.
	Upstream Upstream
	// Frame is the default TrackOptions.Frame of tracks created in the hub:
	// a node's senders frame each object once for all its subscribers.
	Frame func(o *Object)
}

// Hub is a node's index of broadcasts by namespace.
type Hub struct {
	upstream Upstream
	frame    func(o *Object)

	mu         sync.Mutex
	broadcasts map[Namespace]*Broadcast
	fetches    map[fetchKey]*fetch
	closed     bool

	wmu      sync.Mutex
	watchers map[*Watcher]struct{}
}

type fetchKey struct {
	ns    Namespace
	track string
}

// fetch is one in-flight Upstream call that concurrent subscribers share.
type fetch struct {
	done chan struct{}
	err  error
}

// NewHub returns an empty hub.
func NewHub(opts HubOptions) *Hub {
	return &Hub{
		upstream:   opts.Upstream,
		frame:      opts.Frame,
		broadcasts: make(map[Namespace]*Broadcast),
		fetches:    make(map[fetchKey]*fetch),
		watchers:   make(map[*Watcher]struct{}),
	}
}

// Publish creates the broadcast for ns, replacing (and closing) any existing
// one: a publisher that reconnects takes over its session's namespace.
func (h *Hub) Publish(ns Namespace) (*Broadcast, error) {
	return h.publish(ns, false)
}

// PublishNewer publishes ns for a publisher whose credential was issued
// at issued, keeping one publisher per namespace: while a broadcast
// published here (not relayed) is open under ns, it is replaced only by a
// strictly newer publisher, and anything else gets ErrPublisherLive. prev
// is that broadcast, replaced (and closed) or refusing; nil when there was
// none. A broadcast from Publish counts as issued at the zero time.
func (h *Hub) PublishNewer(ns Namespace, issued time.Time) (b, prev *Broadcast, err error) {
	if err := ns.Validate(); err != nil {
		return nil, nil, err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, nil, ErrHubClosed
	}
	if old, ok := h.broadcasts[ns]; ok && !old.remote {
		if !issued.After(old.issued) {
			return nil, old, fmt.Errorf("%w: %s", ErrPublisherLive, ns)
		}
		prev = old
	}
	b = h.publishLocked(ns, false)
	b.issued = issued
	return b, prev, nil
}

func (h *Hub) publish(ns Namespace, remote bool) (*Broadcast, error) {
	if err := ns.Validate(); err != nil {
		return nil, err
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, ErrHubClosed
	}
	return h.publishLocked(ns, remote), nil
}

func (h *Hub) publishLocked(ns Namespace, remote bool) *Broadcast {
	if old, ok := h.broadcasts[ns]; ok {
		h.dropLocked(old)
	}
	b := newBroadcast(ns, h, remote)
	h.broadcasts[ns] = b
	h.emit(Event{Kind: BroadcastAdded, Namespace: ns, Remote: remote})
	return b
}

// Broadcast returns the broadcast published under ns.
func (h *Hub) Broadcast(ns Namespace) (*Broadcast, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	b, ok := h.broadcasts[ns]
	return b, ok
}

// Namespaces lists the published namespaces in order.
func (h *Hub) Namespaces() []Namespace {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]Namespace, 0, len(h.broadcasts))
	for ns := range h.broadcasts {
		out = append(out, ns)
	}
	slices.SortFunc(out, compareNamespace)
	return out
}

// Subscribe subscribes to a track, asking the Upstream for it when it is not
// here. Concurrent subscribers of a missing track share one Upstream call,
// which runs under the first caller's ctx.
func (h *Hub) Subscribe(ctx context.Context, ns Namespace, track string) (*Subscription, error) {
	for asked := false; ; asked = true {
		h.mu.Lock()
		if h.closed {
			h.mu.Unlock()
			return nil, ErrHubClosed
		}
		b := h.broadcasts[ns]
		if b != nil {
			if t, ok := b.Track(track); ok {
				h.mu.Unlock()
				return t.Subscribe(), nil
			}
		}
		if h.upstream == nil || asked {
			h.mu.Unlock()
			return nil, fmt.Errorf("%w: %s track %q", ErrNotFound, ns, track)
		}
		key := fetchKey{ns: ns, track: track}
		f, waiting := h.fetches[key]
		if !waiting {
			f = &fetch{done: make(chan struct{})}
			h.fetches[key] = f
			if b == nil {
				if err := ns.Validate(); err != nil {
					delete(h.fetches, key)
					h.mu.Unlock()
					return nil, err
				}
				b = h.publishLocked(ns, true)
			}
		}
		h.mu.Unlock()
		if waiting {
			select {
			case <-f.done:
			case <-ctx.Done():
				return nil, ctx.Err()
			}
		} else {
			h.runFetch(ctx, key, f, b)
		}
		if f.err != nil {
			return nil, fmt.Errorf("media: upstream for %s track %q: %w", ns, track, f.err)
		}
	}
}

func (h *Hub) runFetch(ctx context.Context, key fetchKey, f *fetch, b *Broadcast) {
	f.err = h.upstream(ctx, b, key.track)
	h.mu.Lock()
	delete(h.fetches, key)
	// A relayed broadcast that ends up with nothing in it would only
	// advertise a namespace we cannot serve.
	if f.err != nil && b.remote && h.broadcasts[key.ns] == b && len(b.Tracks()) == 0 {
		h.dropLocked(b)
	}
	h.mu.Unlock()
	close(f.done)
}

// remove takes b out of the hub if it is still the current broadcast for
// its namespace, and closes it.
func (h *Hub) remove(b *Broadcast) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.broadcasts[b.ns] == b {
		h.dropLocked(b)
		return
	}
	b.shutdown()
}

func (h *Hub) dropLocked(b *Broadcast) {
	delete(h.broadcasts, b.ns)
	if b.shutdown() {
		h.emit(Event{Kind: BroadcastRemoved, Namespace: b.ns, Remote: b.remote})
	}
}

// Watch returns a watcher that first receives the current state as added
// events (every broadcast, then its tracks) and then every change.
func (h *Hub) Watch() *Watcher {
	w := newWatcher(h)
	h.mu.Lock()
	defer h.mu.Unlock()
	// Hold every broadcast's lock while taking the snapshot and registering,
	// so no track event lands between the two. Events are emitted while
	// holding Hub.mu or one Broadcast.mu, never waiting on another, so
	// holding several here cannot deadlock.
	bs := make([]*Broadcast, 0, len(h.broadcasts))
	for _, b := range h.broadcasts {
		bs = append(bs, b)
	}
	slices.SortFunc(bs, func(x, y *Broadcast) int { return compareNamespace(x.ns, y.ns) })
	for _, b := range bs {
		b.mu.Lock()
		defer b.mu.Unlock()
		w.queue = append(w.queue, Event{Kind: BroadcastAdded, Namespace: b.ns, Remote: b.remote})
		names := make([]string, 0, len(b.tracks))
		for name, t := range b.tracks {
			if !t.Closed() {
				names = append(names, name)
			}
		}
		slices.Sort(names)
		for _, name := range names {
			w.queue = append(w.queue, Event{Kind: TrackAdded, Namespace: b.ns, Track: name, Remote: b.remote})
		}
	}
	if h.closed {
		w.closed = true
		return w
	}
	h.wmu.Lock()
	h.watchers[w] = struct{}{}
	h.wmu.Unlock()
	w.poke()
	return w
}

func (h *Hub) unwatch(w *Watcher) {
	h.wmu.Lock()
	delete(h.watchers, w)
	h.wmu.Unlock()
}

func (h *Hub) emit(e Event) {
	h.wmu.Lock()
	defer h.wmu.Unlock()
	for w := range h.watchers {
		w.push(e)
	}
}

// Close closes every broadcast and ends the watchers after they drain.
func (h *Hub) Close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return
	}
	h.closed = true
	bs := make([]*Broadcast, 0, len(h.broadcasts))
	for _, b := range h.broadcasts {
		bs = append(bs, b)
	}
	slices.SortFunc(bs, func(x, y *Broadcast) int { return compareNamespace(x.ns, y.ns) })
	for _, b := range bs {
		h.dropLocked(b)
	}
	h.wmu.Lock()
	for w := range h.watchers {
		w.end()
	}
	clear(h.watchers)
	h.wmu.Unlock()
}

func compareNamespace(a, b Namespace) int {
	if c := strings.Compare(a.Tenant, b.Tenant); c != 0 {
		return c
	}
	return strings.Compare(a.Session, b.Session)
}
