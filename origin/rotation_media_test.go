package origin_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/strata-edge/strata/api"
	"github.com/strata-edge/strata/internal/testcluster"
	"github.com/strata-edge/strata/internal/testcluster/moqtest"
	"github.com/strata-edge/strata/transport/media"
	"github.com/strata-edge/strata/transport/moq"
	"github.com/strata-edge/strata/transport/moq/wire"
)

// TestMediaFlowsWhileCertificatesRotate: with certificates living a few
// seconds, a broadcast ingested on edge A and relayed by edge B over
// their mutual TLS keeps reaching a viewer on B while every node's
// certificate is renewed twice; a viewer that arrives after the
// rotations, on a new relay connection made with the renewed
// certificates, gets it too.
func TestMediaFlowsWhileCertificatesRotate(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	c, err := testcluster.Start(testcluster.Options{Origins: 1, Dir: t.TempDir(), CertValidity: 4 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	if err := c.StartEdgesAlive([]testcluster.EdgeSpec{
		testcluster.MediaEdgeSpec("edge-a", "eu", 48.8, 2.3),
		testcluster.MediaEdgeSpec("edge-b", "us", 40.7, -74),
	}, 20*time.Second); err != nil {
		t.Fatal(err)
	}
	cl := c.Client()
	ten, app, err := testcluster.GameApp(ctx, cl, "rotate")
	if err != nil {
		t.Fatal(err)
	}
	lat, lon := 48.8, 2.3
	ses, err := testcluster.PlaceSession(ctx, cl, api.SessionSpec{TenantID: ten.ID, AppID: app.ID, Region: "eu", Lat: &lat, Lon: &lon}, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	ns := media.Namespace{Tenant: ten.ID, Session: ses.ID}
	pubAns, err := cl.Sessions().Publisher(ctx, ses.ID)
	if err != nil {
		t.Fatal(err)
	}
	ps := testcluster.MustDialMoQ(ctx, t, pubAns.MoQURL)
	tr, err := media.NewTrack(media.TrackInfo{Name: "video", Kind: media.KindVideo}, media.TrackOptions{MaxGroups: 64})
	if err != nil {
		t.Fatal(err)
	}
	tp, _ := moq.TokenParam([]byte(pubAns.Token))
	if _, err := ps.PublishNamespace(ctx, ns.Tuple(), wire.Parameters{tp}); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	var serveWG sync.WaitGroup
	serveWG.Go(func() { moqtest.ServeTrack(ps, tr, &serveWG, moqtest.ServeOptions{}) })
	go func() {
		defer close(done)
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for g := 0; ctx.Err() == nil; g++ {
			<-tick.C
			if tr.Append(media.Object{Keyframe: true, Payload: fmt.Appendf(nil, "g%06d", g)}) != nil {
				return
			}
		}
	}()
	t.Cleanup(func() {
		cancel()
		tr.Close()
		_ = ps.Close()
		<-done
		serveWG.Wait()
	})

	// view subscribes on edge B and returns a channel of group IDs.
	vlat, vlon := 40.7, -74.0
	view := func() <-chan uint64 {
		ans, err := cl.Sessions().Viewer(ctx, ses.ID, api.ViewerRequest{Region: "us", Lat: &vlat, Lon: &vlon})
		if err != nil {
			t.Fatal(err)
		}
		sub, err := testcluster.SubscribeVideo(ctx, testcluster.MustDialMoQ(ctx, t, ans.MoQURL), ns, ans.Token)
		if err != nil {
			t.Fatalf("subscribe on %s: %v", ans.Edge, err)
		}
		out := make(chan uint64, 1024)
		go func() {
			defer close(out)
			for {
				o, err := sub.ReadObject(ctx)
				if err != nil {
					return
				}
				select {
				case out <- o.GroupID:
				default:
				}
			}
		}()
		return out
	}
	first := view()
	serials := func() []string {
		var s []string
		s = append(s, c.Nodes[0].Origin().Certificate().Certificate().Leaf.SerialNumber.String())
		for _, id := range []string{"edge-a", "edge-b"} {
			h, err := c.EdgeIdentity(id)
			if err != nil {
				t.Fatal(err)
			}
			s = append(s, h.Certificate().Leaf.SerialNumber.String())
		}
		return s
	}
	prev, renewals := serials(), 0
	last := time.Now()
	for renewals < 2 {
		select {
		case <-ctx.Done():
			t.Fatalf("certificates renewed %d times before the deadline", renewals)
		case _, ok := <-first:
			if !ok {
				t.Fatal("the first viewer's subscription ended while certificates rotated")
			}
			last = time.Now()
		case <-time.After(100 * time.Millisecond):
		}
		if gap := time.Since(last); gap > 2*time.Second {
			t.Fatalf("the first viewer got nothing for %s while certificates rotated", gap)
		}
		now := serials()
		all := true
		for i := range now {
			all = all && now[i] != prev[i]
		}
		if all {
			renewals++
			prev = now
		}
	}
	// Every node now holds a certificate issued after the relay between A
	// and B connected. Kill nothing: a fresh viewer on B reuses that relay;
	// what must hold is that it too gets objects.
	second := view()
	select {
	case <-second:
	case <-time.After(10 * time.Second):
		t.Fatal("a viewer arriving after the rotations got nothing")
	}
}
