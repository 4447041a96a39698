package media

import (
	"sync/atomic"
	"time"
)

// epoch anchors monoNow: monotonic nanoseconds that fit an atomic int64.
var epoch = time.Now()

// monoNow is the monotonic time since epoch; never zero.
func monoNow() int64 { return int64(time.Since(epoch)) + 1 }

// group is one group of a track. The publisher appends under Track.mu;
// readers read without locks: items and n are published atomically, and an
// element is written before n covers it, so a reader that sees n also sees
// every element below it.
type group struct {
	id  uint64
	seq uint64 // track-local position; contiguous, unlike group IDs
	// start is how many objects the track had before this group, so the
	// number of objects a subscriber skipped is a subtraction.
	start uint64

	// items points at a slice whose length equals its capacity; only the
	// first n elements are valid. It is replaced only when it grows.
	items   atomic.Pointer[[]Object]
	n       atomic.Int64
	done    atomic.Bool // no more objects will be added
	evicted atomic.Bool // dropped from retention; readers must abandon it
	// superseded is monoNow when the next group started, 0 before: how
	// long a reader still inside this group has been behind the newest.
	superseded atomic.Int64

	// Guarded by Track.mu.
	bytes  int64
	lastID uint64
	opened int64 // monoNow when the group started (AppendInput's age bound)
}

// initialGroupCap avoids regrowing for the first frames of a GOP.
const initialGroupCap = 16

// load returns object i if it has been published.
func (g *group) load(i int64) (Object, bool) {
	if i >= g.n.Load() {
		return Object{}, false
	}
	return (*g.items.Load())[i], true
}

// count returns how many objects are published.
func (g *group) count() int64 { return g.n.Load() }

// push appends o; the caller holds Track.mu.
func (g *group) push(o Object) {
	n := g.n.Load()
	var items []Object
	if p := g.items.Load(); p != nil {
		items = *p
	}
	if n == int64(len(items)) {
		grown := make([]Object, max(initialGroupCap, 2*len(items)))
		copy(grown, items)
		items = grown
		g.items.Store(&grown)
	}
	items[n] = o
	g.lastID = o.ID
	g.n.Store(n + 1)
}
