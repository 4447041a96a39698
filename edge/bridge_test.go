package edge_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v4"
	pmedia "github.com/pion/webrtc/v4/pkg/media"
	"github.com/pion/webrtc/v4/pkg/media/samplebuilder"

	"github.com/strata-edge/strata/api"
	"github.com/strata-edge/strata/internal/poll"
	"github.com/strata-edge/strata/internal/testcluster"
	"github.com/strata-edge/strata/internal/testcluster/moqtest"
	"github.com/strata-edge/strata/transport/media"
	"github.com/strata-edge/strata/transport/moq"
	"github.com/strata-edge/strata/transport/moq/wire"
	"github.com/strata-edge/strata/transport/msf"
)

// TestWebRTCBridgeAcrossEdges proves the WebRTC bridge through MoQ
// relaying: sessions are ingested on edge A and watched on edge B. A WHIP
// publisher on A is received by a MoQ subscriber on B, and a MoQ
// publisher on A is played by a WHEP viewer on B. Both see whole H.264
// access units in order, starting with a keyframe.
func TestWebRTCBridgeAcrossEdges(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	// Edge B also exercises the WebRTC options: one viewer at most, ICE-TCP,
	// a public address (loopback, so peers still connect), a STUN server.
	cl, ten, app := startBridgeCluster(ctx, t, "bridge", func(b *testcluster.EdgeSpec) {
		b.Media.WebRTCMaxViewers = 1
		b.Media.WebRTCTCPAddr = "127.0.0.1:0"
		b.Media.WebRTCPublicIPs = []string{"127.0.0.1"}
		b.Media.WebRTCICEServers = []string{"stun:stun.example.net:3478"}
	})
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}, Timeout: 10 * time.Second}
	defer hc.CloseIdleConnections()

	t.Run("WHIP on A to MoQ on B", func(t *testing.T) {
		ns, pub, view := bridgeSession(ctx, t, cl, ten.ID, app.ID)
		p := startWHIP(ctx, t, hc, pub)
		defer p.stop()
		s := dialBridgeMoQ(ctx, t, view.MoQURL)
		var sub *moq.Subscription
		// The relay on B finds the track once A's hub has it.
		poll.For(t, 20*time.Second, 20*time.Millisecond, func() error {
			var err error
			sub, err = subscribeBridge(ctx, s, ns, view.Token)
			return err
		})
		var frames []int
		for len(frames) < 10 {
			o, err := sub.ReadObject(ctx)
			if err != nil {
				t.Fatalf("moq read on edge-b after %d frames: %v", len(frames), err)
			}
			if o.Status != wire.StatusNormal {
				continue
			}
			n, ok := bridgeFrameNumber(o.Payload)
			if !ok {
				t.Fatalf("object %d/%d is not a test access unit: % x", o.GroupID, o.ID, o.Payload[:min(len(o.Payload), 16)])
			}
			if len(frames) == 0 && !msf.H264IsKeyframe(o.Payload) {
				continue // joined before the first keyframe reached B
			}
			if len(frames) > 0 && n <= frames[len(frames)-1] {
				t.Fatalf("frame %d after %d", n, frames[len(frames)-1])
			}
			frames = append(frames, n)
		}
	})

	t.Run("MoQ on A to WHEP on B", func(t *testing.T) {
		ns, pub, view := bridgeSession(ctx, t, cl, ten.ID, app.ID)
		s := dialBridgeMoQ(ctx, t, pub.MoQURL)
		tr, err := media.NewTrack(media.TrackInfo{Name: msf.SessionVideoTrack, Kind: media.KindVideo}, media.TrackOptions{MaxGroups: 8})
		if err != nil {
			t.Fatal(err)
		}
		tp, err := moq.TokenParam([]byte(pub.Token))
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.PublishNamespace(ctx, ns.Tuple(), wire.Parameters{tp}); err != nil {
			t.Fatalf("publish namespace on edge-a: %v", err)
		}
		var wg sync.WaitGroup
		defer func() {
			tr.Close()
			_ = s.Close()
			wg.Wait()
		}()
		wg.Go(func() { moqtest.ServeTrack(s, tr, &wg, moqtest.ServeOptions{}) })
		pubCtx, stopPub := context.WithCancel(ctx)
		wg.Go(func() {
			tick := time.NewTicker(20 * time.Millisecond)
			defer tick.Stop()
			for n := 0; pubCtx.Err() == nil; n++ {
				_ = tr.Append(media.Object{Keyframe: n%10 == 0, Timestamp: time.Duration(n) * 20 * time.Millisecond,
					CaptureMicros: time.Now().UnixMicro(), Payload: bridgeFrame(n, n%10 == 0)})
				select {
				case <-tick.C:
				case <-pubCtx.Done():
				}
			}
		})
		defer stopPub()

		v, h, answer := startWHEP(ctx, t, hc, view)
		defer v.stop()
		if link := h.Get("Link"); !strings.Contains(link, "<stun:stun.example.net:3478>") || !strings.Contains(link, `rel="ice-server"`) {
			t.Errorf("Link = %q, want the configured STUN server", link)
		}
		if !strings.Contains(answer, " tcp ") || !strings.Contains(answer, "tcptype passive") {
			t.Errorf("answer lacks an ICE-TCP candidate:\n%s", answer)
		}
		// A viewer with B's token at A is sent to B.
		req := sdpRequest(ctx, t, strings.Replace(pub.WHIPURL, "/whip/", "/whep/", 1), view.Token, "v=0\r\n")
		noFollow := *hc
		noFollow.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
		resp, err := noFollow.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		if want := view.WHEPURL + "?token=" + view.Token; resp.StatusCode != http.StatusTemporaryRedirect || resp.Header.Get("Location") != want {
			t.Errorf("WHEP on edge-a with edge-b's token: %d Location %q, want 307 to %s", resp.StatusCode, resp.Header.Get("Location"), want)
		}
		// Edge B takes one viewer; the next is told to come back later.
		extra, err := bridgeAPI(t).NewPeerConnection(webrtc.Configuration{})
		if err != nil {
			t.Fatal(err)
		}
		defer extra.Close()
		if _, err := extra.AddTransceiverFromKind(webrtc.RTPCodecTypeVideo, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
			t.Fatal(err)
		}
		st, h2, _ := postOffer(ctx, t, hc, extra, view.WHEPURL, view.Token)
		if st != http.StatusServiceUnavailable || h2.Get("Retry-After") == "" {
			t.Errorf("second viewer on a full edge: %d, Retry-After %q; want 503 with Retry-After", st, h2.Get("Retry-After"))
		}
		poll.For(t, 30*time.Second, 20*time.Millisecond, func() error {
			if n := v.count(); n < 10 {
				return fmt.Errorf("whep viewer on edge-b has %d frames", n)
			}
			return nil
		})
		if err := v.check(); err != nil {
			t.Fatal(err)
		}
	})
}

