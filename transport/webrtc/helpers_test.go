package webrtc

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/rtcp"
	"github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v4"
	pmedia "github.com/pion/webrtc/v4/pkg/media"
	"github.com/pion/webrtc/v4/pkg/media/samplebuilder"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/strata-edge/strata/transport/media"
	"github.com/strata-edge/strata/transport/msf"
)

type testEnv struct {
	t      testing.TB
	hub    *media.Hub
	srv    *Server
	http   *httptest.Server
	client *http.Client
	reg    *prometheus.Registry
}

func newEnv(t testing.TB, mutate func(*Config)) *testEnv {
	t.Helper()
	conn, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hub := media.NewHub(media.HubOptions{})
	reg := prometheus.NewRegistry()
	cfg := Config{Hub: hub, UDPConn: conn, PathPrefix: "/rtc", Registerer: reg}
	if mutate != nil {
		mutate(&cfg)
	}
	srv, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv)
	e := &testEnv{t: t, hub: hub, srv: srv, http: hs, client: hs.Client(), reg: reg}
	t.Cleanup(func() {
		e.client.CloseIdleConnections()
		hs.Close()
		if err := srv.Close(context.Background()); err != nil {
			t.Errorf("Close: %v", err)
		}
		hub.Close()
	})
	return e
}

func (e *testEnv) url(kind, session string) string {
	return e.http.URL + "/rtc/" + kind + "/acme/" + session
}

// do sends a request and returns status, headers and body.
func (e *testEnv) do(method, url, ctype, body string, hdr map[string]string) (int, http.Header, string) {
	e.t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		e.t.Fatal(err)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	client := *e.client
	client.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := client.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

// clientAPI is a plain pion API for test peers on loopback.
func clientAPI(t testing.TB) *webrtc.API {
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

// offer creates a full (non-trickle) offer.
func offer(t testing.TB, pc *webrtc.PeerConnection) string {
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
	return pc.LocalDescription().SDP
}

// postOffer POSTs the peer's offer and applies the answer; it returns the
// resource URL and ETag.
func (e *testEnv) postOffer(pc *webrtc.PeerConnection, url, token string) (string, string) {
	e.t.Helper()
	hdr := map[string]string{}
	if token != "" {
		hdr["Authorization"] = "Bearer " + token
	}
	status, h, body := e.do(http.MethodPost, url, ContentTypeSDP, offer(e.t, pc), hdr)
	if status != http.StatusCreated {
		e.t.Fatalf("POST %s: %d %s", url, status, body)
	}
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: body}); err != nil {
		e.t.Fatal(err)
	}
	return e.http.URL + h.Get("Location"), h.Get("ETag")
}

// testFrame fabricates an H.264 access unit in Annex B: SPS, PPS and an
// IDR slice for keyframes, one non-IDR slice otherwise. The slice carries
// the frame number in ASCII (no zero bytes, so no start-code emulation)
// and filler to force fragmentation.
func testFrame(n int, key bool, size int) []byte {
	var b bytes.Buffer
	if key {
		b.Write([]byte{0, 0, 0, 1, 0x67, 0x42, 0xc0, 0x1f, 0xda, 0x01, 0x40, 0x16, 0xe8})
		b.Write([]byte{0, 0, 0, 1, 0x68, 0xce, 0x3c, 0x80})
		b.Write([]byte{0, 0, 0, 1, 0x65})
	} else {
		b.Write([]byte{0, 0, 0, 1, 0x41})
	}
	fmt.Fprintf(&b, "#%d#", n)
	for b.Len() < size {
		b.WriteByte(0xab)
	}
	return b.Bytes()
}

// frameNumber reads testFrame's number back from an access unit.
func frameNumber(au []byte) (int, bool) {
	for _, nal := range msf.SplitAnnexB(au) {
		if t := nal[0] & 0x1f; t != 1 && t != 5 {
			continue
		}
		s := string(nal[1:min(len(nal), 24)])
		i := strings.IndexByte(s, '#')
		j := strings.IndexByte(s[i+1:], '#')
		if i < 0 || j < 0 {
			return 0, false
		}
		n, err := strconv.Atoi(s[i+1 : i+1+j])
		return n, err == nil
	}
	return 0, false
}

