package testsrc_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/strata-edge/strata/api"
	"github.com/strata-edge/strata/internal/poll"
	"github.com/strata-edge/strata/internal/testcluster"
	"github.com/strata-edge/strata/internal/testsrc"
	"github.com/strata-edge/strata/transport/media"
	"github.com/strata-edge/strata/transport/moq"
	"github.com/strata-edge/strata/transport/moq/wire"
	"github.com/strata-edge/strata/transport/msf"
)

// startWHIPEdge runs one origin and one media edge and returns a placed
// session's namespace with its publisher and viewer answers.
func startWHIPEdge(ctx context.Context, t *testing.T) (media.Namespace, *api.PublisherAnswer, *api.ViewerAnswer) {
	t.Helper()
	c, err := testcluster.Start(testcluster.Options{Origins: 1, Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	if err := c.StartEdgesAlive([]testcluster.EdgeSpec{testcluster.MediaEdgeSpec("edge-w", "eu", 48.8, 2.3)}, 20*time.Second); err != nil {
		t.Fatal(err)
	}
	cl := c.Client()
	ten, app, err := testcluster.GameApp(ctx, cl, "whip")
	if err != nil {
		t.Fatal(err)
	}
	lat, lon := 48.8, 2.3
	ses, err := testcluster.PlaceSession(ctx, cl, api.SessionSpec{TenantID: ten.ID, AppID: app.ID, Region: "eu", Lat: &lat, Lon: &lon}, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := cl.Sessions().Publisher(ctx, ses.ID)
	if err != nil {
		t.Fatal(err)
	}
	view, err := cl.Sessions().Viewer(ctx, ses.ID, api.ViewerRequest{})
	if err != nil {
		t.Fatal(err)
	}
	if pub.WHIPURL == "" || view.MoQURL == "" {
		t.Fatalf("publisher %+v, viewer %+v: want a WHIP URL and a MoQ URL", pub, view)
	}
	return media.Namespace{Tenant: ten.ID, Session: ses.ID}, pub, view
}

// withoutAUD drops access unit delimiters, which RTP does not carry.
func withoutAUD(au []byte) [][]byte {
	var out [][]byte
	for _, n := range msf.SplitAnnexB(au) {
		if n[0]&0x1f != 9 {
			out = append(out, n)
		}
	}
	return out
}

// TestTestsrcWHIPThroughEdge: the WHIP publisher feeds a real edge; a MoQ
// viewer there gets the clip's keyframes byte for byte (so decodable) and
// capture times that are the source's frame slots, not the edge's
// receive times; stopping DELETEs the WHIP session, ending the broadcast.
func TestTestsrcWHIPThroughEdge(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	ns, pub, view := startWHIPEdge(ctx, t)
	src, clip := newSource(t, testsrc.SourceOptions{NoInput: true})
	runCtx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() {
		stop()
		wg.Wait()
	}()
	var runErr, serveErr error
	wg.Go(func() { runErr = src.Run(runCtx) })
	p, err := testsrc.DialWHIP(ctx, src, testsrc.WHIPConfig{URL: pub.WHIPURL, Token: []byte(pub.Token),
		TLS: &tls.Config{InsecureSkipVerify: true}}) //nolint:gosec // loopback test edge
	if err != nil {
		t.Fatal(err)
	}
	wg.Go(func() { serveErr = p.Serve(runCtx) })

	viewer, err := testcluster.DialMoQ(ctx, view.MoQURL)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = viewer.Close() }()
	var sub *moq.Subscription
	// The edge has the track once the first RTP frame arrived.
	poll.For(t, 20*time.Second, 20*time.Millisecond, func() error {
		sub, err = testcluster.SubscribeVideo(ctx, viewer, ns, view.Token)
		if err != nil {
			return fmt.Errorf("subscribe video: %w", err)
		}
		return nil
	})
	var firstTS uint64
	keyframes, frames := 0, 0
	for keyframes < 2 {
		o, err := sub.ReadObject(ctx)
		if err != nil {
			t.Fatalf("video after %d frames: %v", frames, err)
		}
		if o.Status != wire.StatusNormal {
			continue
		}
		recv := time.Now().UnixMicro()
		ts := props(t, o).Timestamp
		if ts > uint64(recv) || uint64(recv)-ts > uint64(10*time.Second/time.Microsecond) {
			t.Fatalf("frame %d: capture time %d µs, received at %d", frames, ts, recv)
		}
		if firstTS == 0 {
			firstTS = ts
		}
		// Source slots are 1/30 s apart: 30 × the offset is a whole second
		// up to the microsecond rounding of each stamp.
		if r := (ts - firstTS) * testsrc.ClipFramerate % 1_000_000; r > 2*testsrc.ClipFramerate && r < 1_000_000-2*testsrc.ClipFramerate {
			t.Fatalf("frame %d: capture time %d is not on the source's frame grid from %d (off by %d/30 µs)", frames, ts, firstTS, r)
		}
		frames++
		if !msf.H264IsKeyframe(o.Payload) {
			continue
		}
		got := withoutAUD(o.Payload)
		match := false
		for i, au := range clip.Video {
			if clip.Keyframe[i] && slicesEqual(got, withoutAUD(au)) {
				match = true
			}
		}
		if !match {
			t.Fatalf("keyframe of %d bytes matches none of the clip's", len(o.Payload))
		}
		keyframes++
	}
	if v, _ := p.Packets(); v == 0 {
		t.Fatal("publisher counts no video packets")
	}
	stop()
	wg.Wait()
	if runErr != nil || serveErr != nil {
		t.Fatalf("source: %v, whip: %v", runErr, serveErr)
	}
	// DELETE closed the edge's broadcast, which ends the subscription.
	rctx, rcancel := context.WithTimeout(ctx, 15*time.Second)
	defer rcancel()
	for {
		if _, err := sub.ReadObject(rctx); err != nil {
			if rctx.Err() != nil {
				t.Fatal("subscription still open 15 s after the WHIP session was deleted")
			}
			break
		}
	}
}

func slicesEqual(a, b [][]byte) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if !bytes.Equal(a[i], b[i]) {
			return false
		}
	}
	return true
}

