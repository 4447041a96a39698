package main

import (
	"context"
	"flag"
	"time"

	"github.com/strata-edge/strata/bench"
)

func init() {
	benchSuites["player"] = benchPlayer
}

// benchPlayer is `strata-bench player`: the browser player against an
// in-process cluster, in headless Chromium.
func benchPlayer(ctx context.Context, args []string, p *bench.Progress) (any, error) {
	fs := flag.NewFlagSet("bench player", flag.ContinueOnError)
	var o bench.PlayerOptions
	fs.IntVar(&o.Runs, "runs", 5, "page loads timed to the first frame (median reported)")
	fs.DurationVar(&o.Window, "window", 10*time.Second, "steady MoQ playback before glass-to-glass is read")
	fs.StringVar(&o.Chromium, "chromium", "", "browser binary (default: $STRATA_CHROMIUM, then chromium on PATH)")
	if err := parseBenchFlags(fs, args); err != nil {
		return nil, err
	}
	o.Progress = p
	return bench.Player(ctx, o)
}
