package edge

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/strata-edge/strata/internal/pki"
	"github.com/strata-edge/strata/internal/poll"
	"github.com/strata-edge/strata/registry/gossip"
)

// TestEdgeMetrics: with metrics.addr set an edge serves /metrics there,
// and with a token (here from metrics.token_file) only to requests that
// present it; without metrics.addr it serves none.
func TestEdgeMetrics(t *testing.T) {
	key, _ := gossip.GenerateKey()
	const token = "edge-metrics-0123456789"
	file := filepath.Join(t.TempDir(), "token")
	if err := os.WriteFile(file, []byte(token), 0o600); err != nil {
		t.Fatal(err)
	}
	fo := newFakeOrigin(t)
	cfg := testConfig(fo.addr(), key)
	cfg.Metrics.Addr, cfg.Metrics.TokenFile = "127.0.0.1:0", file
	e, err := New(cfg, Deps{Logger: testLogger(t), Identity: fo.identity(pki.RoleEdge, "edge-1")})
	if err != nil {
		t.Fatal(err)
	}
	defer e.Close(crashed())
	// Served over TLS with the edge's cluster certificate.
	roots := x509.NewCertPool()
	roots.AddCert(fo.ca.Cert)
	hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots, ServerName: "127.0.0.1"}}}
	get := func(tok string) (int, string) {
		req, _ := http.NewRequest("GET", "https://"+e.MetricsAddr()+"/metrics", nil)
		if tok != "" {
			req.Header.Set("Authorization", "Bearer "+tok)
		}
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	for _, bad := range []string{"", "nope"} {
		if status, body := get(bad); status != http.StatusUnauthorized || !strings.Contains(body, `"code":"unauthorized"`) || strings.Contains(body, "strata_gossip_") {
			t.Errorf("token %q: %d %.200s; want 401 unauthorized", bad, status, body)
		}
	}
	if status, body := get(token); status != http.StatusOK || !strings.Contains(body, "strata_gossip_members") {
		t.Errorf("right token: %d %.200s; want the edge's metrics", status, body)
	}
	// The registration tells origins (and so /v1/nodes and Prometheus
	// service discovery) where the metrics are.
	poll.For(t, 10*time.Second, 20*time.Millisecond, func() error {
		regs, _, _ := fo.snapshot()
		if len(regs) == 0 {
			return errors.New("no registration yet")
		}
		if got := regs[len(regs)-1].Addrs["metrics"]; got != e.MetricsAddr() {
			return fmt.Errorf("registered addrs.metrics %q, want %s", got, e.MetricsAddr())
		}
		return nil
	})

	cfg = testConfig(fo.addr(), key)
	cfg.NodeID = "edge-2"
	e2, err := New(cfg, Deps{Logger: testLogger(t), Identity: fo.identity(pki.RoleEdge, "edge-2")})
	if err != nil {
		t.Fatal(err)
	}
	defer e2.Close(crashed())
	if a := e2.MetricsAddr(); a != "" {
		t.Errorf("edge without metrics.addr serves metrics at %s", a)
	}
}

// TestEdgeMetricsDefault: `strata edge` starts from Defaults, which serve
// metrics on DefaultMetricsAddr; an explicitly empty metrics.addr turns
// them off.
func TestEdgeMetricsDefault(t *testing.T) {
	if got := Defaults().Metrics.Addr; got != DefaultMetricsAddr {
		t.Errorf("Defaults().Metrics.Addr = %q, want %q", got, DefaultMetricsAddr)
	}
}
