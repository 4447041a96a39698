package origin_test

import (
	"context"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/strata-edge/strata/api"
	"github.com/strata-edge/strata/internal/ids"
	"github.com/strata-edge/strata/internal/pki"
	"github.com/strata-edge/strata/origin"
)

// counter sums the samples of a counter family in an origin's registry
// whose labels include want.
func counter(t *testing.T, reg prometheus.Gatherer, name string, want map[string]string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	sum := 0.0
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	metric:
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if v, ok := want[l.GetName()]; ok && v != l.GetValue() {
					continue metric
				}
			}
			sum += m.GetCounter().GetValue()
		}
	}
	return sum
}

// TestFailedAuthLimitedAtFollower: a flood of bad credentials sent to a
// follower is limited there, per client address, before it is forwarded
// to the leader; beyond the burst the follower answers 429 rate_limited
// with Retry-After, and valid credentials keep working.
func TestFailedAuthLimitedAtFollower(t *testing.T) {
	c := startCluster(t, 3)
	follower := (c.Leader() + 1) % 3
	fo := c.Nodes[follower].Origin()
	lo := c.Nodes[c.Leader()].Origin()
	burst := origin.Defaults().API.AuthFailBurst
	rate := origin.Defaults().API.AuthFailRate
	fwdBefore := counter(t, fo.Metrics(), "strata_api_forwarded_requests_total", nil)
	leaderBefore := counter(t, lo.Metrics(), "strata_api_auth_failures_total", nil)

	hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: pki.TrustConfig(c.CA)}}
	do := func(method, path, token string) (*http.Response, []byte) {
		req, _ := http.NewRequest(method, "https://"+c.Nodes[follower].APIAddr()+path, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, b
	}
	const n = 300
	start := time.Now()
	codes := map[int]int{}
	var limited *http.Response
	var limitedBody []byte
	for i := range n {
		// Unknown key IDs (a follower forwards those), a wrong admin
		// secret (refused locally) and unknown join tokens at the public
		// enrollment route, in turn.
		var resp *http.Response
		var body []byte
		switch i % 3 {
		case 0:
			resp, body = do("GET", "/v1/tenants", ids.New("key", time.Now())+".bogus")
		case 1:
			resp, body = do("GET", "/v1/tenants", "strata_admin_"+strconv.Itoa(i)+strings.Repeat("x", 40))
		case 2:
			resp, body = do("POST", "/v1/pki/enroll", ids.New("jt", time.Now())+".bogus")
		}
		codes[resp.StatusCode]++
		if resp.StatusCode == http.StatusTooManyRequests && limited == nil {
			limited, limitedBody = resp, body
		}
	}
	elapsed := time.Since(start).Seconds()
	allowed := float64(burst) + rate*elapsed + 1
	if got := float64(codes[http.StatusUnauthorized]); got > allowed {
		t.Errorf("%d of %d bad requests were checked in %.1fs (codes %v); want at most %.0f", int(got), n, elapsed, codes, allowed)
	}
	if limited == nil {
		t.Fatalf("no request was limited: codes %v", codes)
	}
	if !strings.Contains(string(limitedBody), `"code":"rate_limited"`) {
		t.Errorf("429 body %s, want code rate_limited", limitedBody)
	}
	if ra, err := strconv.Atoi(limited.Header.Get("Retry-After")); err != nil || ra < 1 {
		t.Errorf("429 Retry-After %q", limited.Header.Get("Retry-After"))
	}
	fwd := counter(t, fo.Metrics(), "strata_api_forwarded_requests_total", nil) - fwdBefore
	if fwd > allowed {
		t.Errorf("follower forwarded %.0f of %d bad requests to the leader; want at most %.0f", fwd, n, allowed)
	}
	if got := counter(t, lo.Metrics(), "strata_api_auth_failures_total", nil) - leaderBefore; got > allowed {
		t.Errorf("leader saw %.0f failed authentications; want at most %.0f", got, allowed)
	}
	if got := counter(t, fo.Metrics(), "strata_api_auth_failures_total", map[string]string{"outcome": "limited"}); got < float64(n)-allowed {
		t.Errorf("follower counted %.0f limited failures; want at least %.0f", got, float64(n)-allowed)
	}
	// The address is limited for failures only: valid credentials from it
	// still work at once.
	if _, err := c.NodeClient(follower).Tenants().Page(context.Background(), api.ListOptions{}); err != nil {
		t.Fatalf("admin token after the flood: %v", err)
	}
}