// startBridgeCluster starts one origin and two media edges, edge-a (eu)
// and edge-b (us, its spec changed by editB when not nil), and creates a
// tenant of that name with an app for sessions.
func startBridgeCluster(ctx context.Context, t *testing.T, tenant string, editB func(*testcluster.EdgeSpec)) (*api.Client, *api.Tenant, *api.App) {
	t.Helper()
	c, err := testcluster.Start(testcluster.Options{Origins: 1, Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	specs := []testcluster.EdgeSpec{
		testcluster.MediaEdgeSpec("edge-a", "eu", 48.8, 2.3),
		testcluster.MediaEdgeSpec("edge-b", "us", 40.7, -74),
	}
	for i := range specs {
		specs[i].GPUs = "fake:2xL4:24GB"
	}
	if editB != nil {
		editB(&specs[1])
	}
	if err := c.StartEdgesAlive(specs, 20*time.Second); err != nil {
		t.Fatal(err)
	}
	cl := c.Client()
	ten, app, err := testcluster.GameApp(ctx, cl, tenant)
	if err != nil {
		t.Fatal(err)
	}
	return cl, ten, app
}

// bridgeSession creates a session placed on edge A and returns its
// namespace, the publisher answer (A) and a viewer answer routed to B.
func bridgeSession(ctx context.Context, t *testing.T, cl *api.Client, tenant, app string) (media.Namespace, *api.PublisherAnswer, *api.ViewerAnswer) {
	t.Helper()
	lat, lon := 48.8, 2.3
	ses, err := testcluster.PlaceSession(ctx, cl, api.SessionSpec{TenantID: tenant, AppID: app, Region: "eu", Lat: &lat, Lon: &lon}, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if ses.Reservation.NodeID != "edge-a" {
		t.Fatalf("session placed on %s, want edge-a", ses.Reservation.NodeID)
	}
	pub, err := cl.Sessions().Publisher(ctx, ses.ID)
	if err != nil {
		t.Fatal(err)
	}
	vlat, vlon := 40.7, -74.0
	view, err := cl.Sessions().Viewer(ctx, ses.ID, api.ViewerRequest{Region: "us", Lat: &vlat, Lon: &vlon})
	if err != nil {
		t.Fatal(err)
	}
	if pub.Edge != "edge-a" || view.Edge != "edge-b" || pub.WHIPURL == "" || view.WHEPURL == "" || view.MoQURL == "" || pub.MoQURL == "" {
		t.Fatalf("publisher %+v, viewer %+v: want WHIP and MoQ on edge-a, WHEP and MoQ on edge-b", pub, view)
	}
	return media.Namespace{Tenant: tenant, Session: ses.ID}, pub, view
}

// bridgeFrame is an H.264 access unit in Annex B (SPS, PPS and IDR for
// keyframes) whose slice carries "#n#" and filler enough to fragment.
func bridgeFrame(n int, key bool) []byte {
	var b bytes.Buffer
	if key {
		b.Write([]byte{0, 0, 0, 1, 0x67, 0x42, 0xc0, 0x1f, 0xda, 0x01, 0x40, 0x16, 0xe8})
		b.Write([]byte{0, 0, 0, 1, 0x68, 0xce, 0x3c, 0x80})
		b.Write([]byte{0, 0, 0, 1, 0x65})
	} else {
		b.Write([]byte{0, 0, 0, 1, 0x41})
	}
	fmt.Fprintf(&b, "#%d#", n)
	for b.Len() < 3000 {
		b.WriteByte(0xab)
	}
	return b.Bytes()
}

// bridgeFrameNumber reads bridgeFrame's number from an access unit.
func bridgeFrameNumber(au []byte) (int, bool) {
	for _, nal := range msf.SplitAnnexB(au) {
		if t := nal[0] & 0x1f; t != 1 && t != 5 {
			continue
		}
		s, ok := strings.CutPrefix(string(nal[1:min(len(nal), 24)]), "#")
		if !ok {
			return 0, false
		}
		num, _, ok := strings.Cut(s, "#")
		n, err := strconv.Atoi(num)
		return n, ok && err == nil
	}
	return 0, false
}

// dialBridgeMoQ dials an edge's moq_url for the rest of the test.
var dialBridgeMoQ = testcluster.MustDialMoQ

// subscribeBridge subscribes to the session's video track.
var subscribeBridge = testcluster.SubscribeVideo

// bridgeAPI is a pion API for loopback test peers.
func bridgeAPI(t *testing.T) *webrtc.API {
	t.Helper()
	me := &webrtc.MediaEngine{}
	if err := me.RegisterDefaultCodecs(); err != nil {
		t.Fatal(err)
	}
	se := webrtc.SettingEngine{}
	se.SetIncludeLoopbackCandidate(true)
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
	return webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithSettingEngine(se))
}

// negotiateHTTP POSTs pc's full offer with the bearer token, applies the
// answer and returns the response headers and the answer.
func negotiateHTTP(ctx context.Context, t *testing.T, hc *http.Client, pc *webrtc.PeerConnection, url, tok string) (http.Header, string) {
	t.Helper()
	st, h, body := postOffer(ctx, t, hc, pc, url, tok)
	if st != http.StatusCreated {
		t.Fatalf("POST %s: %d %s", url, st, body)
	}
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: body}); err != nil {
		t.Fatal(err)
	}
	return h, body
}

