package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"

	"github.com/strata-edge/strata/bench"
	"github.com/strata-edge/strata/transport/moq/wire"
)

// benchSuites maps a suite name to its runner. Each prints progress on
// stderr and its result on stdout.
var benchSuites = map[string]func(ctx context.Context, args []string, p *bench.Progress) (any, error){
	"registry":  benchRegistry,
	"placement": benchPlacement,
	"fanout":    benchFanout,
	"gossip":    benchGossip,
}

// benchTools are the commands that read or write results rather than
// measure (compare, calibrate); they print their own output.
var benchTools = map[string]func(args []string, w io.Writer) error{}

func runBench(args []string) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" {
		fmt.Fprintln(os.Stderr, "Usage: strata-bench <registry|placement|gossip|fanout|sessions|player|capacity|calibrate|load|autoscale> [flags] [--json] [--report DIR]\n   or: strata-bench compare OLD.json NEW.json\n   or: strata bench <suite> [flags] [--json]\nRun 'strata-bench SUITE -h' for a suite's flags.")
		if len(args) == 0 {
			return usagef("missing suite")
		}
		return nil
	}
	if tool, ok := benchTools[args[0]]; ok {
		return tool(args[1:], os.Stdout)
	}
	suite, ok := benchSuites[args[0]]
	if !ok {
		return usagef("unknown bench suite %q", args[0])
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	p := &bench.Progress{W: os.Stderr}
	res, err := suite(ctx, args[1:], p)
	if err != nil {
		return err
	}
	argv := append([]string{"strata-bench"}, args...)
	if reportDir != "" {
		rep, err := bench.ReportFor(args[0], res, bench.ThisHost(), argv)
		if err != nil {
			return err
		}
		if err := rep.Write(reportDir); err != nil {
			return err
		}
		p.Step("report written to %s", filepath.Join(reportDir, "index.html"))
	}
	return printResult(os.Stdout, res, jsonOut, argv)
}

// jsonOut and reportDir are set by each suite's --json and --report flags.
var (
	jsonOut   bool
	reportDir string
)

// parseBenchFlags adds the flags every suite has (--json, --report) to fs
// and parses the suite's arguments.
func parseBenchFlags(fs *flag.FlagSet, args []string) error {
	fs.BoolVar(&jsonOut, "json", false, "print one JSON object")
	fs.StringVar(&reportDir, "report", "", "also write an HTML report (index.html, SVG plots, result.json) into this directory")
	if err := fs.Parse(args); err != nil {
		return usagef("%v", err)
	}
	return nil
}

// printResult writes a suite's result stamped with this host and the
// command line (every suite's JSON says where it was measured): one line
// with --json, indented otherwise.
// printJSON writes v as one JSON line.
func printJSON(w io.Writer, v any) error { return json.NewEncoder(w).Encode(v) }

func printResult(w io.Writer, res any, asJSON bool, argv []string) error {
	raw, err := bench.Stamped(res, bench.ThisHost(), argv)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	if asJSON {
		buf.Write(raw)
	} else if err := json.Indent(&buf, raw, "", "  "); err != nil {
		return err
	}
	buf.WriteByte('\n')
	_, err = w.Write(buf.Bytes())
	return err
}

func benchRegistry(ctx context.Context, args []string, p *bench.Progress) (any, error) {
	fs := flag.NewFlagSet("bench registry", flag.ContinueOnError)
	var o bench.RegistryOptions
	fs.IntVar(&o.Origins, "origins", 3, "origins in the local cluster")
	fs.DurationVar(&o.Duration, "duration", 10*time.Second, "throughput phase length (the fixed-load phase takes half)")
	fs.IntVar(&o.Clients, "clients", 256, "concurrent writers in the throughput phase")
	fs.IntVar(&o.Rate, "rate", 1000, "offered writes/s in the latency phase")
	fs.StringVar(&o.LogStore, "log-store", "wal", "Raft log store: wal or boltdb")
	fs.BoolVar(&o.Plaintext, "plaintext", false, "run the cluster without TLS, to compare with the default mutual TLS")
	if err := parseBenchFlags(fs, args); err != nil {
		return nil, err
	}
	o.Progress = p
	return bench.Registry(ctx, o)
}

// placementReport is `strata-bench placement`'s JSON: the engine's
// fields, then the committed placements' (absent with --skip-committed).
type placementReport struct {
	bench.PlacementEngineResult
	*bench.PlacementCommittedResult
}

