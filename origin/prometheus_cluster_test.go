package origin_test

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/strata-edge/strata/api"
	"github.com/strata-edge/strata/internal/pki"
	"github.com/strata-edge/strata/internal/poll"
	"github.com/strata-edge/strata/internal/promtest"
	"github.com/strata-edge/strata/internal/testcluster"
	"github.com/strata-edge/strata/origin"
)

// sdTargets fetches GET /v1/prometheus/targets with token.
func sdTargets(hc *http.Client, apiAddr, token string) (int, []api.PrometheusTargetGroup, error) {
	req, _ := http.NewRequest("GET", "https://"+apiAddr+"/v1/prometheus/targets", nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return resp.StatusCode, nil, fmt.Errorf("%d %.200s", resp.StatusCode, b)
	}
	var groups []api.PrometheusTargetGroup
	if err := json.Unmarshal(b, &groups); err != nil {
		return resp.StatusCode, nil, fmt.Errorf("decode %.200s: %w", b, err)
	}
	return resp.StatusCode, groups, nil
}

func caClient(t *testing.T, caFile string) *http.Client {
	t.Helper()
	b, err := os.ReadFile(caFile)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(b) {
		t.Fatalf("%s: no certificate", caFile)
	}
	// As Prometheus verifies: the cluster CA and the name every node
	// certificate carries.
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots, ServerName: pki.ServerName}}}
}

// TestPrometheusScrapesWholeCluster: a stock Prometheus, given only one
// origin's service discovery URL, the admin token and the cluster CA,
// finds every origin and edge and scrapes each with up == 1; and every
// node kind's /metrics passes `promtool check metrics`.
func TestPrometheusScrapesWholeCluster(t *testing.T) {
	promPath, promtool := promtest.Programs(t)
	dir := t.TempDir()
	c, err := testcluster.Start(testcluster.Options{Origins: 2, Dir: filepath.Join(dir, "cluster")})
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
	nodes := []string{"edge-a", "edge-b", "origin-1", "origin-2"}
	caFile := filepath.Join(dir, "cluster", "origin-1", "pki", "ca.crt")
	hc := caClient(t, caFile)
	sdAddr := c.Nodes[0].APIAddr()

	// Service discovery lists every node (origins once the leader and the
	// joiner registered, edges once registered), labelled.
	var groups []api.PrometheusTargetGroup
	poll.For(t, 20*time.Second, 50*time.Millisecond, func() error {
		_, g, err := sdTargets(hc, sdAddr, c.AdminToken)
		if err != nil {
			return err
		}
		var got []string
		for _, tg := range g {
			got = append(got, tg.Labels["node"])
		}
		if !slices.Equal(got, nodes) {
			return fmt.Errorf("targets for %v, want %v", got, nodes)
		}
		groups = g
		return nil
	})
	for _, tg := range groups {
		l := tg.Labels
		wantRole := "edge"
		if strings.HasPrefix(l["node"], "origin-") {
			wantRole = "origin"
		}
		if len(tg.Targets) != 1 || l["role"] != wantRole || (wantRole == "edge" && l["region"] == "") || l["__scheme__"] != "https" || l["__metrics_path__"] != "/metrics" {
			t.Errorf("target group %+v: want one https /metrics target with role %s (and a region for edges)", tg, wantRole)
		}
	}
	// /v1/nodes shows the same addresses, as addrs.metrics.
	listed, err := c.Client().Nodes().List(context.Background(), api.NodeFilter{})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range listed {
		i := slices.IndexFunc(groups, func(g api.PrometheusTargetGroup) bool { return g.Labels["node"] == n.ID })
		if i < 0 || n.Addrs["metrics"] != groups[i].Targets[0] {
			t.Errorf("/v1/nodes: %s addrs.metrics = %q; service discovery lists it at index %d", n.ID, n.Addrs["metrics"], i)
		}
	}
	if status, _, _ := sdTargets(hc, sdAddr, ""); status != http.StatusUnauthorized {
		t.Errorf("service discovery without credentials: %d, want 401", status)
	}

	// Every node kind's metrics are promtool-clean: origins (leader and
	// follower) and media edges, whose MoQ and WebRTC collectors must be
	// there.
	for _, tg := range groups {
		body := scrapeTLS(t, hc, tg.Targets[0])
		if tg.Labels["role"] == "edge" {
			for _, series := range []string{"strata_gossip_members", "strata_edge_moq_", "strata_webrtc_"} {
				if !strings.Contains(body, series) {
					t.Errorf("%s: /metrics has no %s series", tg.Labels["node"], series)
				}
			}
		}
		if err := promtest.CheckMetrics(promtool, body); err != nil {
			t.Errorf("%s: %v", tg.Labels["node"], err)
		}
	}

	// A real Prometheus with one scrape job. The authorization type is
	// spelled out: Debian's Prometheus 2.42 sends the bare credentials in
	// http_sd_configs without it.
	tokenFile := filepath.Join(dir, "admin-token")
	if err := os.WriteFile(tokenFile, []byte(c.AdminToken), 0o600); err != nil {
		t.Fatal(err)
	}
	srv, err := promtest.Start(promPath, dir, fmt.Sprintf(`global:
  scrape_interval: 1s
scrape_configs:
  - job_name: strata
    scrape_interval: 1s
    scrape_timeout: 1s
    tls_config: {ca_file: %[1]q, server_name: %[4]s}
    http_sd_configs:
      - url: https://%[2]s/v1/prometheus/targets
        refresh_interval: 1s
        authorization: {type: Bearer, credentials_file: %[3]q}
        tls_config: {ca_file: %[1]q, server_name: %[4]s}
`, caFile, sdAddr, tokenFile, pki.ServerName))
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		if t.Failed() {
			if resp, err := http.Get("http://" + srv.Addr + "/api/v1/targets"); err == nil {
				b, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				t.Logf("prometheus targets: %.3000s", b)
			}
		}
		srv.Close()
		if t.Failed() {
			t.Logf("prometheus log:\n%.5000s", srv.Logs())
		}
	}()
	poll.For(t, 45*time.Second, 250*time.Millisecond, func() error {
		up, err := queryUp(srv)
		if err != nil {
			return err
		}
		var scraped []string
		for node, v := range up {
			if v != "1" {
				return fmt.Errorf("up{node=%q} = %s", node, v)
			}
			scraped = append(scraped, node)
		}
		sort.Strings(scraped)
		if !slices.Equal(scraped, nodes) {
			return fmt.Errorf("prometheus scraped %v, want %v", scraped, nodes)
		}
		return nil
	})
}

