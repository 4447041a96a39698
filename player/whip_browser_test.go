package player_test

import (
	"context"
	"crypto/tls"
	"errors"
	"net/url"
	"testing"
	"time"

	"github.com/strata-edge/strata/api"
	"github.com/strata-edge/strata/internal/testcluster"
	"github.com/strata-edge/strata/player/playertest"
	"github.com/strata-edge/strata/transport/moq"
	"github.com/strata-edge/strata/transport/moq/wire"
	"github.com/strata-edge/strata/transport/msf"
)

// TestBrowserPlayerWHIP: a session published over WHIP (the test source's
// WHIP publisher) plays in the player over MoQ, from the catalog the edge
// writes for it, not over the WHEP fallback.
func TestBrowserPlayerWHIP(t *testing.T) {
	b := browser(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	rig, viewer := whipRig(ctx, t)
	tab := openPlaying(t, b, false, rig.EmbedURL(viewer.Token))
	s, err := tab.WaitStats(30*time.Second, func(s *playertest.Stats) bool {
		return s.State == "error" || (s.State == "playing" && s.FramesDecoded >= 30)
	})
	if err != nil || s.State == "error" {
		t.Fatalf("WHIP session in the player: %v %+v", err, s)
	}
	if s.Transport == nil || *s.Transport != "moq" || s.FallbackReason != nil {
		t.Fatalf("transport %v (fallback reason %q), want moq without fallback", derefS(s.Transport), derefS(s.FallbackReason))
	}
	t.Logf("whip over moq: first frame %.0f ms, %d frames decoded, audio %v", *s.FirstFrameMs, s.FramesDecoded, s.Audio)
}

// TestMoQTokenInURL: a MoQ client that can only put the viewer token in
// the WebTransport URL (?jwt=, the convention of browser MoQ libraries),
// with no AUTHORIZATION TOKEN anywhere, reads the catalog of a
// WHIP-published session and plays the video track it names; without
// the token it is refused.
func TestMoQTokenInURL(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	rig, viewer := whipRig(ctx, t)
	tc := &tls.Config{InsecureSkipVerify: true} //nolint:gosec // the loopback test edge's self-signed certificate
	dial := func(rawURL string) *moq.Session {
		s, err := moq.DialWebTransport(ctx, rawURL, tc, nil, moq.Config{})
		if err != nil {
			t.Fatalf("dial: %v", err)
		}
		t.Cleanup(func() { _ = s.Close() })
		return s
	}
	subscribe := func(s *moq.Session, track string) (*moq.Subscription, error) {
		return s.Subscribe(ctx, wire.Subscribe{Namespace: rig.Namespace.Tuple(), TrackName: track, Forward: true,
			GroupOrder: wire.GroupOrderAscending, Filter: wire.Filter{Type: wire.FilterLargestObject}})
	}

	// Without a token: refused.
	var re *moq.RequestError
	if _, err := subscribe(dial(viewer.MoQURL), msf.CatalogTrackName); !errors.As(err, &re) || re.Code != wire.SubscribeErrUnauthorized {
		t.Fatalf("no token: got %v, want UNAUTHORIZED", err)
	}

	s := dial(viewer.MoQURL + "?jwt=" + url.QueryEscape(viewer.Token))
	var cat *msf.Catalog
	for cat == nil || len(cat.Tracks) == 0 {
		sub, err := subscribe(s, msf.CatalogTrackName)
		if err != nil {
			t.Fatalf("catalog: %v", err)
		}
		o, err := sub.ReadObject(ctx)
		if err != nil {
			t.Fatalf("catalog object: %v", err)
		}
		_ = sub.Close()
		if cat, err = msf.Parse(o.Payload); err != nil {
			t.Fatalf("catalog: %v\n%s", err, o.Payload)
		}
	}
	var video *msf.Track
	for i := range cat.Tracks {
		if cat.Tracks[i].Role == msf.RoleVideo {
			video = &cat.Tracks[i]
		}
	}
	if video == nil || video.Codec == "" {
		t.Fatalf("catalog names no video track: %+v", cat.Tracks)
	}
	sub, err := subscribe(s, video.Name)
	if err != nil {
		t.Fatalf("subscribe %s: %v", video.Name, err)
	}
	defer sub.Close()
	keyframes, objects := 0, 0
	for keyframes < 2 {
		o, err := sub.ReadObject(ctx)
		if err != nil {
			t.Fatalf("after %d objects: %v", objects, err)
		}
		if o.Status != wire.StatusNormal {
			continue
		}
		objects++
		if o.ID == 0 && msf.H264IsKeyframe(o.Payload) {
			keyframes++
		}
	}
	t.Logf("token in the URL only: catalog names %s %s %dx%d; %d objects, %d keyframes", video.Name, video.Codec, video.Width, video.Height, objects, keyframes)
}

// whipRig starts a player rig whose test source publishes over WHIP, and
// a viewer grant for it; both end with the test.
func whipRig(ctx context.Context, t *testing.T) (*testcluster.PlayerRig, *api.ViewerAnswer) {
	t.Helper()
	rig, err := testcluster.StartPlayerRig(ctx, testcluster.PlayerRigOptions{Dir: t.TempDir(), WHIP: true})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(rig.Close)
	viewer, err := rig.Viewer(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	return rig, viewer
}
