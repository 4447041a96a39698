package prom

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/strata-edge/strata/internal/poll"
	"github.com/strata-edge/strata/internal/promtest"
)

// TestQueryRealPrometheus scrapes a tiny exporter with Debian's
// prometheus and reads it back as samples; bad PromQL, a range result
// and an unreachable server are errors.
func TestQueryRealPrometheus(t *testing.T) {
	bin, _ := promtest.Programs(t)
	exporter := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprintln(w, `strata_placement_region_sessions{region="eu",class="L4"} 3`)
		fmt.Fprintln(w, `strata_placement_region_sessions{region="us",class=""} 1`)
	}))
	defer exporter.Close()
	cfg := fmt.Sprintf("scrape_configs:\n  - job_name: x\n    scrape_interval: 200ms\n    static_configs: [{targets: [%q]}]\n", exporter.Listener.Addr().String())
	srv, err := promtest.Start(bin, t.TempDir(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer srv.Close()
	c, err := New("http://"+srv.Addr, nil)
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
	srv.Close()
	if _, err := c.Query(ctx, `up`); !errors.Is(err, ErrQuery) {
		t.Errorf("unreachable: %v, want ErrQuery", err)
	}
	if _, err := New("prometheus:9090", nil); err == nil {
		t.Error("a URL without scheme accepted")
	}
}