// scrapeTLS GETs https://addr/metrics.
func scrapeTLS(t *testing.T, hc *http.Client, addr string) string {
	t.Helper()
	resp, err := hc.Get("https://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("GET %s/metrics: %d %.200s", addr, resp.StatusCode, b)
	}
	return string(b)
}

// queryUp asks Prometheus for up, by node label.
func queryUp(srv *promtest.Server) (map[string]string, error) {
	res, err := srv.Query(`up{job="strata"}`)
	if err != nil {
		return nil, err
	}
	up := map[string]string{}
	for _, s := range res {
		up[s.Metric["node"]] = s.Value
	}
	return up, nil
}

// TestPrometheusSDMetricsToken: with metrics.token set, the service
// discovery route also admits that token (Prometheus' one credential),
// and a wrong one is refused with the API's 401.
func TestPrometheusSDMetricsToken(t *testing.T) {
	const token = "metrics-sd-0123456789"
	var dataDir string
	o := startOrigin(t, func(c *origin.Config) { c.Metrics.Token, dataDir = token, c.DataDir })
	hc := caClient(t, filepath.Join(dataDir, "pki", "ca.crt"))
	var groups []api.PrometheusTargetGroup
	poll.For(t, 10*time.Second, 50*time.Millisecond, func() error {
		var err error
		_, groups, err = sdTargets(hc, o.APIAddr(), token)
		if err == nil && len(groups) != 1 {
			err = fmt.Errorf("%d target groups, want the origin's", len(groups))
		}
		return err
	})
	if g := groups[0]; g.Targets[0] != o.APIAddr() || g.Labels["node"] != "origin-1" || g.Labels["role"] != "origin" {
		t.Errorf("target group %+v: want origin-1 at its API address %s", g, o.APIAddr())
	}
	if status, _, _ := sdTargets(hc, o.APIAddr(), "wrong-token"); status != http.StatusUnauthorized {
		t.Errorf("wrong token: %d, want 401", status)
	}
}
