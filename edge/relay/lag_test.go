package relay

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/strata-edge/strata/internal/poll"
	"github.com/strata-edge/strata/transport/media"
	"github.com/strata-edge/strata/transport/moq"
)

// TestSlowViewerSkipsToNewest: with retention large enough that nothing is
// ever evicted, a stalled viewer still skips to the newest group once it
// is more than maxViewerLag behind, instead of replaying every retained
// group; a viewer that keeps up receives every object in order.
func TestSlowViewerSkipsToNewest(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	e := newEnv(t)
	// Retention never evicts in this test: any skip is the lag rule's.
	a := e.newEdge(Config{IngestTracks: []string{"video"}, NodeID: "a",
		Track: media.TrackOptions{MaxGroups: 1024, MaxBytes: 1 << 30}}, Deps{})
	p := e.publish(ctx, a.addr, false)
	select {
	case <-p.accepted:
	case <-ctx.Done():
		t.Fatal("edge never subscribed to the publisher")
	}

	// Enough objects to fill the stalled client's object queue and QUIC
	// windows, so the relay's writes to it block.
	const groups, objects, size = 20, 10, 32 << 10
	fast := e.watch(ctx, e.dial(ctx, a.addr, false, moq.Config{}), nil)
	gate := make(chan struct{})
	slow := e.watch(ctx, e.dial(ctx, a.addr, false, moq.Config{}), gate)
	poll.For(t, 10*time.Second, 5*time.Millisecond, func() error {
		if a.Stats().Subscribers == 2 {
			return nil
		}
		return errors.New("waiting for both viewers to subscribe")
	})

	var lastStart time.Time
	for g := range groups {
		lastStart = time.Now()
		p.appendGroup(t, g, objects, size)
		poll.For(t, 20*time.Second, 5*time.Millisecond, func() error {
			if fast.complete(uint64(g), objects) {
				return nil
			}
			return errors.New("waiting for fast viewer to get a group")
		})
	}
	p.track.EndGroup()
	if err := fast.check(0, groups-1, objects); err != nil {
		t.Fatalf("fast viewer: %v", err)
	}
	// The rule is about time: let the older groups fall past the bound.
	poll.For(t, 10*time.Second, 5*time.Millisecond, func() error {
		if time.Since(lastStart) > 2*maxViewerLag {
			return nil
		}
		return errors.New("waiting for the lag bound to pass")
	})
	close(gate)
	poll.For(t, 20*time.Second, 5*time.Millisecond, func() error {
		if slow.complete(groups-1, objects) {
			return nil
		}
		return errors.New("waiting for stalled viewer to reach the newest group")
	})
	if err := slow.check(groups-1, groups-1, objects); err != nil {
		t.Fatalf("stalled viewer's newest group: %v", err)
	}
	slow.mu.Lock()
	got := len(slow.groups)
	slow.mu.Unlock()
	if got >= groups {
		t.Fatalf("stalled viewer got all %d retained groups; want a skip to the newest", got)
	}
	if d := value(a.m.dropped); d < 1 {
		t.Fatalf("dropped groups metric %v", d)
	}
}