// postOffer POSTs pc's full offer with the bearer token.
func postOffer(ctx context.Context, t *testing.T, hc *http.Client, pc *webrtc.PeerConnection, url, tok string) (int, http.Header, string) {
	t.Helper()
	o, err := pc.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	g := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(o); err != nil {
		t.Fatal(err)
	}
	<-g
	resp, err := hc.Do(sdpRequest(ctx, t, url, tok, pc.LocalDescription().SDP))
	if err != nil {
		t.Fatalf("POST %s: %v", url, err)
	}
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	return resp.StatusCode, resp.Header, string(body)
}

// sdpRequest is a WHIP or WHEP POST of an SDP offer with a bearer token.
func sdpRequest(ctx context.Context, t *testing.T, url, tok, sdp string) *http.Request {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(sdp))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/sdp")
	req.Header.Set("Authorization", "Bearer "+tok)
	return req
}

// whipClient sends test access units at 50 frames per second.
type whipClient struct {
	pc     *webrtc.PeerConnection
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

func startWHIP(ctx context.Context, t *testing.T, hc *http.Client, pub *api.PublisherAnswer) *whipClient {
	t.Helper()
	pc, err := bridgeAPI(t).NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	video, err := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264, ClockRate: 90000}, "video", "pub")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pc.AddTransceiverFromTrack(video, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly}); err != nil {
		t.Fatal(err)
	}
	w := &whipClient{pc: pc}
	negotiateHTTP(ctx, t, hc, pc, pub.WHIPURL, pub.Token)
	runCtx, cancel := context.WithCancel(ctx)
	w.cancel = cancel
	w.wg.Go(func() {
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for n := 0; ; n++ {
			select {
			case <-runCtx.Done():
				return
			case <-tick.C:
			}
			_ = video.WriteSample(pmedia.Sample{Data: bridgeFrame(n, n%10 == 0), Duration: 20 * time.Millisecond})
		}
	})
	return w
}

