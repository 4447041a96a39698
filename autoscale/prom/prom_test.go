package prom

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/strata-edge/strata/internal/poll"
)

// TestQueryRealPrometheus scrapes a tiny exporter with Debian's
// prometheus and reads it back as samples; bad PromQL, a range result
// and an unreachable server are errors.
func TestQueryRealPrometheus(t *testing.T) {
	bin, err := exec.LookPath("prometheus")
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("prometheus not found (Debian package prometheus): %v", err)
		}
		t.Skipf("prometheus not found (install Debian's prometheus package): %v", err)
	}
	exporter := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, `strata_placement_region_sessions{region="eu",class="L4"} 3`)
		fmt.Fprintln(w, `strata_placement_region_sessions{region="us",class=""} 1`)
	}))
	defer exporter.Close()
	dir := t.TempDir()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	cfg := filepath.Join(dir, "prometheus.yml")
	body := fmt.Sprintf("scrape_configs:\n  - job_name: x\n    scrape_interval: 200ms\n    static_configs: [{targets: [%q]}]\n", exporter.Listener.Addr().String())
	if err := os.WriteFile(cfg, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "--config.file="+cfg, "--storage.tsdb.path="+filepath.Join(dir, "tsdb"), "--web.listen-address="+addr, "--log.level=warn")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	c, err := New("http://"+addr, nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	poll.For(t, 30*time.Second, 100*time.Millisecond, func() error {
		s, err := c.Query(ctx, `sum by (region, class) (strata_placement_region_sessions)`)
		if err != nil {
			return err
		}
		got := map[string]float64{}
		for _, x := range s {
			got[x.Labels["region"]+"/"+x.Labels["class"]] = x.Value
		}
		if len(got) != 2 || got["eu/L4"] != 3 || got["us/"] != 1 {
			return fmt.Errorf("samples %v", got)
		}
		return nil
	})
	for _, q := range []string{`sum by (`, `strata_placement_region_sessions[1m]`} {
		if _, err := c.Query(ctx, q); !errors.Is(err, ErrQuery) {
			t.Errorf("%s: %v, want ErrQuery", q, err)
		}
	}
	_ = cmd.Process.Kill()
	_ = cmd.Wait()
	if _, err := c.Query(ctx, `up`); !errors.Is(err, ErrQuery) {
		t.Errorf("unreachable: %v, want ErrQuery", err)
	}
	if _, err := New("prometheus:9090", nil); err == nil {
		t.Error("a URL without scheme accepted")
	}
}
