package webrtc

import (
	"errors"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/strata-edge/strata/internal/poll"
)

// TestAnswerCandidates: the answer announces the NAT 1:1 public address
// instead of the host's, and a passive TCP candidate when ICE-TCP is on.
func TestAnswerCandidates(t *testing.T) {
	tcp, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, func(c *Config) {
		c.NAT1To1IPs = []string{"203.0.113.7"}
		c.TCPListener = tcp
	})
	e.liveHub("live")
	st, _, body := e.do(http.MethodPost, e.url("whep", "live"), ContentTypeSDP, recvonlyOffer(t), nil)
	if st != http.StatusCreated {
		t.Fatalf("POST: %d %s", st, body)
	}
	var udp, tcpPassive bool
	for line := range strings.Lines(body) {
		if !strings.HasPrefix(line, "a=candidate:") {
			continue
		}
		f := strings.Fields(line)
		if len(f) < 8 {
			t.Fatalf("short candidate %q", line)
		}
		proto, addr := strings.ToLower(f[2]), f[4]
		if addr != "203.0.113.7" {
			t.Errorf("candidate %q announces %s, want the NAT 1:1 address", strings.TrimSpace(line), addr)
		}
		udp = udp || proto == "udp"
		tcpPassive = tcpPassive || proto == "tcp" && strings.Contains(line, "tcptype passive")
	}
	if !udp || !tcpPassive {
		t.Fatalf("answer lacks a UDP or passive TCP candidate:\n%s", body)
	}
}

// TestICETCP: a viewer that can only use TCP connects through the
// ICE-TCP listener and gets media.
func TestICETCP(t *testing.T) {
	tcp, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, func(c *Config) { c.TCPListener = tcp })
	pub := e.publish("tcp", "")
	pub.run(30, 30, 2000)
	poll.For(t, 20*time.Second, 5*time.Millisecond, func() error {
		b, ok := e.hub.Broadcast(nsOf("tcp"))
		if !ok {
			return errors.New("waiting for published video")
		}
		tr, ok := b.Track("video")
		if ok && tr.Stats().Objects > 0 {
			return nil
		}
		return errors.New("waiting for published video")
	})
	me := &webrtc.MediaEngine{}
	if err := me.RegisterDefaultCodecs(); err != nil {
		t.Fatal(err)
	}
	se := webrtc.SettingEngine{}
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeTCP4})
	se.SetIncludeLoopbackCandidate(true)
	se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
	pc, err := webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithSettingEngine(se)).NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pc.AddTransceiverFromKind(webrtc.RTPCodecTypeVideo, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
		t.Fatal(err)
	}
	got := make(chan struct{})
	done := make(chan struct{})
	pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		defer close(done)
		if _, _, err := tr.ReadRTP(); err == nil {
			close(got)
		}
	})
	e.postOffer(pc, e.url("whep", "tcp"), "")
	poll.For(t, 20*time.Second, 5*time.Millisecond, func() error {
		select {
		case <-got:
			return nil
		default:
			return errors.New("waiting for media over ICE-TCP")
		}
	})
	pair, err := pc.SCTP().Transport().ICETransport().GetSelectedCandidatePair()
	if err != nil || pair == nil || pair.Remote.Protocol != webrtc.ICEProtocolTCP {
		t.Fatalf("selected pair %v (%v), want TCP", pair, err)
	}
	_ = pc.Close()
	<-done
}
