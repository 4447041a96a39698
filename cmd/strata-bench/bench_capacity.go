package main

import (
	"context"
	"flag"
	"time"

	"github.com/strata-edge/strata/bench"
)

func init() { benchSuites["capacity"] = benchCapacity }

// benchCapacity is `strata-bench capacity`: a stepped viewer sweep
// against one local edge that stops at the first step breaking the SLO.
func benchCapacity(ctx context.Context, args []string, p *bench.Progress) (any, error) {
	fs := flag.NewFlagSet("bench capacity", flag.ContinueOnError)
	var o bench.CapacityOptions
	fs.StringVar(&o.Transport, "transport", bench.TransportWebRTC, "viewers' transport: moq (raw QUIC) or webrtc (WHEP)")
	fs.IntVar(&o.Start, "start", 0, "viewers in the first step (default: --step)")
	fs.IntVar(&o.Step, "step", 50, "viewers added per step")
	fs.IntVar(&o.MaxViewers, "max-viewers", 400, "the last step's viewers, if the SLO holds that far")
	fs.DurationVar(&o.StepDuration, "step-duration", 5*time.Second, "measured window per step")
	bitrate := fs.String("bitrate", "1M", "stream bitrate in bit/s (suffix k or M)")
	fs.IntVar(&o.FPS, "fps", 30, "frames per second")
	fs.Float64Var(&o.SLO.P99Ms, "slo-p99-ms", 150, "a step breaks the SLO when glass-to-glass p99 exceeds this (0: not checked)")
	fs.Float64Var(&o.SLO.Loss, "slo-loss", 0.01, "a step breaks the SLO when this share of frames is lost (0: not checked)")
	fs.BoolVar(&o.Confirm, "confirm", true, "measure a breaking step again before stopping, to filter one noisy window")
	if err := parseBenchFlags(fs, args); err != nil {
		return nil, err
	}
	bps, err := parseBitrate(*bitrate)
	if err != nil {
		return nil, usagef("--bitrate: %v", err)
	}
	o.BitrateBps = bps
	if o.Transport != bench.TransportMoQ && o.Transport != bench.TransportWebRTC {
		return nil, usagef("--transport %q: want moq or webrtc", o.Transport)
	}
	o.Progress = p
	return bench.Capacity(ctx, o)
}
