package moq

import (
	"testing"

	"github.com/strata-edge/strata/transport/moq/wire"
)

func TestDataUrgency(t *testing.T) {
	tests := []struct {
		sub, pub uint8
		want     int8
	}{
		{0, 0, 1}, // audio as the player asks for it
		{1, 0, 2}, // video
		{2, 0, 3},
		{3, 0, 4}, {15, 0, 4},
		{16, 0, 5}, {127, 0, 5},
		{128, 0, 6}, {255, 0, 6},
		{0, 128, 2},
		{255, 255, 7},
	}
	for _, tc := range tests {
		if got := dataUrgency(tc.sub, tc.pub); got != tc.want {
			t.Errorf("dataUrgency(%d, %d) = %d, want %d", tc.sub, tc.pub, got, tc.want)
		}
		if u := dataUrgency(tc.sub, tc.pub); u <= urgencyControl || u > urgencyLowest {
			t.Errorf("urgency %d outside the data levels", u)
		}
	}
}

// prioStream records SetPriority calls, like a quic-go send stream.
type prioStream struct {
	bufStream
	urgency     int8
	incremental bool
	set         bool
}

func (p *prioStream) SetPriority(u int8, inc bool) { p.urgency, p.incremental, p.set = u, inc, true }

func TestPublicationPriorities(t *testing.T) {
	tests := []struct {
		name     string
		order    wire.GroupOrder
		subPrio  uint8
		wantNew  int8
		wantPrev int8
	}{
		{"ascending keeps the older group first", wire.GroupOrderAscending, 1, 2, 2},
		{"descending demotes the older group", wire.GroupOrderDescending, 1, 2, 3},
		{"audio ahead of video", wire.GroupOrderAscending, 0, 1, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := &Publication{subPrio: tc.subPrio, order: tc.order}
			prev, next := &prioStream{}, &prioStream{}
			p.prioritize(prev, 0)
			p.prioritize(next, 0)
			if !next.set || next.urgency != tc.wantNew || next.incremental {
				t.Fatalf("new stream urgency %d (set %v, incremental %v), want %d", next.urgency, next.set, next.incremental, tc.wantNew)
			}
			if prev.urgency != tc.wantPrev {
				t.Fatalf("previous stream urgency %d, want %d", prev.urgency, tc.wantPrev)
			}
			p.setSubscriberPriority(0)
			if next.urgency != dataUrgency(0, 0) {
				t.Fatalf("after SUBSCRIBE_UPDATE urgency %d", next.urgency)
			}
		})
	}
	// Streams without priorities (WebTransport) are left alone.
	(&Publication{}).prioritize(&bufStream{}, 0)
}