func benchPlacement(ctx context.Context, args []string, p *bench.Progress) (any, error) {
	fs := flag.NewFlagSet("bench placement", flag.ContinueOnError)
	nodes := fs.Int("nodes", 10000, "extra fleet size to measure besides 1k and 10k")
	d := fs.Duration("duration", 2*time.Second, "measurement time per fleet size")
	skip := fs.Bool("skip-committed", false, "measure only the engine, not placements committed through a local cluster")
	var o bench.PlacementCommittedOptions
	fs.IntVar(&o.Origins, "origins", 3, "origins in the local cluster (committed placements)")
	fs.IntVar(&o.Edges, "edges", 20, "in-process edges (committed placements)")
	fs.IntVar(&o.Sessions, "sessions", 5000, "sessions to place (committed placements)")
	fs.IntVar(&o.Clients, "clients", 64, "concurrent creators (committed placements)")
	// A CPU profile of the committed part only (the whole cluster runs in
	// this process), for finding where a create's time goes.
	cpuprofile := fs.String("cpuprofile", "", "write a CPU profile of the committed placements to this file")
	if err := parseBenchFlags(fs, args); err != nil {
		return nil, err
	}
	p.Step("measuring the placement engine on 1k and 10k nodes, %s each", *d)
	eng, err := bench.PlacementEngine(ctx, *nodes, *d)
	if err != nil {
		return nil, err
	}
	rep := placementReport{PlacementEngineResult: eng}
	if *skip {
		return rep, nil
	}
	o.Progress = p
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return nil, err
		}
		defer pprof.StopCPUProfile()
	}
	com, err := bench.PlacementCommitted(ctx, o)
	if err != nil {
		return nil, err
	}
	rep.PlacementCommittedResult = &com
	return rep, nil
}

func benchGossip(ctx context.Context, args []string, p *bench.Progress) (any, error) {
	fs := flag.NewFlagSet("bench gossip", flag.ContinueOnError)
	var o bench.GossipOptions
	fs.IntVar(&o.Nodes, "nodes", 50, "in-process edges")
	fs.IntVar(&o.Kills, "kills", 0, "edges hard-stopped to time failure detection (default nodes/5)")
	fs.IntVar(&o.LoadRounds, "load-rounds", 3, "load changes timed per edge")
	fs.StringVar(&o.Profile, "profile", "lan", "gossip profile: lan, wan or local")
	if err := parseBenchFlags(fs, args); err != nil {
		return nil, err
	}
	o.Progress = p
	return bench.Gossip(ctx, o)
}

func benchFanout(ctx context.Context, args []string, p *bench.Progress) (any, error) {
	fs := flag.NewFlagSet("bench fanout", flag.ContinueOnError)
	transport := fs.String("transport", "moq", "moq (raw QUIC, subscribers in a separate process) or webrtc (WHEP)")
	subs := fs.Int("subscribers", 100, "subscribers")
	bitrate := fs.String("bitrate", "2.5M", "stream bitrate in bit/s (suffix k or M)")
	d := fs.Duration("duration", 20*time.Second, "measured window")
	baseline := fs.Bool("baseline", false, "moq: also measure a plain UDP sender per core")
	fps := fs.Int("fps", 60, "moq: frames (objects) per second; groups are one second long")
	hops := fs.Int("hops", 0, "moq: relays between the publisher's relay and the subscribers' (0 or 1)")
	moqVersion := fs.Int("moq-version", 0, "moq: MoQ Transport draft the subscribers speak, 14 or 18 (default the newest)")
	var prof bench.FanoutProfile
	fs.StringVar(&prof.CPU, "cpuprofile", "", "write a CPU profile of the relay process over the measured window")
	fs.StringVar(&prof.Alloc, "memprofile", "", "moq: write an allocation profile of the relay process after the window")
	if err := parseBenchFlags(fs, args); err != nil {
		return nil, err
	}
	bps, err := parseBitrate(*bitrate)
	if err != nil {
		return nil, usagef("--bitrate: %v", err)
	}
	var mv wire.Version
	if *moqVersion != 0 {
		mv = wire.Version(0xff000000 + uint64(*moqVersion))
		if _, err := wire.CodecFor(mv); err != nil || *moqVersion < 0 || *moqVersion > 0xff {
			return nil, usagef("--moq-version %d: want one of %v", *moqVersion, wire.SupportedVersions())
		}
	}
	p.Step("%s fan-out: %d subscribers of a %s bit/s stream for %s", *transport, *subs, *bitrate, *d)
	switch *transport {
	case "moq":
		return bench.FanoutMoQ(ctx, bench.FanoutOptions{Subscribers: *subs, BitrateBps: bps, Duration: *d,
			Baseline: *baseline, FPS: *fps, Hops: *hops, Profile: prof, MoQVersion: mv})
	case "webrtc":
		return bench.FanoutWebRTC(ctx, bench.FanoutWebRTCOptions{Subscribers: *subs, BitrateBps: bps, Duration: *d, CPUProfile: prof.CPU})
	}
	return nil, usagef("--transport %q: want moq or webrtc", *transport)
}

// parseBitrate reads "2.5M", "800k" or a plain number of bit/s.
func parseBitrate(s string) (int64, error) {
	mult := 1.0
	switch {
	case strings.HasSuffix(s, "M"):
		mult, s = 1e6, strings.TrimSuffix(s, "M")
	case strings.HasSuffix(s, "k"):
		mult, s = 1e3, strings.TrimSuffix(s, "k")
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil || v <= 0 {
		return 0, fmt.Errorf("%q is not a bitrate", s)
	}
	return int64(v * mult), nil
}
