package testsrc

import (
	"cmp"
	"slices"
	"time"

	"github.com/strata-edge/strata/transport/moq/wire"
)

// The edge keeps input events as consecutive objects of one group and
// sends each group on one subgroup stream, so within a group they arrive
// in order; only at a group rollover can the new group's stream overtake
// the old one's tail. inputOrder holds objects of newer groups until the
// current group's end (the END_OF_GROUP the session reports when its
// stream finishes), so events are processed in (group, object) order.

// inputReorderWait bounds how long newer groups wait for an older group
// whose end never comes (its stream was reset): events must not stall.
const inputReorderWait = 250 * time.Millisecond

// maxInputHeld bounds the objects held for a late group's end.
const maxInputHeld = 1024

// inputOrder orders one subscription's input objects. The zero value is
// ready; objects of groups older than the current one are stale (their
// group was given up on) and are still processed, late rather than lost.
type inputOrder struct {
	cur     uint64 // the group being processed
	started bool
	ended   bool          // cur's END_OF_GROUP has been seen
	held    []wire.Object // objects of groups after cur, arrival order
	out     []wire.Object // ready for processing, in order
}

// waiting reports whether objects are held for an older group's end.
func (q *inputOrder) waiting() bool { return len(q.held) > 0 }

// add takes the next object to arrive.
func (q *inputOrder) add(o wire.Object) {
	if !q.started || q.ended && o.GroupID > q.cur && len(q.held) == 0 {
		q.cur, q.started, q.ended = o.GroupID, true, false
	}
	switch {
	case o.GroupID < q.cur:
		q.emit(o)
	case o.GroupID == q.cur:
		q.emit(o)
		if o.Status == wire.StatusEndOfGroup {
			q.ended = true
			q.advance()
		}
	default:
		q.held = append(q.held, o)
		if len(q.held) > maxInputHeld {
			q.giveUp()
		}
	}
}

// giveUp stops waiting for the current group's end and moves on to the
// oldest held group.
func (q *inputOrder) giveUp() {
	if len(q.held) > 0 {
		q.advance()
	}
}

// advance makes the oldest held group current and releases its objects,
// repeating while a released group is already complete.
func (q *inputOrder) advance() {
	for len(q.held) > 0 {
		slices.SortStableFunc(q.held, func(a, b wire.Object) int {
			return cmp.Or(cmp.Compare(a.GroupID, b.GroupID), cmp.Compare(a.ID, b.ID))
		})
		q.cur, q.ended = q.held[0].GroupID, false
		n := 0
		for n < len(q.held) && q.held[n].GroupID == q.cur {
			q.emit(q.held[n])
			q.ended = q.ended || q.held[n].Status == wire.StatusEndOfGroup
			n++
		}
		q.held = append(q.held[:0], q.held[n:]...)
		if !q.ended {
			return
		}
	}
}

// emit queues a normal object with a payload for processing.
func (q *inputOrder) emit(o wire.Object) {
	if o.Status == wire.StatusNormal && len(o.Payload) > 0 {
		q.out = append(q.out, o)
	}
}

// ready returns the objects to process now, in order, and forgets them.
func (q *inputOrder) ready() []wire.Object {
	out := q.out
	q.out = nil
	return out
}

// inputPos is an object's location on the input track.
type inputPos struct{ group, id uint64 }

// after reports whether p comes after q in track order.
func (p inputPos) after(q inputPos) bool {
	return p.group > q.group || p.group == q.group && p.id > q.id
}

// inputSeen remembers, across the source's subscriptions to the input
// track, the last event it processed. A new subscription starts at the
// newest group (readInput), whose earlier events were processed already
// if it is the group the previous subscription ended in; processing them
// again would replay inputs (a second keydown). So a subscription skips
// every event at or before the last one processed before it began; what
// arrives late within a subscription (a given-up group's tail, see
// inputOrder) is still processed.
//
// Reset: a track's group IDs only grow while it lives, and a new
// subscription starts at or after every group already processed. A new
// subscription whose first object lies in an earlier group therefore
// reads a new track instance whose numbering restarted (the edge
// restarted, or the broadcast was ingested anew): the memory is dropped
// and nothing is skipped, so old positions never block new events. A new
// connection is a new Publisher, which starts with no memory.
type inputSeen struct {
	last     inputPos // the greatest position processed
	have     bool     // last is set
	skip     inputPos // this subscription skips positions at or before it
	skipping bool     // skip is set
	fresh    bool     // no object of this subscription has arrived yet
}

// subscribed starts a new subscription.
func (s *inputSeen) subscribed() {
	s.skip, s.skipping, s.fresh = s.last, s.have, true
}

// keep reports whether an arriving object is to be processed: all but
// the events this subscription replays. Status objects (group ends, which
// inputOrder waits for) are always kept.
func (s *inputSeen) keep(o wire.Object) bool {
	if s.fresh {
		s.fresh = false
		if s.skipping && o.GroupID < s.skip.group { // a restarted track
			s.skipping, s.have = false, false
		}
	}
	if o.Status != wire.StatusNormal || !s.skipping {
		return true
	}
	return inputPos{o.GroupID, o.ID}.after(s.skip)
}

// processed records an event as processed.
func (s *inputSeen) processed(group, id uint64) {
	if p := (inputPos{group, id}); !s.have || p.after(s.last) {
		s.last, s.have = p, true
	}
}
