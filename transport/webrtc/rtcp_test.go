package webrtc

import (
	"errors"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"
	pmedia "github.com/pion/webrtc/v4/pkg/media"

	"github.com/strata-edge/strata/internal/poll"
)

// TestRTCPFeedback: a WHIP publisher that numbers its packets
// transport-wide gets TWCC feedback and receiver reports, and a WHEP
// viewer gets sender reports.
func TestRTCPFeedback(t *testing.T) {
	e := newEnv(t, nil)

	me := &webrtc.MediaEngine{}
	if err := me.RegisterDefaultCodecs(); err != nil {
		t.Fatal(err)
	}
	reg := &interceptor.Registry{}
	if err := webrtc.ConfigureTWCCHeaderExtensionSender(me, reg); err != nil {
		t.Fatal(err)
	}
	se := webrtc.SettingEngine{}
	se.SetIncludeLoopbackCandidate(true)
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
	pc, err := webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithInterceptorRegistry(reg), webrtc.WithSettingEngine(se)).NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	video, _ := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264, ClockRate: 90000}, "video", "pub")
	tc, err := pc.AddTransceiverFromTrack(video, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly})
	if err != nil {
		t.Fatal(err)
	}
	var twcc, rr atomic.Int32
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			pkts, _, err := tc.Sender().ReadRTCP()
			if err != nil {
				return
			}
			for _, p := range pkts {
				switch p.(type) {
				case *rtcp.TransportLayerCC:
					twcc.Add(1)
				case *rtcp.ReceiverReport:
					rr.Add(1)
				}
			}
		}
	}()
	e.postOffer(pc, e.url("whip", "fb"), "")
	stop := make(chan struct{})
	sent := make(chan struct{})
	go func() {
		defer close(sent)
		for n := 0; ; n++ {
			select {
			case <-stop:
				return
			default:
			}
			_ = video.WriteSample(pmedia.Sample{Data: testFrame(n, n%30 == 0, 2000), Duration: 33 * time.Millisecond})
			select {
			case <-stop:
				return
			case <-time.After(33 * time.Millisecond):
			}
		}
	}()
	defer func() { close(stop); <-sent; _ = pc.Close(); <-done }()

	v := e.view2(t, "fb")
	var sr atomic.Int32
	for _, tr := range v.pc.GetTransceivers() {
		r := tr.Receiver()
		if r == nil {
			continue
		}
		go func() {
			for {
				pkts, _, err := r.ReadRTCP()
				if err != nil {
					return
				}
				for _, p := range pkts {
					if _, ok := p.(*rtcp.SenderReport); ok {
						sr.Add(1)
					}
				}
			}
		}()
	}
	poll.For(t, 20*time.Second, 5*time.Millisecond, func() error {
		if twcc.Load() > 0 {
			return nil
		}
		return errors.New("waiting for TWCC feedback to the publisher")
	})
	poll.For(t, 20*time.Second, 5*time.Millisecond, func() error {
		if rr.Load() > 0 {
			return nil
		}
		return errors.New("waiting for receiver report to the publisher")
	})
	poll.For(t, 20*time.Second, 5*time.Millisecond, func() error {
		if sr.Load() > 0 {
			return nil
		}
		return errors.New("waiting for sender report to the viewer")
	})
}