func (w *whipClient) stop() {
	w.cancel()
	w.wg.Wait()
	_ = w.pc.Close()
}

// whepClient records the frame numbers of the access units it decodes.
type whepClient struct {
	pc *webrtc.PeerConnection
	wg sync.WaitGroup

	mu     sync.Mutex
	frames []int
	first  bool // the first access unit was a keyframe
	err    error
	closed bool
}

func startWHEP(ctx context.Context, t *testing.T, hc *http.Client, view *api.ViewerAnswer) (*whepClient, http.Header, string) {
	t.Helper()
	pc, err := bridgeAPI(t).NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	v := &whepClient{pc: pc}
	for _, k := range []webrtc.RTPCodecType{webrtc.RTPCodecTypeVideo, webrtc.RTPCodecTypeAudio} {
		if _, err := pc.AddTransceiverFromKind(k, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
			t.Fatal(err)
		}
	}
	pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		v.mu.Lock()
		defer v.mu.Unlock()
		if v.closed || tr.Kind() != webrtc.RTPCodecTypeVideo {
			return
		}
		v.wg.Go(func() { v.read(tr) })
	})
	h, answer := negotiateHTTP(ctx, t, hc, pc, view.WHEPURL, view.Token)
	return v, h, answer
}

func (v *whepClient) read(tr *webrtc.TrackRemote) {
	sb := samplebuilder.New(256, &codecs.H264Packet{}, 90000)
	for {
		pkt, _, err := tr.ReadRTP()
		if err != nil {
			return
		}
		sb.Push(pkt)
		for s := sb.Pop(); s != nil; s = sb.Pop() {
			v.frame(s.Data)
		}
	}
}

func (v *whepClient) frame(au []byte) {
	v.mu.Lock()
	defer v.mu.Unlock()
	n, ok := bridgeFrameNumber(au)
	switch {
	case !ok:
		v.err = errors.New("undecodable access unit")
	case len(v.frames) == 0:
		v.first = msf.H264IsKeyframe(au)
	case n <= v.frames[len(v.frames)-1]:
		v.err = fmt.Errorf("frame %d after %d", n, v.frames[len(v.frames)-1])
	}
	v.frames = append(v.frames, n)
}

func (v *whepClient) count() int {
	v.mu.Lock()
	defer v.mu.Unlock()
	return len(v.frames)
}

func (v *whepClient) check() error {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.err != nil {
		return fmt.Errorf("whep viewer: %w (frames %v)", v.err, v.frames)
	}
	if !v.first {
		return fmt.Errorf("whep viewer: first access unit is not a keyframe (frames %v)", v.frames)
	}
	return nil
}

func (v *whepClient) stop() {
	v.mu.Lock()
	v.closed = true
	v.mu.Unlock()
	_ = v.pc.Close()
	v.wg.Wait()
}
