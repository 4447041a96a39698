package edge_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/strata-edge/strata/api"
	"github.com/strata-edge/strata/internal/netutil"
	"github.com/strata-edge/strata/internal/pki"
	"github.com/strata-edge/strata/internal/poll"
	"github.com/strata-edge/strata/internal/testcluster"
)

// TestViewerBeaconsInPrometheus: viewers' beacons posted to an edge
// become strata_viewer_* series, labelled with the edge's region and the
// transport, in a stock Prometheus scraping that edge; the edge's
// metrics with beacon histograms filled pass `promtool check metrics`.
// It needs Debian's prometheus package: skipped without it, failed with
// CI=true.
func TestViewerBeaconsInPrometheus(t *testing.T) {
	var progs [2]string
	for i, name := range []string{"prometheus", "promtool"} {
		p, err := exec.LookPath(name)
		if err != nil {
			if os.Getenv("CI") == "true" {
				t.Fatalf("%s not found (Debian package prometheus): %v", name, err)
			}
			t.Skipf("%s not found (install Debian's prometheus package): %v", name, err)
		}
		progs[i] = p
	}
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
	cfgFile := filepath.Join(dir, "prometheus.yml")
	cfg := fmt.Sprintf(`global:
  scrape_interval: 1s
scrape_configs:
  - job_name: edges
    scrape_interval: 1s
    scrape_timeout: 1s
    scheme: https
    tls_config: {ca_file: %q, server_name: %s}
    static_configs:
      - targets: [%q]
`, caFile, pki.ServerName, e.MetricsAddr())
	if err := os.WriteFile(cfgFile, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	ports, err := netutil.FreeLoopbackAddrs(1)
	if err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	cmd := exec.Command(progs[0], "--config.file="+cfgFile, "--storage.tsdb.path="+filepath.Join(dir, "tsdb"),
		"--web.listen-address="+ports[0], "--log.level=warn")
	cmd.Stdout, cmd.Stderr = &logs, &logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = cmd.Process.Signal(os.Interrupt)
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("prometheus log:\n%.5000s", logs.String())
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
			got, err := promQuery(ports[0], q)
			if err != nil {
				return err
			}
			if len(got) != 1 || got[0] != v {
				return fmt.Errorf("%s = %v, want [%s]", q, got, v)
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
	check := exec.Command(progs[1], "check", "metrics")
	check.Stdin = bytes.NewReader(body)
	if out, err := check.CombinedOutput(); err != nil {
		t.Errorf("promtool check metrics: %v\n%s", err, out)
	}
}

// promQuery runs an instant query on Prometheus at addr and returns the
// values of its result series.
func promQuery(addr, q string) ([]string, error) {
	resp, err := http.Get("http://" + addr + "/api/v1/query?query=" + url.QueryEscape(q))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var r struct {
		Status string `json:"status"`
		Data   struct {
			Result []struct {
				Value []any `json:"value"`
			} `json:"result"`
		} `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		return nil, err
	}
	if r.Status != "success" {
		return nil, fmt.Errorf("query %s: status %s", q, r.Status)
	}
	var out []string
	for _, s := range r.Data.Result {
		if len(s.Value) == 2 {
			v, _ := s.Value[1].(string)
			out = append(out, v)
		}
	}
	return out, nil
}
