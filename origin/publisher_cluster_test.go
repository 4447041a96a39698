package origin_test

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/strata-edge/strata/api"
	"github.com/strata-edge/strata/internal/poll"
	"github.com/strata-edge/strata/internal/testcluster"
	"github.com/strata-edge/strata/transport/media"
	"github.com/strata-edge/strata/transport/moq"
	"github.com/strata-edge/strata/transport/moq/wire"
)

// TestOnePublisherAndSourceGone: on a real origin and edge, a session has
// one publisher. A second one with the live publisher's token is refused
// over WHIP (409 publisher_live) and MoQ (UNAUTHORIZED); a newer token
// from the origin takes over and the old publisher's namespace is
// cancelled. The registry shows the source live, and gone within seconds
// of the publisher leaving.
func TestOnePublisherAndSourceGone(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	c := startCluster(t, 1)
	if err := c.StartEdgesAlive([]testcluster.EdgeSpec{testcluster.MediaEdgeSpec("edge-a", "eu", 48.8, 2.3)}, 20*time.Second); err != nil {
		t.Fatal(err)
	}
	cl := c.Client()
	ten, app, err := testcluster.GameApp(ctx, cl, "onepub")
	if err != nil {
		t.Fatal(err)
	}
	ses, err := testcluster.PlaceSession(ctx, cl, api.SessionSpec{TenantID: ten.ID, AppID: app.ID, Region: "eu"}, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	ns := media.Namespace{Tenant: ten.ID, Session: ses.ID}
	source := func(want api.SessionSource) func() error {
		return func() error {
			s, err := cl.Sessions().Get(ctx, ses.ID, "")
			if err != nil {
				return err
			}
			if s.Source != want || s.SourceChangedAt.IsZero() {
				return fmt.Errorf("session source %q (changed %v), want %q", s.Source, s.SourceChangedAt, want)
			}
			return nil
		}
	}
	announce := func(tok string) (*moq.Session, *moq.Announcement, error) {
		s := testcluster.MustDialMoQ(ctx, t, mustPublisher(ctx, t, cl, ses.ID).MoQURL)
		tp, _ := moq.TokenParam([]byte(tok))
		ann, err := s.PublishNamespace(ctx, ns.Tuple(), wire.Parameters{tp})
		return s, ann, err
	}

	first := mustPublisher(ctx, t, cl, ses.ID)
	_, firstAnn, err := announce(first.Token)
	if err != nil {
		t.Fatalf("first publisher: %v", err)
	}
	poll.For(t, 5*time.Second, 20*time.Millisecond, source(api.SourceLive))

	// The live token again, over MoQ and over WHIP: refused.
	_, _, err = announce(first.Token)
	var re *moq.RequestError
	if !errors.As(err, &re) || re.Code != wire.NamespaceErrUnauthorized || !strings.HasPrefix(re.Reason, "publisher_live") {
		t.Fatalf("second MoQ publisher: %v; want UNAUTHORIZED publisher_live", err)
	}
	status, code := whipPost(ctx, t, first.WHIPURL, first.Token)
	if status != http.StatusConflict || code != api.CodePublisherLive {
		t.Fatalf("second WHIP publisher: %d %q; want 409 %s", status, code, api.CodePublisherLive)
	}

	// A newer token from the origin takes over; the old one hears of it.
	newer := mustPublisher(ctx, t, cl, ses.ID)
	newerSess, _, err := announce(newer.Token)
	if err != nil {
		t.Fatalf("newer publisher: %v", err)
	}
	select {
	case <-firstAnn.Cancelled():
	case <-ctx.Done():
		t.Fatal("the replaced publisher's namespace was not cancelled")
	}
	if err := source(api.SourceLive)(); err != nil {
		t.Fatal(err)
	}

	// The publisher leaves: the registry shows it within seconds.
	left := time.Now()
	_ = newerSess.Close()
	poll.For(t, 5*time.Second, 20*time.Millisecond, source(api.SourceGone))
	t.Logf("source gone in the registry %v after the publisher left", time.Since(left).Round(time.Millisecond))

	// And it comes back: a returning publisher is live again.
	if _, _, err := announce(mustPublisher(ctx, t, cl, ses.ID).Token); err != nil {
		t.Fatalf("returning publisher: %v", err)
	}
	poll.For(t, 5*time.Second, 20*time.Millisecond, source(api.SourceLive))
}

func mustPublisher(ctx context.Context, t *testing.T, cl *api.Client, session string) *api.PublisherAnswer {
	t.Helper()
	p, err := cl.Sessions().Publisher(ctx, session)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// whipPost offers a send-only video track to a WHIP endpoint and returns
// the status and the error code of the answer ("" for none).
func whipPost(ctx context.Context, t *testing.T, url, tok string) (int, api.Code) {
	t.Helper()
	pc, err := webrtc.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	if _, err := pc.AddTransceiverFromKind(webrtc.RTPCodecTypeVideo, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly}); err != nil {
		t.Fatal(err)
	}
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}, Timeout: 10 * time.Second} //nolint:gosec // loopback test edge
	defer hc.CloseIdleConnections()
	req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(offer.SDP))
	req.Header.Set("Content-Type", "application/sdp")
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	var er api.ErrorResponse
	_ = json.Unmarshal(body, &er)
	return resp.StatusCode, er.Error.Code
}
