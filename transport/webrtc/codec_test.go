package webrtc

import (
	"context"
	"errors"
	"net"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/webrtc/v4"
	pmedia "github.com/pion/webrtc/v4/pkg/media"
	"github.com/strata-edge/strata/internal/poll"
	"github.com/strata-edge/strata/transport/media"
)

func TestVP9IsKeyframe(t *testing.T) {
	tests := []struct {
		name string
		f    []byte
		want bool
	}{
		{"empty", nil, false},
		{"key, profile 0", []byte{0x82}, true},
		{"inter, profile 0", []byte{0x86}, false},
		{"show existing frame", []byte{0x88}, false},
		{"key, profile 3", []byte{0xb1}, true},
		{"inter, profile 3", []byte{0xb3}, false},
		{"bad frame marker", []byte{0x02}, false},
	}
	for _, tc := range tests {
		if got := vp9IsKeyframe(tc.f); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestAV1IsKeyframe(t *testing.T) {
	tests := []struct {
		name string
		tu   []byte
		want bool
	}{
		{"empty", nil, false},
		{"temporal delimiter then sequence header", []byte{0x12, 0x00, 0x0a, 0x02, 0xaa, 0xbb}, true},
		{"temporal delimiter then frame", []byte{0x12, 0x00, 0x32, 0x01, 0xaa}, false},
		{"extension header", []byte{0x0e, 0x00, 0x01, 0xaa}, true},
		{"size beyond the unit", []byte{0x32, 0x7f, 0xaa, 0x0a, 0x00}, false},
		{"unterminated leb128", []byte{0x32, 0xff, 0xff}, false},
	}
	for _, tc := range tests {
		if got := av1IsKeyframe(tc.tu); got != tc.want {
			t.Errorf("%s: %v, want %v", tc.name, got, tc.want)
		}
	}
}

// vp9Frame is a minimal VP9 frame that parsers accept: for key frames the
// uncompressed header up to the frame size (profile 0, 64x64), then
// filler.
func vp9Frame(key bool, size int) []byte {
	var f []byte
	if key {
		// marker 10, profile 00, show_existing 0, key 0, show 1, error_res 0;
		// sync code; color space 001, range 0, width-1 and height-1 (63),
		// render size same.
		f = []byte{0x82, 0x49, 0x83, 0x42, 0x20, 0x03, 0xf0, 0x03, 0xf0, 0x00}
	} else {
		f = []byte{0x86, 0x00}
	}
	for len(f) < size {
		f = append(f, 0x5a)
	}
	return f
}

// TestVP9PassThrough: a VP9 WHIP publisher is served to a viewer that
// offers VP9; a viewer that offers only H.264 gets 422 with a message
// naming both, rather than a stream it cannot decode.
func TestVP9PassThrough(t *testing.T) {
	e := newEnv(t, nil)
	pc, err := clientAPI(t).NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	vp9, _ := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeVP9, ClockRate: 90000}, "video", "pub")
	if _, err := pc.AddTransceiverFromTrack(vp9, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly}); err != nil {
		t.Fatal(err)
	}
	e.postOffer(pc, e.url("whip", "vp9"), "")
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	defer func() { cancel(); <-done }()
	go func() {
		defer close(done)
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for n := 0; ctx.Err() == nil; n++ {
			_ = vp9.WriteSample(pmedia.Sample{Data: vp9Frame(n%10 == 0, 2500), Duration: 20 * time.Millisecond})
			select {
			case <-tick.C:
			case <-ctx.Done():
			}
		}
	}()
	poll.For(t, 20*time.Second, 5*time.Millisecond, func() error {
		e.srv.mu.Lock()
		defer e.srv.mu.Unlock()
		w := e.srv.publishers[nsOf("vp9")]
		if w != nil && w.codecOf("video") != nil {
			return nil
		}
		return errors.New("waiting for vp9 track in the hub")
	})

	// A viewer that only decodes H.264.
	h264 := clientAPIWith(t, webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264, ClockRate: 90000,
		SDPFmtpLine: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"}, PayloadType: 102})
	only, err := h264.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	defer only.Close()
	if _, err := only.AddTransceiverFromKind(webrtc.RTPCodecTypeVideo, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
		t.Fatal(err)
	}
	st, _, body := e.do(http.MethodPost, e.url("whep", "vp9"), ContentTypeSDP, offer(t, only), nil)
	if st != http.StatusUnprocessableEntity || !strings.Contains(body, "VP9") || !strings.Contains(body, "H264") {
		t.Fatalf("H.264-only viewer of VP9: %d %q, want 422 naming both codecs", st, body)
	}

	// A viewer with the default codecs gets VP9 packets.
	v, err := clientAPI(t).NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	if _, err := v.AddTransceiverFromKind(webrtc.RTPCodecTypeVideo, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
		t.Fatal(err)
	}
	got := make(chan string, 1)
	v.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		if _, _, err := tr.ReadRTP(); err == nil {
			got <- tr.Codec().MimeType
		}
	})
	e.postOffer(v, e.url("whep", "vp9"), "")
	select {
	case mime := <-got:
		if !strings.EqualFold(mime, webrtc.MimeTypeVP9) {
			t.Fatalf("viewer got %s, want VP9", mime)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("no VP9 packet reached the viewer")
	}
}

