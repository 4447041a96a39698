package relay

import (
	"context"
	"testing"
	"time"

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
	waitFor(t, "both viewers to subscribe", 10*time.Second, func() bool { return a.Stats().Subscribers == 2 })

	var lastStart time.Time
	for g := range groups {
		lastStart = time.Now()
		p.appendGroup(t, g, objects, size)
		waitFor(t, "fast viewer to get a group", 20*time.Second, func() bool { return fast.complete(uint64(g), objects) })
	}
	p.track.EndGroup()
	if err := fast.check(0, groups-1, objects); err != nil {
		t.Fatalf("fast viewer: %v", err)
	}
	// The rule is about time: let the older groups fall past the bound.
	waitFor(t, "the lag bound to pass", 10*time.Second, func() bool { return time.Since(lastStart) > 2*maxViewerLag })
	close(gate)
	waitFor(t, "stalled viewer to reach the newest group", 20*time.Second, func() bool {
		return slow.complete(groups-1, objects)
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
