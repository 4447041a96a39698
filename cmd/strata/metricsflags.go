package main

import (
	"flag"

	"github.com/strata-edge/strata/internal/metricsrv"
)

// bindMetricsFlags binds the metrics settings shared by origin and edge.
// The token itself has no flag (argv is visible in ps): it comes from a
// file, the config file or STRATA_METRICS_TOKEN.
func bindMetricsFlags(fs *flag.FlagSet, c *metricsrv.Config, where string) {
	fs.StringVar(&c.Addr, "metrics-addr", c.Addr, "host:port of a listener of its own for /metrics; empty: "+where+" (metrics.addr)")
	fs.StringVar(&c.TokenFile, "metrics-token-file", c.TokenFile, "`file` holding the bearer token /metrics requires; or set STRATA_METRICS_TOKEN (metrics.token_file)")
}
