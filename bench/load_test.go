package bench

import (
	"context"
	"crypto/tls"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/strata-edge/strata/internal/testcluster"
)

// TestLoadAgainstCluster runs the load generator against an in-process
// cluster of two media edges: it creates sessions of an app, publishes
// into them, routes every viewer through the API and reports each
// session's viewers, frames and glass-to-glass latency.
func TestLoadAgainstCluster(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a cluster")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	c, err := testcluster.Start(testcluster.Options{Origins: 1, Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	if err := c.StartEdgesAlive([]testcluster.EdgeSpec{
		testcluster.MediaEdgeSpec("edge-a", "eu", 48.8, 2.3),
		testcluster.MediaEdgeSpec("edge-b", "us", 40.7, -74),
	}, 20*time.Second); err != nil {
		t.Fatal(err)
	}
	ten, app, err := testcluster.GameApp(ctx, c.Client(), "load")
	if err != nil {
		t.Fatal(err)
	}
	for _, tr := range []string{TransportMoQ, TransportWebRTC} {
		t.Run(tr, func(t *testing.T) {
			res, err := Load(ctx, LoadOptions{Client: c.Client(), TLS: &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // loopback test edges
				TenantID: ten.ID, AppID: app.ID, Sessions: 2, ViewersPerSession: 3, Transport: tr,
				Duration: 3 * time.Second, Publish: true, BitrateBps: 300_000})
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%+v", res)
			if len(res.Sessions) != 2 || res.Viewers != 6 || res.Errors != 0 {
				t.Fatalf("result %+v", res)
			}
			for _, s := range res.Sessions {
				if s.Playing != 3 || s.Frames == 0 || s.Ingest == "" || len(s.Edges) == 0 {
					t.Fatalf("session %+v", s)
				}
			}
			if tr == TransportMoQ && (res.P50Ms <= 0 || res.P99Ms < res.P50Ms) {
				t.Fatalf("latency %+v", res)
			}
		})
	}
	// The capacity sweep against this cluster: each step a load run,
	// the edge's CPU, memory and egress from its /metrics.
	t.Run("remote capacity", func(t *testing.T) {
		e, ok := c.Edge("edge-a")
		if !ok {
			t.Fatal("no edge-a")
		}
		tc := &tls.Config{InsecureSkipVerify: true} //nolint:gosec // loopback test edges
		remote := RemoteEdge{Load: LoadOptions{Client: c.Client(), TLS: tc, TenantID: ten.ID, AppID: app.ID, Region: "eu",
			Transport: TransportMoQ, Publish: true, BitrateBps: 300_000}, MetricsURL: "https://" + e.MetricsAddr() + "/metrics"}
		res, err := Capacity(ctx, CapacityOptions{Transport: TransportMoQ, Start: 2, Step: 2, MaxViewers: 4,
			SLO: SLO{P99Ms: 5000, Loss: 0.5}, Measure: remote.Measure(2 * time.Second)})
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%+v", res)
		if res.KneeViewers != 4 || res.Broke || res.CPUCoresAtKnee <= 0 || res.EgressGbpsAtKnee <= 0 || res.Steps[1].RSSBytes == 0 {
			t.Fatalf("remote sweep %+v", res)
		}
	})
	// Two agents, each with its own HTTP listener, share one run that a
	// controller drives: sessions are split 2 + 1 and the rows merged.
	t.Run("agents", func(t *testing.T) {
		tc := &tls.Config{InsecureSkipVerify: true} //nolint:gosec // loopback test edges
		var urls []string
		for range 2 {
			ln, err := net.Listen("tcp", "127.0.0.1:0")
			if err != nil {
				t.Fatal(err)
			}
			srv := &http.Server{Handler: &Agent{Token: "agent-secret", Load: LoadOptions{Client: c.Client(), TLS: tc,
				TenantID: ten.ID, AppID: app.ID}}, ReadHeaderTimeout: 5 * time.Second}
			go func() { _ = srv.Serve(ln) }()
			t.Cleanup(func() { _ = srv.Close() })
			urls = append(urls, "http://"+ln.Addr().String())
		}
		hc := &http.Client{Timeout: time.Minute}
		job := AgentJob{Sessions: 3, ViewersPerSession: 2, Transport: TransportMoQ, Duration: 2 * time.Second,
			Publish: true, BitrateBps: 300_000, FPS: 30}
		if _, err := RunAgents(ctx, hc, urls, "wrong", job); err == nil || !strings.Contains(err.Error(), "401") {
			t.Fatalf("wrong agent token: %v", err)
		}
		res, err := RunAgents(ctx, hc, urls, "agent-secret", job)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%+v", res)
		if res.Agents != 2 || len(res.Sessions) != 3 || res.Viewers != 6 || res.Playing != 6 || res.Errors != 0 || res.P50Ms <= 0 {
			t.Fatalf("merged %+v", res)
		}
	})
}

func TestPromSample(t *testing.T) {
	for line, want := range map[string]float64{
		"process_cpu_seconds_total 12.5":                      12.5,
		`strata_webrtc_egress_bytes_total{edge="a"} 1e+06`:    1e6,
		"process_resident_memory_bytes 4.2e+07 1700000000000": 4.2e7,
		`strata_edge_moq_egress_bytes_total{a="}",b="x"} 7`:   7,
	} {
		_, got, ok := promSample(line)
		if !ok || got != want {
			t.Errorf("%q: %v %v, want %v", line, got, ok, want)
		}
	}
	for _, line := range []string{"", "# HELP x y", "name", "x{bad 1"} {
		if _, _, ok := promSample(line); ok {
			t.Errorf("%q parsed", line)
		}
	}
}
