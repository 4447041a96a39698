package media

import (
	"context"
	"errors"
	"io"
	"sync/atomic"
	"time"
)

// Subscription is one subscriber's cursor over a track. NextGroup and Next
// must be called from one goroutine at a time; the GroupReaders it returns
// are independent and may each be drained by their own goroutine (one per
// QUIC stream).
type Subscription struct {
	t    *Track
	last *group // last group handed out; nil before the first
	// first and firstStart locate the group to start at: the newest at
	// subscribe time, or the next one to be created if there was none.
	first      uint64
	firstStart uint64
	cur        *GroupReader // Next's current group; points at own
	own        GroupReader
	closed     atomic.Bool
	maxLag     atomic.Int64 // nanoseconds; 0: skip only on eviction

	groups  atomic.Uint64
	objects atomic.Uint64
	skipped atomic.Uint64 // whole groups skipped
	dropped atomic.Uint64 // objects never delivered: skipped groups plus abandoned tails
}

// SubscriptionStats counts what a subscriber received and lost.
type SubscriptionStats struct {
	Groups         uint64 // groups handed out
	Objects        uint64 // objects delivered
	SkippedGroups  uint64 // groups jumped over after falling behind
	DroppedObjects uint64 // objects lost to skipping or evicted groups
}

// Subscribe returns a cursor that starts at the newest group: a late joiner
// begins at the latest keyframe; with no group yet, it starts at the first
// group to come.
func (t *Track) Subscribe() *Subscription {
	t.subscribers.Add(1)
	s := &Subscription{t: t}
	t.mu.Lock()
	if n := len(t.groups); n > 0 {
		s.first, s.firstStart = t.groups[n-1].seq, t.groups[n-1].start
	} else {
		s.first, s.firstStart = t.nextSeq, t.total
	}
	t.mu.Unlock()
	return s
}

// SetMaxLag bounds how far behind the newest group the subscriber may
// fall before it skips: once a newer group has been going for longer than
// d, a reader still in an older group abandons it (ErrFellBehind) and
// NextGroup jumps to the newest group, so under overload the delay stays
// near one group plus d instead of growing to the whole retention. A
// subscriber that keeps up finishes each group before then and loses
// nothing. 0 (the default) skips only groups evicted from retention; use
// it for tracks whose every object matters (input, catalog).
func (s *Subscription) SetMaxLag(d time.Duration) { s.maxLag.Store(int64(max(d, 0))) }

// behind reports whether a reader in g has exceeded the subscription's lag.
func (s *Subscription) behind(g *group) bool {
	lag := s.maxLag.Load()
	if lag == 0 {
		return false
	}
	sa := g.superseded.Load()
	return sa != 0 && monoNow()-sa > lag
}

// Track returns the subscribed track.
func (s *Subscription) Track() *Track { return s.t }

// Stats returns the subscriber's counters; safe from any goroutine.
func (s *Subscription) Stats() SubscriptionStats {
	return SubscriptionStats{
		Groups:         s.groups.Load(),
		Objects:        s.objects.Load(),
		SkippedGroups:  s.skipped.Load(),
		DroppedObjects: s.dropped.Load(),
	}
}

// Close releases the subscription; later reads return ErrTrackEnded.
func (s *Subscription) Close() {
	if !s.closed.Swap(true) {
		s.t.subscribers.Add(-1)
	}
}

// NextGroup returns a reader for the group after the last one returned. It
// waits for the group to start. A subscriber whose next group has already
// been evicted skips to the newest group; the loss is counted in Stats.
// After the track is closed and its groups handed out it returns
// ErrTrackEnded.
func (s *Subscription) NextGroup(ctx context.Context) (*GroupReader, error) {
	g, err := s.nextGroup(ctx)
	if err != nil {
		return nil, err
	}
	return &GroupReader{s: s, g: g}, nil
}

func (s *Subscription) nextGroup(ctx context.Context) (*group, error) {
	for {
		sig := s.t.sig.Load()
		wake := sig.arm()
		g, err := s.tryNextGroup()
		if err != nil {
			return nil, err
		}
		if g != nil {
			s.groups.Add(1)
			return g, nil
		}
		select {
		case <-wake:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

func (s *Subscription) tryNextGroup() (*group, error) {
	if s.closed.Load() {
		return nil, ErrTrackEnded
	}
	t := s.t
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.groups) == 0 {
		if t.closed.Load() {
			return nil, ErrTrackEnded
		}
		return nil, nil
	}
	oldest, newest := t.groups[0], t.groups[len(t.groups)-1]
	want, wantStart := s.first, s.firstStart
	if s.last != nil {
		// last is complete whenever a newer group exists, which is the only
		// case where wantStart is used.
		want, wantStart = s.last.seq+1, s.last.start+uint64(s.last.count())
	}
	switch {
	case want > newest.seq:
		if t.closed.Load() {
			return nil, ErrTrackEnded
		}
		return nil, nil
	case want < oldest.seq || want < newest.seq && s.behind(t.groups[want-oldest.seq]):
		// Evicted, or behind the lag bound: jump to the newest group. The
		// groups in between are complete, so the objects lost are the
		// difference of track offsets.
		s.skipped.Add(newest.seq - want)
		s.dropped.Add(newest.start - wantStart)
		s.last = newest
		return newest, nil
	default:
		s.last = t.groups[want-oldest.seq]
		return s.last, nil
	}
}

// Next returns the next object in track order, moving to the next group at
// each group's end and past groups that were dropped. It shares its cursor
// with NextGroup; use one style per subscription.
func (s *Subscription) Next(ctx context.Context) (Object, error) {
	for {
		if s.cur == nil {
			g, err := s.nextGroup(ctx)
			if err != nil {
				return Object{}, err
			}
			// Reuse one reader so flat reading allocates nothing per group.
			s.own = GroupReader{s: s, g: g}
			s.cur = &s.own
		}
		o, err := s.cur.NextObject(ctx)
		switch {
		case err == nil:
			return o, nil
		case errors.Is(err, io.EOF), errors.Is(err, ErrGroupDropped):
			s.cur = nil
		default:
			return Object{}, err
		}
	}
}

// GroupReader reads the objects of one group, in order.
type GroupReader struct {
	s       *Subscription
	g       *group
	idx     int64
	dropped bool
}

// GroupID returns the group's ID.
func (r *GroupReader) GroupID() uint64 { return r.g.id }

// NextObject returns the group's next object, waiting for the publisher if
// needed. At the end of the group it returns io.EOF; if the group was evicted
// before being read to the end, ErrGroupDropped (reset the stream). The
// allocation-free fast path is a few atomic loads.
func (r *GroupReader) NextObject(ctx context.Context) (Object, error) {
	g := r.g
	for {
		if g.evicted.Load() {
			return Object{}, r.drop(ErrGroupDropped)
		}
		if r.s.behind(g) && r.idx < g.count() {
			return Object{}, r.drop(ErrFellBehind)
		}
		done := g.done.Load() // before load: done implies all objects visible
		if o, ok := g.load(r.idx); ok {
			r.idx++
			r.s.objects.Add(1)
			return o, nil
		}
		if done {
			return Object{}, io.EOF
		}
		sig := r.s.t.sig.Load()
		wake := sig.arm()
		if g.evicted.Load() || g.done.Load() || r.idx < g.count() {
			continue
		}
		select {
		case <-wake:
		case <-ctx.Done():
			return Object{}, ctx.Err()
		}
	}
}

func (r *GroupReader) drop(err error) error {
	if !r.dropped {
		r.dropped = true
		r.s.dropped.Add(uint64(r.g.count() - r.idx))
	}
	return err
}
