package bench

import (
	"context"
	"crypto/tls"
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
}
