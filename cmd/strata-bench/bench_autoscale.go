package main

import (
	"context"
	"flag"
	"time"

	"github.com/strata-edge/strata/bench"
)

func init() { benchSuites["autoscale"] = benchAutoscale }

func benchAutoscale(ctx context.Context, args []string, p *bench.Progress) (any, error) {
	fs := flag.NewFlagSet("bench autoscale", flag.ContinueOnError)
	var o bench.AutoscaleOptions
	fs.StringVar(&o.Trace, "trace", "both", "demand trace: diurnal, spike or both")
	fs.DurationVar(&o.LeadTime, "lead-time", 90*time.Second, "modelled time from a node's request to its first session (a GPU node)")
	fs.DurationVar(&o.MeanLifetime, "lifetime", 20*time.Minute, "mean session lifetime")
	fs.IntVar(&o.SlotsPerNode, "slots", 4, "sessions per node")
	fs.DurationVar(&o.Interval, "interval", 15*time.Second, "scaling interval of both scalers")
	fs.Float64Var(&o.BufferPercent, "buffer-percent", 25, "Strata's pool buffer, percent of the slots in use")
	fs.DurationVar(&o.DrainDeadline, "drain-deadline", 2*time.Hour, "Strata's drain deadline")
	fs.Uint64Var(&o.Seed, "seed", 1, "random seed of the trace")
	if err := parseBenchFlags(fs, args); err != nil {
		return nil, err
	}
	o.Progress = p
	return bench.Autoscale(ctx, o)
}
