package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/strata-edge/strata/api"
	"github.com/strata-edge/strata/bench"
)

func init() { benchSuites["load"] = benchLoad }

// benchLoad is `strata-bench load`: sessions of an app on a running
// cluster, each watched by viewers routed through the API.
func benchLoad(ctx context.Context, args []string, p *bench.Progress) (any, error) {
	fs := flag.NewFlagSet("bench load", flag.ContinueOnError)
	var o bench.LoadOptions
	cluster := clusterFlags(fs, &o)
	fs.IntVar(&o.Sessions, "sessions", 1, "sessions to create")
	fs.IntVar(&o.ViewersPerSession, "viewers-per-session", 10, "viewers per session, each routed through the API")
	fs.StringVar(&o.Transport, "transport", bench.TransportMoQ, "viewers' transport: moq (raw QUIC) or webrtc (WHEP)")
	fs.DurationVar(&o.Duration, "duration", 20*time.Second, "how long the viewers play")
	bitrate := fs.String("bitrate", "1M", "with --publish: stream bitrate in bit/s (suffix k or M)")
	fs.IntVar(&o.FPS, "fps", 30, "with --publish: frames per second")
	fs.BoolVar(&o.Keep, "keep", false, "leave the sessions running afterwards")
	agents := fs.String("agents", "", "comma-separated agent URLs (strata bench agent) that share the sessions; token in $"+agentTokenEnv)
	if err := parseBenchFlags(fs, args); err != nil {
		return nil, err
	}
	bps, err := parseBitrate(*bitrate)
	if err != nil {
		return nil, usagef("--bitrate: %v", err)
	}
	o.BitrateBps, o.Progress = bps, p
	var res bench.LoadResult
	if *agents != "" {
		// The agents reach the cluster with their own configuration.
		job := bench.AgentJob{Sessions: o.Sessions, ViewersPerSession: o.ViewersPerSession, Transport: o.Transport,
			Duration: o.Duration, Publish: o.Publish, BitrateBps: o.BitrateBps, FPS: o.FPS}
		hc := &http.Client{Timeout: o.Duration + 5*time.Minute}
		p.Step("%d sessions × %d viewers over %s, shared by %d agents", o.Sessions, o.ViewersPerSession, o.Transport, len(strings.Split(*agents, ",")))
		res, err = bench.RunAgents(ctx, hc, strings.Split(*agents, ","), os.Getenv(agentTokenEnv), job)
	} else {
		if err := cluster(true); err != nil {
			return nil, err
		}
		res, err = bench.Load(ctx, o)
	}
	if err != nil {
		return nil, err
	}
	if p != nil && p.W != nil {
		if err := writeLoadTable(p.W, res); err != nil {
			return nil, err
		}
	}
	return res, nil
}

// clusterFlags adds the flags that reach a running cluster (--target,
// --key, --app, --tenant, --region, --publish, --ca, --insecure) to fs;
// the returned func, called once fs is parsed, fills o's Client, TLS and
// app. With required it insists on --target, --key and --app; otherwise
// it does nothing when --target is empty.
func clusterFlags(fs *flag.FlagSet, o *bench.LoadOptions) func(required bool) error {
	target := fs.String("target", "", "an origin's API URL, https://host:port")
	key := fs.String("key", "", "API key of the tenant (or admin token); default $STRATA_API_KEY")
	caFile := fs.String("ca", "", "PEM file of the CA to trust for the API and the edges (strata dev writes one)")
	insecure := fs.Bool("insecure", false, "do not verify TLS certificates (loopback and test clusters only)")
	fs.StringVar(&o.AppID, "app", "", "app whose sessions to create")
	fs.StringVar(&o.TenantID, "tenant", "", "tenant of the app (needed with an admin token)")
	fs.StringVar(&o.Region, "region", "", "placement region for the sessions and viewers")
	fs.BoolVar(&o.Publish, "publish", false, "publish a synthetic stream into each session (for apps whose instance publishes nothing)")
	return func(required bool) error {
		if *target == "" && !required {
			return nil
		}
		if *key == "" { // read here, so -h never prints it
			*key = os.Getenv("STRATA_API_KEY")
		}
		if *target == "" || *key == "" || o.AppID == "" {
			return usagef("--target, --key and --app are required")
		}
		tc := &tls.Config{MinVersion: tls.VersionTLS12, InsecureSkipVerify: *insecure} //nolint:gosec // opt-in for test clusters
		if *caFile != "" {
			pem, err := os.ReadFile(*caFile)
			if err != nil {
				return err
			}
			tc.RootCAs = x509.NewCertPool()
			if !tc.RootCAs.AppendCertsFromPEM(pem) {
				return usagef("--ca %s: no PEM certificate", *caFile)
			}
		}
		o.Client = api.New(*key, *target)
		if !strings.HasPrefix(*target, "http://") {
			o.Client = o.Client.WithTLS(tc)
		}
		o.TLS = tc
		return nil
	}
}

// writeLoadTable prints one row per session and a total.
func writeLoadTable(w io.Writer, r bench.LoadResult) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SESSION\tINGEST\tVIEWERS\tPLAYING\tEDGES\tFRAMES\tP50 MS\tP99 MS\tREJOINS\tERRORS")
	for _, s := range r.Sessions {
		edges := make([]string, 0, len(s.Edges))
		for e, n := range s.Edges {
			edges = append(edges, fmt.Sprintf("%s:%d", e, n))
		}
		sort.Strings(edges)
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%s\t%d\t%.1f\t%.1f\t%d\t%d %s\n", s.ID, s.Ingest, s.Viewers, s.Playing,
			strings.Join(edges, ","), s.Frames, s.P50Ms, s.P99Ms, s.Rejoins, s.Errors, s.FirstError)
	}
	fmt.Fprintf(tw, "total\t\t%d\t%d\t\t%d\t%.1f\t%.1f\t%d\t%d\n", r.Viewers, r.Playing, r.Frames, r.P50Ms, r.P99Ms, r.Rejoins, r.Errors)
	return tw.Flush()
}
