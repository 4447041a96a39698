package edge_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/strata-edge/strata/api"
	"github.com/strata-edge/strata/internal/pki"
	"github.com/strata-edge/strata/internal/poll"
	"github.com/strata-edge/strata/internal/promtest"
	"github.com/strata-edge/strata/internal/testcluster"
)

// TestViewerBeaconsInPrometheus: viewers' beacons posted to an edge
// become strata_viewer_* series, labelled with the edge's region and the
// transport, in a stock Prometheus scraping that edge; the edge's
// metrics with beacon histograms filled pass `promtool check metrics`.
// It needs Debian's prometheus package: skipped without it, failed with
// CI=true.
func TestViewerBeaconsInPrometheus(t *testing.T) {
	prom, promtool := promtest.Programs(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	dir := t.TempDir()
	c, err := testcluster.Start(testcluster.Options{Origins: 1, Dir: filepath.Join(dir, "cluster")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	spec := testcluster.MediaEdgeSpec("edge-a", "eu", 48.8, 2.3)
	if err := c.StartEdgesAlive([]testcluster.EdgeSpec{spec}, 20*time.Second); err != nil {
		t.Fatal(err)
	}
	cl := c.Client()
	ten, app, err := testcluster.GameApp(ctx, cl, "beacons")
	if err != nil {
		t.Fatal(err)
	}
	lat, lon := 48.8, 2.3
	ses, err := testcluster.PlaceSession(ctx, cl, api.SessionSpec{TenantID: ten.ID, AppID: app.ID, Lat: &lat, Lon: &lon}, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	v, err := cl.Sessions().Viewer(ctx, ses.ID, api.ViewerRequest{Lat: &lat, Lon: &lon})
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(v.WHEPURL)
	if err != nil {
		t.Fatal(err)
	}
	hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}} //nolint:gosec // the edge's self-signed media certificate
	for _, body := range []string{
		`{"transport":"moq","watch_ms":10000,"first_frame_ms":380,"glass_to_glass_ms":95,"fps":30,"stalls_ms":[900]}`,
		`{"transport":"whep","watch_ms":10000,"first_frame_ms":610,"fps":29.5}`,
	} {
		req, _ := http.NewRequest(http.MethodPost, "https://"+u.Host+"/v1/sessions/"+ses.ID+"/beacon", strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+v.Token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusNoContent {
			t.Fatalf("beacon: %d %.200s", resp.StatusCode, b)
		}
	}

	e, ok := c.Edge("edge-a")
	if !ok {
		t.Fatal("edge-a not started")
	}
	caFile := filepath.Join(dir, "ca.crt")
	if err := os.WriteFile(caFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.CA.Raw}), 0o600); err != nil {
		t.Fatal(err)
	}
	srv, err := promtest.Start(prom, dir, fmt.Sprintf(`global:
  scrape_interval: 1s
scrape_configs:
  - job_name: edges
    scrape_interval: 1s
    scrape_timeout: 1s
    scheme: https
    tls_config: {ca_file: %q, server_name: %s}
    static_configs:
      - targets: [%q]
`, caFile, pki.ServerName, e.MetricsAddr()))
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		srv.Close()
		if t.Failed() {
			t.Logf("prometheus log:\n%.5000s", srv.Logs())
		}
	}()

	want := map[string]string{
		`strata_viewer_beacons_total{region="eu",transport="moq"}`:                "1",
		`strata_viewer_beacons_total{region="eu",transport="whep"}`:               "1",
		`strata_viewer_first_frame_seconds_count{region="eu",transport="moq"}`:    "1",
		`strata_viewer_first_frame_seconds_count{region="eu",transport="whep"}`:   "1",
		`strata_viewer_glass_to_glass_seconds_count{region="eu",transport="moq"}`: "1",
		`strata_viewer_stall_seconds_sum{region="eu",transport="moq"}`:            "0.9",
		`strata_viewer_frames_per_second_sum{region="eu",transport="whep"}`:       "29.5",
	}
	poll.For(t, 45*time.Second, 250*time.Millisecond, func() error {
		for q, v := range want {
			got, err := srv.Query(q)
			if err != nil {
				return err
			}
			if len(got) != 1 || got[0].Value != v {
				return fmt.Errorf("%s = %v, want %s", q, got, v)
			}
		}
		return nil
	})

	// The edge's metrics, histograms filled, are promtool-clean.
	req, _ := http.NewRequest(http.MethodGet, "https://"+e.MetricsAddr()+"/metrics", nil)
	roots := x509.NewCertPool()
	roots.AddCert(c.CA)
	mc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots, ServerName: pki.ServerName}}}
	resp, err := mc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err := promtest.CheckMetrics(promtool, string(body)); err != nil {
		t.Error(err)
	}
}
