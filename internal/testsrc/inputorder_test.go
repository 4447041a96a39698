package testsrc

import (
	"fmt"
	"slices"
	"testing"

	"github.com/strata-edge/strata/transport/moq/wire"
)

// TestInputOrder: objects arriving across a group rollover, the new
// group's stream overtaking the old one's tail, are processed in (group,
// object) order; a group whose end never comes is given up on.
func TestInputOrder(t *testing.T) {
	ev := func(g, id uint64) wire.Object {
		return wire.Object{GroupID: g, ID: id, Payload: fmt.Appendf(nil, "%d.%d", g, id)}
	}
	end := func(g, id uint64) wire.Object { return wire.Object{GroupID: g, ID: id, Status: wire.StatusEndOfGroup} }
	tests := []struct {
		name   string
		in     []wire.Object
		giveUp bool // give up waiting after the last object
		want   []string
	}{
		{"one group", []wire.Object{ev(5, 0), ev(5, 1), ev(5, 2)}, false, []string{"5.0", "5.1", "5.2"}},
		{"rollover in order", []wire.Object{ev(5, 0), end(5, 1), ev(6, 0), ev(6, 1)}, false, []string{"5.0", "6.0", "6.1"}},
		{"new group overtakes the tail", []wire.Object{ev(5, 0), ev(6, 0), ev(6, 1), ev(5, 1), end(5, 2), ev(6, 2)}, false,
			[]string{"5.0", "5.1", "6.0", "6.1", "6.2"}},
		{"two groups overtake", []wire.Object{ev(5, 0), ev(7, 0), ev(6, 0), end(6, 1), ev(5, 1), end(5, 2)}, false,
			[]string{"5.0", "5.1", "6.0", "7.0"}},
		{"held until the end", []wire.Object{ev(5, 0), ev(6, 0)}, false, []string{"5.0"}},
		{"old group never ends", []wire.Object{ev(5, 0), ev(6, 0), ev(6, 1)}, true, []string{"5.0", "6.0", "6.1"}},
		{"late object of a given-up group", []wire.Object{ev(5, 0), ev(6, 0)}, true, []string{"5.0", "6.0"}},
		{"first object of a later group", []wire.Object{ev(5, 0), end(5, 1), ev(9, 0)}, false, []string{"5.0", "9.0"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var q inputOrder
			var got []string
			for _, o := range tc.in {
				q.add(o)
				for _, r := range q.ready() {
					got = append(got, string(r.Payload))
				}
			}
			if tc.giveUp {
				q.giveUp()
				for _, r := range q.ready() {
					got = append(got, string(r.Payload))
				}
			}
			if !slices.Equal(got, tc.want) {
				t.Fatalf("processed %v, want %v", got, tc.want)
			}
		})
	}
}

// TestInputOrderBounded: objects held for a group that never ends are
// released once maxInputHeld is exceeded, in order.
func TestInputOrderBounded(t *testing.T) {
	var q inputOrder
	q.add(wire.Object{GroupID: 1, Payload: []byte("a")})
	n := 0
	for i := range maxInputHeld + 1 {
		q.add(wire.Object{GroupID: 2, ID: uint64(i), Payload: []byte("b")})
		n += len(q.ready())
	}
	if n != maxInputHeld+2 || q.waiting() {
		t.Fatalf("released %d of %d, waiting %v", n, maxInputHeld+2, q.waiting())
	}
}

// TestInputSeen: after a resubscription, which starts at the newest
// group, events processed before are skipped and later ones processed
// once; late objects within a subscription still count; a subscription
// that starts in an earlier group (a restarted track) drops the memory.
func TestInputSeen(t *testing.T) {
	ev := func(g, id uint64) wire.Object {
		return wire.Object{GroupID: g, ID: id, Payload: fmt.Appendf(nil, "%d.%d", g, id)}
	}
	end := func(g, id uint64) wire.Object { return wire.Object{GroupID: g, ID: id, Status: wire.StatusEndOfGroup} }
	tests := []struct {
		name string
		subs [][]wire.Object // one subscription each, in arrival order
		want []string
	}{
		{"replay of the newest group", [][]wire.Object{
			{ev(5, 0), ev(5, 1)},
			{ev(5, 0), ev(5, 1), ev(5, 2)},
		}, []string{"5.0", "5.1", "5.2"}},
		{"newest group is later", [][]wire.Object{
			{ev(5, 0), ev(5, 1)},
			{ev(6, 0), ev(6, 1)},
		}, []string{"5.0", "5.1", "6.0", "6.1"}},
		{"replay across a rollover", [][]wire.Object{
			{ev(5, 0), end(5, 1), ev(6, 0)},
			{ev(6, 0), ev(6, 1), end(6, 2), ev(7, 0)},
		}, []string{"5.0", "6.0", "6.1", "7.0"}},
		{"skipped events still order the groups", [][]wire.Object{
			{ev(5, 0), ev(5, 1)},
			{ev(5, 0), ev(6, 0), ev(5, 1), ev(5, 2), end(5, 3)},
		}, []string{"5.0", "5.1", "5.2", "6.0"}},
		{"restarted track with lower groups", [][]wire.Object{
			{ev(500, 0), ev(500, 1)},
			{ev(3, 0), ev(3, 1)},
			{ev(3, 0), ev(3, 1), ev(3, 2)},
		}, []string{"500.0", "500.1", "3.0", "3.1", "3.2"}},
		{"nothing processed yet", [][]wire.Object{
			{},
			{ev(5, 0)},
		}, []string{"5.0"}},
		{"a subscription without events keeps the memory", [][]wire.Object{
			{ev(5, 0), ev(5, 1)},
			{},
			{ev(5, 0), ev(5, 1), ev(5, 2)},
		}, []string{"5.0", "5.1", "5.2"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var seen inputSeen
			var got []string
			for _, sub := range tc.subs {
				seen.subscribed()
				var q inputOrder
				for _, o := range sub {
					if !seen.keep(o) {
						o.Payload = nil // as readInputOnce does
					}
					q.add(o)
					for _, r := range q.ready() {
						seen.processed(r.GroupID, r.ID)
						got = append(got, string(r.Payload))
					}
				}
			}
			if !slices.Equal(got, tc.want) {
				t.Fatalf("processed %v, want %v", got, tc.want)
			}
		})
	}
}
