package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/strata-edge/strata/bench"
	"github.com/strata-edge/strata/internal/capacity"
)

func init() {
	benchSuites["capacity"] = benchCapacity
	benchSuites["calibrate"] = benchCalibrate
}

// sweepFlags adds the capacity sweep's flags to fs; finish reads the
// bitrate once fs is parsed.
func sweepFlags(fs *flag.FlagSet, o *bench.CapacityOptions) (finish func() error) {
	fs.IntVar(&o.Start, "start", 0, "viewers in the first step (default: --step)")
	fs.IntVar(&o.Step, "step", 50, "viewers added per step")
	fs.IntVar(&o.MaxViewers, "max-viewers", 400, "the last step's viewers, if the SLO holds that far")
	fs.DurationVar(&o.StepDuration, "step-duration", 5*time.Second, "measured window per step")
	bitrate := fs.String("bitrate", "1M", "stream bitrate in bit/s (suffix k or M)")
	fs.IntVar(&o.FPS, "fps", 30, "frames per second")
	fs.Float64Var(&o.SLO.P99Ms, "slo-p99-ms", 150, "a step breaks the SLO when glass-to-glass p99 exceeds this (0: not checked)")
	fs.Float64Var(&o.SLO.Loss, "slo-loss", 0.01, "a step breaks the SLO when this share of frames is lost (0: not checked)")
	fs.BoolVar(&o.Confirm, "confirm", true, "measure a breaking step again before stopping, to filter one noisy window")
	return func() error {
		bps, err := parseBitrate(*bitrate)
		if err != nil {
			return usagef("--bitrate: %v", err)
		}
		o.BitrateBps = bps
		return nil
	}
}

// benchCapacity is `strata-bench capacity`: a stepped viewer sweep
// against one local edge that stops at the first step breaking the SLO.
func benchCapacity(ctx context.Context, args []string, p *bench.Progress) (any, error) {
	fs := flag.NewFlagSet("bench capacity", flag.ContinueOnError)
	var o bench.CapacityOptions
	fs.StringVar(&o.Transport, "transport", bench.TransportWebRTC, "viewers' transport: moq (raw QUIC) or webrtc (WHEP)")
	finish := sweepFlags(fs, &o)
	// With --target the steps are load runs against a running cluster.
	var remote bench.RemoteEdge
	cluster := clusterFlags(fs, &remote.Load)
	fs.StringVar(&remote.MetricsURL, "edge-metrics", "", "with --target: the edge's /metrics URL, for its CPU, memory and egress")
	fs.StringVar(&remote.MetricsToken, "edge-metrics-token", "", "bearer token of --edge-metrics; default $STRATA_METRICS_TOKEN")
	if err := parseBenchFlags(fs, args); err != nil {
		return nil, err
	}
	if err := finish(); err != nil {
		return nil, err
	}
	if o.Transport != bench.TransportMoQ && o.Transport != bench.TransportWebRTC {
		return nil, usagef("--transport %q: want moq or webrtc", o.Transport)
	}
	if err := cluster(false); err != nil {
		return nil, err
	}
	if remote.Load.Client != nil {
		if remote.MetricsToken == "" {
			remote.MetricsToken = os.Getenv("STRATA_METRICS_TOKEN")
		}
		remote.Load.Transport, remote.Load.BitrateBps, remote.Load.FPS = o.Transport, o.BitrateBps, o.FPS
		o.Measure = remote.Measure(o.StepDuration)
	}
	o.Progress = p
	return bench.Capacity(ctx, o)
}

// calibration is `strata-bench calibrate`'s result: the profile written
// and the sweeps it came from.
type calibration struct {
	Profile capacity.Profile                `json:"profile"`
	Written string                          `json:"written"`
	Sweeps  map[string]bench.CapacityResult `json:"sweeps"`
}

// benchCalibrate is `strata-bench calibrate --write FILE`: a capacity
// sweep per transport (or sweeps already run, with --from) turned into
// the node's capacity profile, which an edge loads with capacity.profile.
func benchCalibrate(ctx context.Context, args []string, p *bench.Progress) (any, error) {
	fs := flag.NewFlagSet("bench calibrate", flag.ContinueOnError)
	var o bench.CapacityOptions
	write := fs.String("write", "", "the profile file to write (required)")
	transports := fs.String("transports", "webrtc,moq", "transports to sweep, comma-separated")
	from := fs.String("from", "", "comma-separated capacity results (strata bench capacity --json) to use instead of sweeping")
	finish := sweepFlags(fs, &o)
	if err := parseBenchFlags(fs, args); err != nil {
		return nil, err
	}
	if err := finish(); err != nil {
		return nil, err
	}
	if *write == "" {
		return nil, usagef("--write FILE is required")
	}
	cal := calibration{Written: *write, Sweeps: map[string]bench.CapacityResult{}}
	host := bench.ThisHost()
	if *from != "" {
		for _, path := range strings.Split(*from, ",") {
			res, h, err := readCapacityResult(path)
			if err != nil {
				return nil, err
			}
			cal.Sweeps[res.Transport], host = res, h
		}
	} else {
		for _, tr := range strings.Split(*transports, ",") {
			if tr != bench.TransportMoQ && tr != bench.TransportWebRTC {
				return nil, usagef("--transports: %q: want moq or webrtc", tr)
			}
			o.Transport, o.Progress = tr, p
			p.Step("calibrating %s", tr)
			res, err := bench.Capacity(ctx, o)
			if err != nil {
				return nil, err
			}
			cal.Sweeps[tr] = res
		}
	}
	for tr, res := range cal.Sweeps {
		if !res.Broke {
			p.Step("warning: the %s sweep never broke the SLO: its knee (%d viewers) is a floor, and the profile caps the edge there; raise --max-viewers to find the real one",
				tr, res.KneeViewers)
		}
	}
	prof, err := bench.ProfileFrom(cal.Sweeps, host, time.Now())
	if err != nil {
		return nil, err
	}
	if err := prof.Write(*write); err != nil {
		return nil, err
	}
	cal.Profile = prof
	p.Step("wrote %s: %d Mbit/s of egress within the SLO", *write, prof.EgressMbps)
	return cal, nil
}

// readCapacityResult reads a stamped capacity result and the host it was
// measured on.
func readCapacityResult(path string) (bench.CapacityResult, bench.Host, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return bench.CapacityResult{}, bench.Host{}, err
	}
	var r struct {
		bench.CapacityResult
		Host bench.Host `json:"host"`
	}
	if err := json.Unmarshal(raw, &r); err != nil {
		return r.CapacityResult, r.Host, fmt.Errorf("%s: %w", path, err)
	}
	if r.Transport == "" || r.Host.Fingerprint == "" {
		return r.CapacityResult, r.Host, fmt.Errorf("%s: not a capacity result with a host (strata bench capacity --json)", path)
	}
	return r.CapacityResult, r.Host, nil
}