func nsOf(session string) media.Namespace { return media.Namespace{Tenant: "acme", Session: session} }

// clientAPIWith is clientAPI decoding only the given video codecs.
func clientAPIWith(t *testing.T, video ...webrtc.RTPCodecParameters) *webrtc.API {
	t.Helper()
	me := &webrtc.MediaEngine{}
	for _, c := range video {
		if err := me.RegisterCodec(c, webrtc.RTPCodecTypeVideo); err != nil {
			t.Fatal(err)
		}
	}
	se := webrtc.SettingEngine{}
	se.SetIncludeLoopbackCandidate(true)
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
	return webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithSettingEngine(se))
}

func TestOfferAccepts(t *testing.T) {
	const head = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
	vp8, _ := codecFor(webrtc.MimeTypeVP8)
	opus, _ := codecFor(webrtc.MimeTypeOpus)
	tests := []struct {
		name    string
		body    string
		c       *codec
		ok      bool
		offered []string
	}{
		{"listed", "m=video 9 UDP/TLS/RTP/SAVPF 96 102\r\na=rtpmap:96 vp8/90000\r\na=rtpmap:102 H264/90000\r\na=recvonly\r\n", vp8, true, nil},
		{"not listed", "m=video 9 UDP/TLS/RTP/SAVPF 102\r\na=rtpmap:102 H264/90000\r\na=recvonly\r\n", vp8, false, []string{"H264"}},
		{"no such kind", "m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=rtpmap:96 VP8/90000\r\n", opus, false, nil},
		{"rejected section", "m=video 0 UDP/TLS/RTP/SAVPF 96\r\na=rtpmap:96 VP8/90000\r\n", vp8, false, nil},
		{"bundle-only section", "m=video 0 UDP/TLS/RTP/SAVPF 96\r\na=bundle-only\r\na=rtpmap:96 VP8/90000\r\n", vp8, true, nil},
		{"sendonly section", "m=video 9 UDP/TLS/RTP/SAVPF 96\r\na=rtpmap:96 VP8/90000\r\na=sendonly\r\n", vp8, false, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, err := parseOffer(head+tc.body, false)
			if err != nil {
				t.Fatal(err)
			}
			ok, offered := offerAccepts(d, tc.c)
			if ok != tc.ok || !slices.Equal(offered, tc.offered) || (offered == nil) != (tc.offered == nil) {
				t.Fatalf("offerAccepts = %v %q, want %v %q", ok, offered, tc.ok, tc.offered)
			}
		})
	}
}
