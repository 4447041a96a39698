package webrtc

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
	pmedia "github.com/pion/webrtc/v4/pkg/media"

	"github.com/strata-edge/strata/internal/poll"
	"github.com/strata-edge/strata/transport/msf"
)

// TestWHIPCatalog: a WHIP-published broadcast carries an MSF catalog
// track naming its video and audio with the codecs the peer negotiated
// (H.264 as avc3 with the fmtp's profile-level-id, Opus at 48 kHz), and
// the picture size once a key frame's SPS shows it, so MoQ players can
// play it.
func TestWHIPCatalog(t *testing.T) {
	e := newEnv(t, nil)
	p := e.publish("cat", "")
	p.run(50, 10, 1500)
	// The codec the edge negotiated for the publisher's video.
	var video *webrtc.RTPCodecParameters
	poll.For(t, 20*time.Second, 5*time.Millisecond, func() error {
		e.srv.mu.Lock()
		w := e.srv.publishers[nsOf("cat")]
		e.srv.mu.Unlock()
		if w == nil {
			return errors.New("no publisher yet")
		}
		for _, tc := range w.pc.GetTransceivers() {
			if tr := tc.Receiver().Track(); tr != nil && tr.Kind() == webrtc.RTPCodecTypeVideo && tr.Codec().MimeType != "" {
				c := tr.Codec()
				video = &c
				return nil
			}
		}
		return errors.New("no video track yet")
	})
	if !strings.EqualFold(video.MimeType, webrtc.MimeTypeH264) {
		t.Fatalf("negotiated %s, want H.264", video.MimeType)
	}
	wantVideo := "avc3." + strings.ToLower(fmtpParams(video.SDPFmtpLine)["profile-level-id"])

	var cat *msf.Catalog
	poll.For(t, 20*time.Second, 10*time.Millisecond, func() error {
		var err error
		if cat, err = e.catalog("cat", time.Second); err != nil {
			return err
		}
		if len(cat.Tracks) != 2 || cat.Tracks[0].Width == 0 {
			return fmt.Errorf("catalog not complete yet: %+v", cat.Tracks)
		}
		return nil
	})
	v, a := cat.Tracks[0], cat.Tracks[1]
	t.Logf("catalog: video %s %dx%d, audio %s %d Hz channels %s", v.Codec, v.Width, v.Height, a.Codec, a.SampleRate, a.ChannelConfig)
	if v.Name != msf.SessionVideoTrack || v.Role != msf.RoleVideo || v.Codec != wantVideo || v.Packaging != msf.PackagingLOC ||
		v.Width != 1280 || v.Height != 720 {
		t.Errorf("video track %+v, want %s 1280x720", v, wantVideo)
	}
	if a.Name != msf.SessionAudioTrack || a.Role != msf.RoleAudio || a.Codec != "opus" || a.SampleRate != 48000 || a.ChannelConfig == "" {
		t.Errorf("audio track %+v, want opus at 48000 Hz", a)
	}
	if len(cat.PublishTracks) != 1 || cat.PublishTracks[0].Name != msf.SessionInputTrack {
		t.Errorf("publish tracks %+v, want the input track", cat.PublishTracks)
	}
	if c, err := codecOfCatalog(v.Codec); err != nil || c.mime != webrtc.MimeTypeH264 {
		t.Errorf("WHEP reads the catalog's video codec %q as %v %v", v.Codec, c, err)
	}
}

// TestWHIPCatalogVideoOnly: a publisher that negotiated only video gets a
// catalog at once, without waiting for audio.
func TestWHIPCatalogVideoOnly(t *testing.T) {
	e := newEnv(t, nil)
	pc, err := clientAPI(t).NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	vt, _ := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264, ClockRate: 90000}, "video", "pub")
	if _, err := pc.AddTransceiverFromTrack(vt, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly}); err != nil {
		t.Fatal(err)
	}
	e.postOffer(pc, e.url("whip", "vo"), "")
	start := time.Now()
	poll.For(t, 20*time.Second, 5*time.Millisecond, func() error {
		_ = vt.WriteSample(pmedia.Sample{Data: testFrame(0, true, 1500), Duration: 20 * time.Millisecond})
		c, err := e.catalog("vo", 50*time.Millisecond)
		if err != nil || len(c.Tracks) != 1 || c.Tracks[0].Role != msf.RoleVideo {
			return fmt.Errorf("no video-only catalog yet (%v)", err)
		}
		return nil
	})
	if took := time.Since(start); took >= catalogGrace+500*time.Millisecond {
		t.Errorf("video-only catalog took %s, want it without the %s grace", took, catalogGrace)
	}
}

