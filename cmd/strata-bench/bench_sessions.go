package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/strata-edge/strata/bench"
	"github.com/strata-edge/strata/internal/sibling"
)

func init() { benchSuites["sessions"] = benchSessions }

// strataBinEnv names the strata binary that ran `strata bench`, so that
// the sessions it starts run that same build.
const strataBinEnv = "STRATA_BIN"

// benchSessions times session starts and re-placements on a local
// cluster whose edges run each session's instance, `strata testsrc`,
// with the process runtime.
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
	fs.StringVar(&o.Runtime, "runtime", "process", "process, or docker: time container starts through $DOCKER_HOST (the strata binary must be static, CGO_ENABLED=0) and, in the same run, as many process starts")
	strata := fs.String("strata", "", "strata binary run as each session's instance (default: $"+strataBinEnv+", which strata bench sets to itself, else strata beside strata-bench, else on PATH)")
	if err := parseBenchFlags(fs, args); err != nil {
		return nil, err
	}
	exe, err := strataBinary(*strata)
	if err != nil {
		return nil, err
	}
	o.Command = []string{exe, "testsrc", "--log-level", "warn"}
	o.Progress = p
	return bench.Sessions(ctx, o)
}

// strataBinary resolves --strata to an absolute path (the edges start
// instances in directories of their own), finding strata when it is empty.
func strataBinary(flagValue string) (string, error) {
	if flagValue == "" {
		flagValue = os.Getenv(strataBinEnv)
	}
	if flagValue == "" {
		p, err := sibling.Find("strata")
		if err != nil {
			return "", fmt.Errorf("%w (build it with 'make build', or name it with --strata)", err)
		}
		flagValue = p
	}
	p, err := exec.LookPath(flagValue)
	if err != nil {
		return "", usagef("--strata: %v", err)
	}
	return filepath.Abs(p)
}
