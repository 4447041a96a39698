package main

import (
	"context"
	"flag"
	"os"

	"github.com/strata-edge/strata/bench"
)

func init() { benchSuites["sessions"] = benchSessions }

// benchSessions times session starts and re-placements on a local
// cluster whose edges run each session's instance, this binary's
// testsrc, with the process runtime.
func benchSessions(ctx context.Context, args []string, p *bench.Progress) (any, error) {
	fs := flag.NewFlagSet("bench sessions", flag.ContinueOnError)
	var o bench.SessionsOptions
	fs.IntVar(&o.Count, "count", 100, "sessions timed from create to first frame at a viewer")
	fs.IntVar(&o.Concurrency, "concurrency", 8, "sessions started at once")
	fs.IntVar(&o.Origins, "origins", 1, "origins in the local cluster")
	fs.IntVar(&o.Edges, "edges", 4, "edges (media plane and process runtime); all but one are killed in the re-placement phase")
	fs.IntVar(&o.Replace, "replace", 0, "sessions watched while edges are killed (default min(count, 20))")
	fs.DurationVar(&o.ViewerStall, "viewer-stall", 0, "how long a viewer waits for a frame before routing again (default 1s)")
	fs.StringVar(&o.GossipProfile, "gossip-profile", "lan", "gossip profile: lan, wan or local")
	if err := parseBenchFlags(fs, args); err != nil {
		return nil, err
	}
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	o.Command = []string{exe, "testsrc", "--log-level", "warn"}
	o.Progress = p
	return bench.Sessions(ctx, o)
}