// publisher is a pion WHIP client sending fabricated H.264 and Opus.
type publisher struct {
	pc     *webrtc.PeerConnection
	video  *webrtc.TrackLocalStaticSample
	audio  *webrtc.TrackLocalStaticSample
	plis   chan struct{}
	url    string
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

func (e *testEnv) publish(session, token string) *publisher {
	e.t.Helper()
	pc, err := clientAPI(e.t).NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		e.t.Fatal(err)
	}
	p := &publisher{pc: pc, plis: make(chan struct{}, 16)}
	p.video, _ = webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264, ClockRate: 90000}, "video", "pub")
	p.audio, _ = webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, "audio", "pub")
	for _, tr := range []webrtc.TrackLocal{p.video, p.audio} {
		tc, err := pc.AddTransceiverFromTrack(tr, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
		if err != nil {
			e.t.Fatal(err)
		}
		sender := tc.Sender()
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			for {
				pkts, _, err := sender.ReadRTCP()
				if err != nil {
					return
				}
				for _, pk := range pkts {
					if _, ok := pk.(*rtcp.PictureLossIndication); ok {
						select {
						case p.plis <- struct{}{}:
						default:
						}
					}
				}
			}
		}()
	}
	p.url, _ = e.postOffer(pc, e.url("whip", session), token)
	e.t.Cleanup(p.stop)
	return p
}

// run sends frames at fps until stopped: a keyframe every gop frames.
func (p *publisher) run(fps, gop, size int) {
	ctx, cancel := context.WithCancel(context.Background())
	p.cancel = cancel
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		tick := time.NewTicker(time.Second / time.Duration(fps))
		defer tick.Stop()
		opus := []byte{0xfc, 0xff, 0xfe} // a 20 ms Opus frame (TOC + filler)
		for n := 0; ; n++ {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			_ = p.video.WriteSample(pmedia.Sample{Data: testFrame(n, n%gop == 0, size), Duration: time.Second / time.Duration(fps)})
			_ = p.audio.WriteSample(pmedia.Sample{Data: opus, Duration: 20 * time.Millisecond})
		}
	}()
}

func (p *publisher) stop() {
	if p.cancel != nil {
		p.cancel()
	}
	_ = p.pc.Close()
	p.wg.Wait()
}

// viewer is a pion WHEP client that decodes H.264 frames it receives.
type viewer struct {
	pc   *webrtc.PeerConnection
	url  string
	etag string
	wg   sync.WaitGroup

	mu       sync.Mutex
	frames   []int // frame numbers in arrival order
	firstKey bool  // the first frame held SPS, PPS and an IDR slice
	audio    int   // Opus packets
	bad      error
	dcs      []*webrtc.DataChannel
	closed   bool
}

func (e *testEnv) view(session, token string, withInput bool) *viewer {
	e.t.Helper()
	pc, err := clientAPI(e.t).NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		e.t.Fatal(err)
	}
	v := &viewer{pc: pc}
	for _, k := range []webrtc.RTPCodecType{webrtc.RTPCodecTypeVideo, webrtc.RTPCodecTypeAudio} {
		if _, err := pc.AddTransceiverFromKind(k, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
			e.t.Fatal(err)
		}
	}
	if withInput {
		dc, err := pc.CreateDataChannel(InputLabel, nil)
		if err != nil {
			e.t.Fatal(err)
		}
		v.dcs = append(v.dcs, dc)
	}
	pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		v.mu.Lock()
		defer v.mu.Unlock()
		if v.closed {
			return
		}
		v.wg.Add(1)
		go func() {
			defer v.wg.Done()
			v.read(tr)
		}()
	})
	v.url, v.etag = e.postOffer(pc, e.url("whep", session), token)
	e.t.Cleanup(v.close)
	return v
}

func (v *viewer) read(tr *webrtc.TrackRemote) {
	if tr.Kind() == webrtc.RTPCodecTypeAudio {
		for {
			if _, _, err := tr.ReadRTP(); err != nil {
				return
			}
			v.mu.Lock()
			v.audio++
			v.mu.Unlock()
		}
	}
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

func (v *viewer) frame(au []byte) {
	v.mu.Lock()
	defer v.mu.Unlock()
	n, ok := frameNumber(au)
	if !ok {
		v.bad = errors.New("undecodable frame")
		return
	}
	if len(v.frames) == 0 {
		v.firstKey = msf.H264IsKeyframe(au) && hasNAL(au, 7) && hasNAL(au, 8)
	} else if last := v.frames[len(v.frames)-1]; n <= last {
		v.bad = fmt.Errorf("frame %d after %d", n, last)
	}
	v.frames = append(v.frames, n)
}

func hasNAL(au []byte, typ byte) bool {
	for _, n := range msf.SplitAnnexB(au) {
		if n[0]&0x1f == typ {
			return true
		}
	}
	return false
}

func (v *viewer) got() (frames, audio int) {
	v.mu.Lock()
	defer v.mu.Unlock()
	return len(v.frames), v.audio
}

func (v *viewer) check(t testing.TB) {
	t.Helper()
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.bad != nil {
		t.Errorf("viewer: %v (frames %v)", v.bad, v.frames)
	}
	if !v.firstKey {
		t.Errorf("viewer: first frame is not a keyframe with parameter sets")
	}
}

func (v *viewer) close() {
	v.mu.Lock()
	v.closed = true
	v.mu.Unlock()
	_ = v.pc.Close()
	v.wg.Wait()
}
