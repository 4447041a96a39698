package bench

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// RemoteEdge measures capacity steps against a running cluster instead
// of a local edge: each step is a load run (one session of Load.AppID,
// n viewers routed through the API) while the edge's own Prometheus
// metrics give its CPU, memory and egress.
type RemoteEdge struct {
	// Load is the template of each step's load run; Sessions,
	// ViewersPerSession and Duration are set per step.
	Load LoadOptions
	// MetricsURL is the edge's /metrics (https://host:port/metrics); empty
	// leaves CPU, memory and egress unmeasured (zero).
	MetricsURL   string
	MetricsToken string
	// HTTP fetches MetricsURL; nil uses one with Load.TLS.
	HTTP *http.Client
}

// edgeSample is what one scrape of the edge's metrics says.
type edgeSample struct {
	at          time.Time
	cpuSeconds  float64
	rssBytes    float64
	egressBytes float64 // MoQ and WebRTC together
}

// Measure runs one step: n viewers of one new session for step.
func (r RemoteEdge) Measure(step time.Duration) func(ctx context.Context, n int) (CapacityStep, error) {
	return func(ctx context.Context, n int) (CapacityStep, error) {
		before, err := r.scrape(ctx)
		if err != nil {
			return CapacityStep{}, err
		}
		lo := r.Load
		lo.Sessions, lo.ViewersPerSession, lo.Duration = 1, n, step
		res, err := Load(ctx, lo)
		if err != nil {
			return CapacityStep{}, err
		}
		after, err := r.scrape(ctx)
		if err != nil {
			return CapacityStep{}, err
		}
		st := CapacityStep{P50Ms: res.P50Ms, P99Ms: res.P99Ms, Received: res.Frames,
			Lost: uint64(max(0, res.Viewers-res.Playing))}
		// Remotely the frames owed are unknown (viewers join at different
		// times), so loss is the share of viewers that never played.
		if res.Viewers > 0 {
			st.Loss = float64(st.Lost) / float64(res.Viewers)
		}
		if el := after.at.Sub(before.at).Seconds(); r.MetricsURL != "" && el > 0 {
			st.CPUCores = (after.cpuSeconds - before.cpuSeconds) / el
			st.EgressGbps = (after.egressBytes - before.egressBytes) * 8 / el / 1e9
			st.RSSBytes = uint64(after.rssBytes)
		}
		return st, nil
	}
}

func (r RemoteEdge) scrape(ctx context.Context) (edgeSample, error) {
	s := edgeSample{at: time.Now()}
	if r.MetricsURL == "" {
		return s, nil
	}
	hc := r.HTTP
	if hc == nil {
		hc = &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: r.Load.TLS}}
		defer hc.CloseIdleConnections()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, r.MetricsURL, nil)
	if err != nil {
		return s, err
	}
	if r.MetricsToken != "" {
		req.Header.Set("Authorization", "Bearer "+r.MetricsToken)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return s, fmt.Errorf("bench: edge metrics: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return s, fmt.Errorf("bench: edge metrics: %s", resp.Status)
	}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		name, val, ok := promSample(sc.Text())
		if !ok {
			continue
		}
		switch name {
		case "process_cpu_seconds_total":
			s.cpuSeconds = val
		case "process_resident_memory_bytes":
			s.rssBytes = val
		case "strata_edge_moq_egress_bytes_total", "strata_webrtc_egress_bytes_total":
			s.egressBytes += val
		}
	}
	return s, sc.Err()
}

// promSample reads one sample line of the Prometheus text format: the
// metric name (labels dropped) and its value.
func promSample(line string) (string, float64, bool) {
	if line == "" || line[0] == '#' {
		return "", 0, false
	}
	name, rest, ok := strings.Cut(line, " ")
	if i := strings.IndexByte(line, '{'); i >= 0 {
		j := strings.LastIndexByte(line, '}')
		if j < i {
			return "", 0, false
		}
		name, rest, ok = line[:i], strings.TrimSpace(line[j+1:]), true
	}
	if !ok {
		return "", 0, false
	}
	valStr, _, _ := strings.Cut(strings.TrimSpace(rest), " ")
	v, err := strconv.ParseFloat(valStr, 64)
	return name, v, err == nil
}
