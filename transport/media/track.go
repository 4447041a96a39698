package media

import (
	"fmt"
	"sync"
	"sync/atomic"
)

// Track is one track's fan-out buffer: an append-only, bounded history of
// groups that any number of subscribers read with their own cursors. Append
// never blocks on subscribers; slow ones skip ahead instead.
type Track struct {
	info TrackInfo
	opts TrackOptions

	sig         atomic.Pointer[signal]
	closed      atomic.Bool
	done        chan struct{}
	subscribers atomic.Int64

	mu         sync.Mutex
	groups     []*group // retained, oldest first, contiguous seq
	bytes      int64
	nextSeq    uint64
	total      uint64 // objects ever appended
	hasGroup   bool
	lastGroup  uint64 // ID of the newest group ever started
	evGroups   uint64
	evObjects  uint64
	rejections uint64
}

// TrackStats is a snapshot for metrics.
type TrackStats struct {
	Groups         int    // retained groups
	Bytes          int64  // retained bytes as counted against MaxBytes
	Objects        uint64 // objects ever appended
	EvictedGroups  uint64
	EvictedObjects uint64
	Rejected       uint64 // objects refused with ErrGroupTooLarge
	Subscribers    int64
}

// NewTrack returns an open, empty track. Most callers create tracks through
// Broadcast.CreateTrack so that the hub announces them.
func NewTrack(info TrackInfo, opts TrackOptions) (*Track, error) {
	if err := info.Validate(); err != nil {
		return nil, err
	}
	t := &Track{info: info, opts: opts.withDefaults(), done: make(chan struct{})}
	t.sig.Store(newSignal())
	return t, nil
}

// Info returns the track description.
func (t *Track) Info() TrackInfo { return t.info }

// Done is closed when the track is closed.
func (t *Track) Done() <-chan struct{} { return t.done }

// Closed reports whether Close was called.
func (t *Track) Closed() bool { return t.closed.Load() }

// Append adds a frame, numbering it the way LOC and MSF expect: a keyframe
// starts a new group with the next group ID and object ID 0; any other frame
// gets the next object ID in the open group. A delta frame with no open group
// is refused with ErrNoKeyframe. The GroupID and ID fields of o are ignored.
func (t *Track) Append(o Object) error {
	if t.opts.Frame != nil {
		t.opts.Frame(&o)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed.Load() {
		return ErrTrackClosed
	}
	if o.Keyframe {
		id := t.opts.FirstGroupID
		if t.hasGroup {
			id = t.lastGroup + 1
		}
		t.startGroupLocked(id)
		o.ID = 0
		// If the keyframe is refused, pushLocked closes the group, so the
		// delta frames that follow are refused too.
		return t.pushLocked(o)
	}
	g := t.openLocked()
	if g == nil {
		return ErrNoKeyframe
	}
	o.ID = 0
	if g.count() > 0 {
		o.ID = g.lastID + 1
	}
	return t.pushLocked(o)
}

// StartGroup opens group id, ending the previous one. Relays use it with
// AppendObject to keep the upstream's numbering; IDs must increase.
func (t *Track) StartGroup(id uint64) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed.Load() {
		return ErrTrackClosed
	}
	if t.hasGroup && id <= t.lastGroup {
		return fmt.Errorf("%w: %d after %d", ErrGroupOrder, id, t.lastGroup)
	}
	t.startGroupLocked(id)
	t.notifyLocked()
	return nil
}

// AppendObject adds o to the group opened by StartGroup, keeping o.ID, which
// must increase within the group (gaps are allowed, as in MoQ).
func (t *Track) AppendObject(o Object) error {
	if t.opts.Frame != nil {
		t.opts.Frame(&o)
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed.Load() {
		return ErrTrackClosed
	}
	g := t.openLocked()
	if g == nil {
		return ErrNoKeyframe
	}
	if g.count() > 0 && o.ID <= g.lastID {
		return fmt.Errorf("%w: %d after %d in group %d", ErrObjectOrder, o.ID, g.lastID, g.id)
	}
	return t.pushLocked(o)
}

// EndGroup marks the open group complete, so readers of it see its end
// without waiting for the next keyframe. Appending a delta frame afterwards
// fails with ErrNoKeyframe.
func (t *Track) EndGroup() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if g := t.openLocked(); g != nil {
		g.done.Store(true)
		t.notifyLocked()
	}
}

// Close ends the track: readers drain what is retained and then get
// ErrTrackEnded. Close is idempotent.
func (t *Track) Close() {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.closed.Swap(true) {
		return
	}
	if g := t.openLocked(); g != nil {
		g.done.Store(true)
	}
	close(t.done)
	// Wake everyone unconditionally: closing is rare and must not depend on
	// the arming protocol.
	old := t.sig.Swap(newSignal())
	close(old.ch)
}

// Stats returns a snapshot of the track's counters.
func (t *Track) Stats() TrackStats {
	t.mu.Lock()
	defer t.mu.Unlock()
	return TrackStats{
		Groups:         len(t.groups),
		Bytes:          t.bytes,
		Objects:        t.total,
		EvictedGroups:  t.evGroups,
		EvictedObjects: t.evObjects,
		Rejected:       t.rejections,
		Subscribers:    t.subscribers.Load(),
	}
}

// openLocked returns the newest group if it still accepts objects.
func (t *Track) openLocked() *group {
	if len(t.groups) == 0 {
		return nil
	}
	g := t.groups[len(t.groups)-1]
	if g.done.Load() {
		return nil
	}
	return g
}

func (t *Track) startGroupLocked(id uint64) {
	if g := t.openLocked(); g != nil {
		g.done.Store(true)
	}
	if n := len(t.groups); n > 0 {
		t.groups[n-1].superseded.Store(monoNow())
	}
	g := &group{id: id, seq: t.nextSeq, start: t.total, opened: monoNow()}
	t.nextSeq++
	t.hasGroup = true
	t.lastGroup = id
	t.groups = append(t.groups, g)
	t.evictLocked()
}

func (t *Track) pushLocked(o Object) error {
	g := t.groups[len(t.groups)-1]
	sz := o.size()
	if g.bytes+sz > t.opts.MaxBytes {
		t.rejections++
		// Later frames of the group would depend on the refused one: close
		// the group so they are refused until the next keyframe.
		g.done.Store(true)
		t.notifyLocked()
		return fmt.Errorf("%w: group %d would hold %d bytes, budget %d", ErrGroupTooLarge, g.id, g.bytes+sz, t.opts.MaxBytes)
	}
	o.GroupID = g.id
	g.push(o)
	g.bytes += sz
	t.bytes += sz
	t.total++
	t.evictLocked()
	t.notifyLocked()
	return nil
}

// evictLocked drops the oldest groups until the budget holds. The newest
// group is never evicted; pushLocked keeps it within MaxBytes by itself.
func (t *Track) evictLocked() {
	for len(t.groups) > 1 && (len(t.groups) > t.opts.MaxGroups || t.bytes > t.opts.MaxBytes) {
		g := t.groups[0]
		g.evicted.Store(true)
		t.bytes -= g.bytes
		t.evGroups++
		t.evObjects += uint64(g.count())
		t.groups[0] = nil
		t.groups = t.groups[1:]
	}
}

// notifyLocked wakes waiting readers, if any.
func (t *Track) notifyLocked() {
	s := t.sig.Load()
	if !s.armed.Load() {
		return
	}
	t.sig.Store(newSignal())
	close(s.ch)
}
