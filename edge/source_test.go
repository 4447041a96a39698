package edge

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/strata-edge/strata/api"
	"github.com/strata-edge/strata/internal/logging"
	"github.com/strata-edge/strata/internal/poll"
	"github.com/strata-edge/strata/transport/media"
)

// The reporter tells the origins a publisher arrived and left, retrying
// while no origin answers; a takeover is no report, and relayed
// broadcasts are not this edge's to report.
func TestSourceReporter(t *testing.T) {
	hub := media.NewHub(media.HubOptions{Upstream: func(_ context.Context, b *media.Broadcast, track string) error {
		_, err := b.CreateTrack(media.TrackInfo{Name: track, Kind: media.KindVideo}, media.TrackOptions{})
		return err
	}})
	defer hub.Close()
	var mu sync.Mutex
	var got []string
	failures := 1
	report := func(_ context.Context, session string, r api.SessionSourceReport) error {
		mu.Lock()
		defer mu.Unlock()
		if r.NodeID != "edge-1" {
			t.Errorf("report names node %q", r.NodeID)
		}
		if failures > 0 {
			failures--
			return &api.Error{Status: http.StatusServiceUnavailable, Code: api.CodeNoLeader}
		}
		got = append(got, session+"="+string(r.Source))
		return nil
	}
	rep := newSourceReporter(hub, report, "edge-1", logging.Discard())
	rep.retry = 10 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() { rep.run(ctx) })
	defer func() {
		cancel()
		wg.Wait()
	}()
	reported := func(want ...string) func() error {
		return func() error {
			mu.Lock()
			defer mu.Unlock()
			if !slices.Equal(got, want) {
				return fmt.Errorf("reports %v, want %v", got, want)
			}
			return nil
		}
	}

	ns := media.Namespace{Tenant: "t1", Session: "s1"}
	t0 := time.Now()
	if _, _, err := hub.PublishNewer(ns, t0); err != nil {
		t.Fatal(err)
	}
	poll.For(t, 10*time.Second, 5*time.Millisecond, reported("s1=live"))
	b, _, err := hub.PublishNewer(ns, t0.Add(time.Second)) // a takeover
	if err != nil {
		t.Fatal(err)
	}
	sub, err := hub.Subscribe(ctx, media.Namespace{Tenant: "t1", Session: "relayed"}, "video")
	if err != nil {
		t.Fatal(err)
	}
	sub.Close()
	b.Close()
	poll.For(t, 10*time.Second, 5*time.Millisecond, reported("s1=live", "s1=gone"))
}
