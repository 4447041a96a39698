package bench

import (
	"context"
	"encoding/json"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/strata-edge/strata/transport/moq/wire"
)

// TestMain lets FanoutMoQ re-run this test binary as its subscriber
// process.
func TestMain(m *testing.M) {
	if child, err := RunFanoutChildIfRequested(); child {
		if err != nil {
			os.Stderr.WriteString(err.Error() + "\n")
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestFanoutMoQ runs a short fan-out; STRATA_MOQ_FANOUT_SUBS and
// STRATA_MOQ_FANOUT_SECONDS scale it up.
func TestFanoutMoQ(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns a subscriber process")
	}
	subs, secs := 20, 2
	if v, err := strconv.Atoi(os.Getenv("STRATA_MOQ_FANOUT_SUBS")); err == nil && v > 0 {
		subs = v
	}
	if v, err := strconv.Atoi(os.Getenv("STRATA_MOQ_FANOUT_SECONDS")); err == nil && v > 0 {
		secs = v
	}
	for _, tc := range []struct {
		hops int
		v    wire.Version
	}{{0, wire.Draft18}, {1, wire.Draft18}, {0, wire.Draft14}} {
		hops := tc.hops
		t.Run(tc.v.String()+"/hops="+strconv.Itoa(hops), func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Duration(secs)*time.Second+2*time.Minute)
			defer cancel()
			res, err := FanoutMoQ(ctx, FanoutOptions{Subscribers: subs, BitrateBps: 8_000_000, Hops: hops, MoQVersion: tc.v,
				Duration: time.Duration(secs) * time.Second, Baseline: os.Getenv("STRATA_MOQ_FANOUT_BASELINE") != ""})
			if err != nil {
				t.Fatal(err)
			}
			out, _ := json.Marshal(res)
			t.Logf("%s", out)
			if res.EgressGbps <= 0 || res.Subscribers != subs || res.Hops != hops || (hops == 1) != (res.HopLatencyP50Ms > 0) ||
				res.MoQVersion != tc.v.String() {
				t.Fatalf("implausible result %s", out)
			}
		})
	}
}

func TestFanoutMoQConfig(t *testing.T) {
	for _, o := range []FanoutOptions{{}, {Subscribers: 1}, {Subscribers: 1, BitrateBps: 1},
		{Subscribers: 1, BitrateBps: 1, Duration: time.Second, Hops: 2},
		{Subscribers: 1, BitrateBps: 1, Duration: time.Second, MoQVersion: 0xff000001}} {
		if _, err := FanoutMoQ(context.Background(), o); err == nil {
			t.Fatalf("accepted %+v", o)
		}
	}
}
