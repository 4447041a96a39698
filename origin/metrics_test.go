package origin_test

import (
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/strata-edge/strata/internal/pki"
	"github.com/strata-edge/strata/origin"
)

// scrape GETs https://addr/metrics with token (none when empty),
// trusting o's cluster CA.
func scrape(t *testing.T, o *origin.Origin, addr, token string) (int, string) {
	t.Helper()
	req, err := http.NewRequest("GET", "https://"+addr+"/metrics", nil)
	if err != nil {
		t.Fatal(err)
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: pki.TrustConfig(o.CA())}}
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// checkMetricsToken: without the token or with a wrong one /metrics is a
// 401 with the API's error body; with it, the metrics.
func checkMetricsToken(t *testing.T, o *origin.Origin, addr, token, series string) {
	t.Helper()
	for _, bad := range []string{"", "wrong", token + "x"} {
		status, body := scrape(t, o, addr, bad)
		if status != http.StatusUnauthorized || !strings.Contains(body, `"code":"unauthorized"`) {
			t.Errorf("token %q: %d %.200s; want 401 unauthorized", bad, status, body)
		}
		if strings.Contains(body, series) {
			t.Errorf("token %q: metrics leaked", bad)
		}
	}
	status, body := scrape(t, o, addr, token)
	if status != http.StatusOK || !strings.Contains(body, series) {
		t.Errorf("right token: %d %.200s; want metrics with %s", status, body, series)
	}
}

// TestOriginMetricsToken: with metrics.token set, /metrics on the API
// listener requires it.
func TestOriginMetricsToken(t *testing.T) {
	const token = "metrics-secret-0123456789"
	o := startOrigin(t, func(c *origin.Config) { c.Metrics.Token = token })
	if o.MetricsAddr() != o.APIAddr() {
		t.Fatalf("metrics at %s, want the API listener %s", o.MetricsAddr(), o.APIAddr())
	}
	checkMetricsToken(t, o, o.APIAddr(), token, "strata_registry_")
}

// TestOriginMetricsOwnListener: with metrics.addr set, /metrics is served
// there (behind metrics.token_file's token) and no longer on the API
// listener.
func TestOriginMetricsOwnListener(t *testing.T) {
	const token = "file-secret-0123456789"
	file := filepath.Join(t.TempDir(), "metrics-token")
	if err := os.WriteFile(file, []byte(token+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	o := startOrigin(t, func(c *origin.Config) {
		c.Metrics.Addr = "127.0.0.1:0"
		c.Metrics.TokenFile = file
	})
	if o.MetricsAddr() == o.APIAddr() {
		t.Fatal("metrics still on the API listener")
	}
	checkMetricsToken(t, o, o.MetricsAddr(), token, "strata_registry_")
	if status, body := scrape(t, o, o.APIAddr(), token); status != http.StatusNotFound || strings.Contains(body, "strata_registry_") {
		t.Errorf("API listener /metrics: %d %.200s; want 404", status, body)
	}
}

// TestOriginMetricsConfig: a bad metrics setting is refused at start,
// naming its key.
func TestOriginMetricsConfig(t *testing.T) {
	cases := map[string]func(*origin.Config){
		"metrics.addr":       func(c *origin.Config) { c.Metrics.Addr = "nope" },
		"metrics.token_file": func(c *origin.Config) { c.Metrics.Token, c.Metrics.TokenFile = "a", "b" },
	}
	for key, mutate := range cases {
		cfg := origin.Defaults()
		mutate(&cfg)
		if err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), key+":") {
			t.Errorf("%s: err = %v, want one naming it", key, err)
		}
	}
	cfg := origin.Defaults()
	cfg.DataDir = t.TempDir()
	cfg.Metrics.TokenFile = filepath.Join(t.TempDir(), "missing")
	if _, err := origin.New(cfg, origin.Deps{}); err == nil || !strings.Contains(err.Error(), "metrics.token_file") {
		t.Errorf("missing token file: err = %v", err)
	}
}