// TestTestsrcWHIPRefusals: the client's answer to each refusal: busy
// endpoints are retried, honouring Retry-After; others fail at once.
func TestTestsrcWHIPRefusals(t *testing.T) {
	for _, tc := range []struct {
		name     string
		statuses []int
		want     error
	}{
		{"busy until out of attempts", []int{503, 503, 503}, testsrc.ErrWHIPUnavailable},
		{"busy then unauthorized", []int{503, 401}, testsrc.ErrWHIPUnauthorized},
		{"bad offer", []int{400}, testsrc.ErrWHIPRejected},
		{"rate limited then unsupported", []int{429, 422}, testsrc.ErrWHIPRejected},
		{"created with an unusable answer", []int{201}, testsrc.ErrWHIPRejected},
		{"server errors retried", []int{500, 502, 400}, testsrc.ErrWHIPRejected},
		{"redirected with the offer and token", []int{307, 401}, testsrc.ErrWHIPUnauthorized},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var calls atomic.Int32
			srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				n := int(calls.Add(1)) - 1
				offer, _ := io.ReadAll(r.Body)
				if r.Method != http.MethodPost || r.Header.Get("Authorization") != "Bearer tok" ||
					r.Header.Get("Content-Type") != "application/sdp" || !bytes.HasPrefix(offer, []byte("v=0")) || n >= len(tc.statuses) {
					w.WriteHeader(http.StatusTeapot)
					return
				}
				st := tc.statuses[n]
				if st == 503 {
					w.Header().Set("Retry-After", "0")
				}
				switch st {
				case 201:
					w.Header().Set("Location", "/whip/t/s/r1")
				case 307:
					w.Header().Set("Location", "/whip/t/s?moved=1")
				}
				w.WriteHeader(st)
				_, _ = w.Write([]byte("v=0\r\n"))
			}))
			defer srv.Close()
			src, _ := newSource(t, testsrc.SourceOptions{NoInput: true})
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			_, err := testsrc.DialWHIP(ctx, src, testsrc.WHIPConfig{URL: srv.URL + "/whip/t/s", Token: []byte("tok"),
				TLS: srv.Client().Transport.(*http.Transport).TLSClientConfig, Attempts: 3, Backoff: time.Millisecond})
			if !errors.Is(err, tc.want) {
				t.Fatalf("err %v, want %v", err, tc.want)
			}
			if int(calls.Load()) < len(tc.statuses) {
				t.Fatalf("%d requests, want %d", calls.Load(), len(tc.statuses))
			}
		})
	}
}

// TestTestsrcWHIPErrorHidesRedirectToken: a redirect to another edge
// carries the token in the Location's query; when that edge cannot be
// reached the error, which gets logged, does not repeat it.
func TestTestsrcWHIPErrorHidesRedirectToken(t *testing.T) {
	closed := httptest.NewTLSServer(http.NotFoundHandler())
	gone := closed.URL
	closed.Close()
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Location", gone+"/whip/t/s?token=secret-token")
		w.WriteHeader(http.StatusTemporaryRedirect)
	}))
	defer srv.Close()
	src, _ := newSource(t, testsrc.SourceOptions{NoInput: true})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	_, err := testsrc.DialWHIP(ctx, src, testsrc.WHIPConfig{URL: srv.URL + "/whip/t/s", Token: []byte("tok"),
		TLS: srv.Client().Transport.(*http.Transport).TLSClientConfig, Attempts: 1, Backoff: time.Millisecond})
	if !errors.Is(err, testsrc.ErrWHIPUnavailable) || strings.Contains(err.Error(), "secret-token") {
		t.Fatalf("err %v: want %v naming no token", err, testsrc.ErrWHIPUnavailable)
	}
}