func TestCatalogCodecOf(t *testing.T) {
	cp := func(mime, fmtp string) webrtc.RTPCodecParameters {
		return webrtc.RTPCodecParameters{RTPCodecCapability: webrtc.RTPCodecCapability{MimeType: mime, SDPFmtpLine: fmtp}}
	}
	cases := []struct {
		p    webrtc.RTPCodecParameters
		want string
	}{
		{cp(webrtc.MimeTypeH264, "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"), "avc3.42e01f"},
		{cp("video/h264", "profile-level-id=640C32; packetization-mode=1"), "avc3.640c32"},
		{cp(webrtc.MimeTypeH264, "packetization-mode=1"), "avc3.42000a"},
		{cp(webrtc.MimeTypeH264, "profile-level-id=zz0000"), "avc3.42000a"},
		{cp(webrtc.MimeTypeVP8, ""), "vp8"},
		{cp(webrtc.MimeTypeVP9, "profile-id=0"), "vp09.00.41.08"},
		{cp(webrtc.MimeTypeVP9, "profile-id=2"), "vp09.02.41.10"},
		{cp(webrtc.MimeTypeAV1, ""), "av01.0.05M.08"},
		{cp(webrtc.MimeTypeAV1, "profile=0;level-idx=8;tier=1"), "av01.0.08H.08"},
		{cp(webrtc.MimeTypeOpus, "minptime=10;useinbandfec=1"), "opus"},
	}
	for _, tc := range cases {
		if got := catalogCodecOf(tc.p); got != tc.want {
			t.Errorf("%s %q: got %q, want %q", tc.p.MimeType, tc.p.SDPFmtpLine, got, tc.want)
		}
		// WHEP maps each back to the codec it came from.
		if c, err := codecOfCatalog(catalogCodecOf(tc.p)); err != nil || !strings.EqualFold(c.mime, tc.p.MimeType) {
			t.Errorf("%q maps back to %v %v", tc.want, c, err)
		}
	}
	if got := opusChannels("minptime=10;stereo=1"); got != "2" {
		t.Errorf("stereo opus: %q", got)
	}
	if got := opusChannels("minptime=10"); got != "1" {
		t.Errorf("mono opus: %q", got)
	}
}

// catalog reads the newest catalog of session's broadcast from the hub,
// waiting up to wait for one.
func (e *testEnv) catalog(session string, wait time.Duration) (*msf.Catalog, error) {
	ctx, cancel := context.WithTimeout(context.Background(), wait)
	defer cancel()
	sub, err := e.hub.Subscribe(ctx, nsOf(session), msf.CatalogTrackName)
	if err != nil {
		return nil, err
	}
	defer sub.Close()
	o, err := sub.Next(ctx)
	if err != nil {
		return nil, err
	}
	c, err := msf.Parse(o.Payload)
	if err != nil {
		e.t.Fatalf("catalog does not parse: %v\n%s", err, o.Payload)
	}
	return c, nil
}

// TestAnsweredTracks: the first catalog waits for the audio and video
// sections the answer accepted, not for rejected or inactive ones.
func TestAnsweredTracks(t *testing.T) {
	const head = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"
	cases := []struct {
		name, body string
		want       int
	}{
		{"audio and video", "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=recvonly\r\nm=video 9 UDP/TLS/RTP/SAVPF 102\r\na=recvonly\r\n", 2},
		{"video rejected", "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=recvonly\r\nm=video 0 UDP/TLS/RTP/SAVPF 0\r\n", 1},
		{"audio inactive", "m=audio 9 UDP/TLS/RTP/SAVPF 111\r\na=inactive\r\nm=video 9 UDP/TLS/RTP/SAVPF 102\r\na=recvonly\r\n", 1},
		{"data channel only", "m=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n", 1},
	}
	for _, tc := range cases {
		if got := answeredTracks(head + tc.body); got != tc.want {
			t.Errorf("%s: %d, want %d", tc.name, got, tc.want)
		}
	}
}
