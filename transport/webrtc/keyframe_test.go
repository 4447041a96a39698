package webrtc

import (
	"errors"
	"testing"
	"time"

	"github.com/pion/rtcp"
	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/strata-edge/strata/internal/poll"
)

// TestPLIForwarded checks a viewer's PLI reaches the WHIP publisher and
// that a burst of requests is rate-limited to about one per interval.
func TestPLIForwarded(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.KeyframeInterval = time.Hour })
	pub := e.publish("k", "")
	pub.run(30, 1000, 500) // one keyframe only, at the start
	v := e.view2(t, "k")
	poll.For(t, 20*time.Second, 5*time.Millisecond, func() error {
		f, _ := v.got()
		if f >= 2 {
			return nil
		}
		return errors.New("waiting for viewer media")
	})
	// Drain PLIs the bridge itself may have sent while starting.
	for len(pub.plis) > 0 {
		<-pub.plis
	}
	before := counterValue(e.srv.m.plis)
	var ssrc uint32
	for _, tc := range v.pc.GetTransceivers() {
		if r := tc.Receiver(); r != nil && r.Track() != nil && r.Track().Kind().String() == "video" {
			ssrc = uint32(r.Track().SSRC())
		}
	}
	for range 5 {
		if err := v.pc.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: ssrc}}); err != nil {
			t.Fatal(err)
		}
	}
	poll.For(t, 20*time.Second, 5*time.Millisecond, func() error {
		if counterValue(e.srv.m.plis) > before {
			return nil
		}
		return errors.New("waiting for PLI forwarded")
	})
	select {
	case <-pub.plis:
	case <-time.After(10 * time.Second):
		t.Fatal("publisher got no PLI")
	}
	if got := counterValue(e.srv.m.plis) - before; got != 1 {
		t.Fatalf("forwarded %v PLIs for a burst of 5, want 1", got)
	}
}

func counterValue(c prometheus.Counter) float64 {
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		return -1
	}
	return m.GetCounter().GetValue()
}
