package bench

import (
	"context"
	"encoding/json"
	"os"
	"strconv"
	"testing"
	"time"
)

// TestFanoutWebRTC runs a small WHEP fan-out. Scale it with
// STRATA_WEBRTC_FANOUT_SUBS and STRATA_WEBRTC_FANOUT_SECONDS;
// STRATA_WEBRTC_FANOUT_CPUPROFILE names a relay CPU profile of the window.
func TestFanoutWebRTC(t *testing.T) {
	subs, secs := 5, 2
	if v, err := strconv.Atoi(os.Getenv("STRATA_WEBRTC_FANOUT_SUBS")); err == nil && v > 0 {
		subs = v
	}
	if v, err := strconv.Atoi(os.Getenv("STRATA_WEBRTC_FANOUT_SECONDS")); err == nil && v > 0 {
		secs = v
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Duration(secs)*time.Second+60*time.Second)
	defer cancel()
	res, err := FanoutWebRTC(ctx, FanoutWebRTCOptions{Subscribers: subs, BitrateBps: 2_500_000, Duration: time.Duration(secs) * time.Second,
		CPUProfile: os.Getenv("STRATA_WEBRTC_FANOUT_CPUPROFILE")})
	if err != nil {
		t.Fatal(err)
	}
	out, _ := json.Marshal(res)
	t.Logf("%s", out)
	if res.Subscribers != subs || res.EgressGbps <= 0 {
		t.Fatalf("implausible result %s", out)
	}
	// Each viewer should get about the bitrate.
	if per := res.EgressGbps * 1e9 / float64(subs); per < 2_000_000 {
		t.Errorf("per-viewer goodput %.0f bit/s, want about 2.5 Mbit/s", per)
	}
}

func TestFanoutWebRTCConfig(t *testing.T) {
	tests := []FanoutWebRTCOptions{
		{Subscribers: 0, BitrateBps: 1, Duration: time.Second},
		{Subscribers: 1, BitrateBps: 0, Duration: time.Second},
		{Subscribers: 1, BitrateBps: 1},
	}
	for _, o := range tests {
		if _, err := FanoutWebRTC(context.Background(), o); err == nil {
			t.Errorf("%+v: no error", o)
		}
	}
}
