package origin_test

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/strata-edge/strata/api"
	"github.com/strata-edge/strata/internal/testcluster"
	"github.com/strata-edge/strata/internal/testcluster/moqtest"
	"github.com/strata-edge/strata/internal/token"
	"github.com/strata-edge/strata/transport/media"
	"github.com/strata-edge/strata/transport/moq"
	"github.com/strata-edge/strata/transport/moq/wire"
)

// TestMediaPublishRelayView is the media plane end to end on loopback: a
// session placed on edge A gets a publisher token from the origin, a MoQ
// publisher announces to A, and a viewer routed to edge B receives the
// objects in order through B's relay (which locates A through the
// registry and authenticates with an origin-signed relay token). Bad,
// expired and misbound tokens are refused.
func TestMediaPublishRelayView(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	defer cancel()
	c := startCluster(t, 1)
	if err := c.StartEdgesAlive([]testcluster.EdgeSpec{
		testcluster.MediaEdgeSpec("edge-a", "eu", 48.8, 2.3),
		testcluster.MediaEdgeSpec("edge-b", "us", 40.7, -74),
	}, 20*time.Second); err != nil {
		t.Fatal(err)
	}
	cl := c.Client()
	ten, app, err := testcluster.GameApp(ctx, cl, "media")
	if err != nil {
		t.Fatal(err)
	}
	lat, lon := 48.8, 2.3
	ses, err := testcluster.PlaceSession(ctx, cl, api.SessionSpec{TenantID: ten.ID, AppID: app.ID, Region: "eu", Lat: &lat, Lon: &lon}, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if ses.Reservation.NodeID != "edge-a" {
		t.Fatalf("session placed on %s, want edge-a", ses.Reservation.NodeID)
	}
	ns := media.Namespace{Tenant: ten.ID, Session: ses.ID}

	pubAns, err := cl.Sessions().Publisher(ctx, ses.ID)
	if err != nil {
		t.Fatal(err)
	}
	if pubAns.Edge != "edge-a" || pubAns.MoQURL == "" || pubAns.WHIPURL == "" {
		t.Fatalf("publisher answer %+v: want edge-a with moq and whip urls", pubAns)
	}

	// A publisher token bound to edge A is refused by edge B.
	vlat, vlon := 40.7, -74.0
	viewAns, err := cl.Sessions().Viewer(ctx, ses.ID, api.ViewerRequest{Region: "us", Lat: &vlat, Lon: &vlon})
	if err != nil {
		t.Fatal(err)
	}
	if viewAns.Edge != "edge-b" {
		t.Fatalf("viewer routed to %s, want edge-b", viewAns.Edge)
	}
	tp, _ := moq.TokenParam([]byte(pubAns.Token))
	if _, err := testcluster.MustDialMoQ(ctx, t, viewAns.MoQURL).PublishNamespace(ctx, ns.Tuple(), wire.Parameters{tp}); err == nil {
		t.Fatal("edge-b accepted a publisher token bound to edge-a")
	}

	// Publish on A.
	ps := testcluster.MustDialMoQ(ctx, t, pubAns.MoQURL)
	tr, err := media.NewTrack(media.TrackInfo{Name: "video", Kind: media.KindVideo}, media.TrackOptions{MaxGroups: 64})
	if err != nil {
		t.Fatal(err)
	}
	var pubWG sync.WaitGroup
	t.Cleanup(func() {
		tr.Close()
		_ = ps.Close()
		pubWG.Wait()
	})
	if _, err := ps.PublishNamespace(ctx, ns.Tuple(), wire.Parameters{tp}); err != nil {
		t.Fatalf("publish namespace on edge-a: %v", err)
	}
	pubWG.Go(func() { moqtest.ServeTrack(ps, tr, &pubWG, moqtest.ServeOptions{}) })

	// Refusals on B: a tampered token, an expired one, one bound to A.
	vs := testcluster.MustDialMoQ(ctx, t, viewAns.MoQURL)
	key, ok := c.Nodes[0].Origin().Registry().State().ActiveSigningKey()
	if !ok {
		t.Fatal("no signing key")
	}
	sign := func(cl token.Claims) string {
		tok, err := token.Sign(key.Private, key.ID, cl)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	now := time.Now()
	bad := map[string]string{
		"tampered":      viewAns.Token[:len(viewAns.Token)-4] + "AAAA",
		"expired":       sign(token.Claims{Issuer: "strata", Tenant: ten.ID, Session: ses.ID, Role: token.RoleViewer, IssuedAt: now.Add(-2 * time.Hour), ExpiresAt: now.Add(-time.Hour)}),
		"other node":    sign(token.Claims{Issuer: "strata", Tenant: ten.ID, Session: ses.ID, Role: token.RoleViewer, Node: "edge-a", IssuedAt: now, ExpiresAt: now.Add(time.Minute)}),
		"other session": sign(token.Claims{Issuer: "strata", Tenant: ten.ID, Session: "ses_other", Role: token.RoleViewer, IssuedAt: now, ExpiresAt: now.Add(time.Minute)}),
	}
	for name, tok := range bad {
		_, err := testcluster.SubscribeVideo(ctx, vs, ns, tok)
		var re *moq.RequestError
		if !errors.As(err, &re) {
			t.Errorf("%s token: subscribe err = %v, want a refusal", name, err)
		}
	}

	// The viewer on B: objects arrive in order through the relay.
	sub, err := testcluster.SubscribeVideo(ctx, vs, ns, viewAns.Token)
	if err != nil {
		t.Fatalf("subscribe on edge-b: %v", err)
	}
	const objs, wantGroups = 3, 5
	got := make(chan wire.Object, 256)
	readErr := make(chan error, 1)
	go func() {
		for {
			o, err := sub.ReadObject(ctx)
			if err != nil {
				readErr <- err
				return
			}
			if o.Status == wire.StatusNormal {
				got <- o
			}
		}
	}()
	// Publish a group per tick (a frame rate) until the viewer has whole
	// groups: the first may be joined mid-way, so count from the first
	// group that starts at object 0.
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	var g int
	var complete []uint64
	var cur *struct {
		group uint64
		next  uint64
	}
	for len(complete) < wantGroups {
		select {
		case <-ctx.Done():
			t.Fatalf("viewer got %d whole groups before the deadline", len(complete))
		case err := <-readErr:
			t.Fatalf("viewer read: %v", err)
		case <-tick.C:
			for i := range objs {
				payload := fmt.Appendf(nil, "g%06do%06d", g, i)
				if err := tr.Append(media.Object{Keyframe: i == 0, Payload: payload}); err != nil {
					t.Fatal(err)
				}
			}
			g++
		case o := <-got:
			if want := fmt.Sprintf("o%06d", o.ID); !strings.HasSuffix(string(o.Payload), want) {
				t.Fatalf("object %d/%d has payload %q", o.GroupID, o.ID, o.Payload)
			}
			switch {
			case cur == nil && o.ID != 0:
				continue // joined mid-group
			case cur == nil || o.GroupID != cur.group:
				if cur != nil && o.GroupID < cur.group {
					t.Fatalf("group %d after group %d", o.GroupID, cur.group)
				}
				if o.ID != 0 {
					t.Fatalf("group %d starts at object %d", o.GroupID, o.ID)
				}
				cur = &struct {
					group uint64
					next  uint64
				}{o.GroupID, 0}
			}
			if o.ID != cur.next {
				t.Fatalf("group %d: object %d, want %d", o.GroupID, o.ID, cur.next)
			}
			cur.next++
			if cur.next == objs {
				complete = append(complete, cur.group)
			}
		}
	}
	for i := 1; i < len(complete); i++ {
		if complete[i] != complete[i-1]+1 {
			t.Fatalf("groups %v are not consecutive", complete)
		}
	}

	// WHEP on A without a token, or with a bad one, is refused.
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}, Timeout: 5 * time.Second}
	defer hc.CloseIdleConnections()
	whep := strings.Replace(pubAns.WHIPURL, "/whip/", "/whep/", 1)
	for name, auth := range map[string]string{"none": "", "tampered": "Bearer " + bad["tampered"], "expired": "Bearer " + bad["expired"]} {
		req, _ := http.NewRequestWithContext(ctx, "POST", whep, strings.NewReader("v=0\r\n"))
		req.Header.Set("Content-Type", "application/sdp")
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatalf("whep %s: %v", name, err)
		}
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("whep with %s token: status %d, want 401", name, resp.StatusCode)
		}
	}
}
