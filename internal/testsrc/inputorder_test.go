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
