package bench

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/strata-edge/strata/api"
	"github.com/strata-edge/strata/internal/testcluster"
)

// RegistryOptions configure the registry benchmark.
type RegistryOptions struct {
	// Origins in the local cluster (default 3).
	Origins int
	// Duration of the throughput phase; the fixed-load phase takes half
	// of it (default 10 s).
	Duration time.Duration
	// Clients issuing writes concurrently in the throughput phase
	// (default 256).
	Clients int
	// Rate is the offered load of the latency phase (default 1,000/s).
	Rate int
	// LogStore is "wal" or "boltdb".
	LogStore string
	// Dir for the cluster's data; a temporary directory when empty.
	Dir string
	// Plaintext runs the cluster without TLS (pki.disable), to measure
	// what mutual TLS on Raft and HTTPS on the API cost.
	Plaintext bool
	Progress  *Progress
}

// RegistryResult is what `strata bench registry --json` prints.
type RegistryResult struct {
	Origins  int    `json:"origins"`
	LogStore string `json:"log_store"`
	// TLS is false with --plaintext: Raft, forwarding and the API ran
	// without TLS.
	TLS bool `json:"tls"`
	// WritesPerSec is committed session creations per second through the
	// leader's API with Clients concurrent clients, fsync on.
	WritesPerSec float64 `json:"writes_per_sec"`
	Clients      int     `json:"clients"`
	WriteErrors  int64   `json:"write_errors"`
	// P50Ms and P99Ms are write latencies at a fixed offered load of
	// OfferedPerSec, measured from each request's scheduled send time so
	// queueing is not hidden (no coordinated omission).
	OfferedPerSec int     `json:"offered_per_sec"`
	P50Ms         float64 `json:"p50_ms"`
	P99Ms         float64 `json:"p99_ms"`
	// FailoverUnplannedMs: leader hard-stopped → first write acknowledged
	// through another origin.
	FailoverUnplannedMs float64 `json:"failover_unplanned_ms"`
	// FailoverPlannedMs: leadership transfer requested → first write
	// acknowledged through another origin.
	FailoverPlannedMs float64 `json:"failover_planned_ms"`
}

// Registry runs a local origin cluster (fsync on) and measures write
// throughput, latency at a fixed load, and failover times.
func Registry(ctx context.Context, o RegistryOptions) (RegistryResult, error) {
	if o.Origins == 0 {
		o.Origins = 3
	}
	if o.Duration == 0 {
		o.Duration = 10 * time.Second
	}
	if o.Clients == 0 {
		o.Clients = 256
	}
	if o.Rate == 0 {
		o.Rate = 1000
	}
	if o.LogStore == "" {
		o.LogStore = "wal"
	}
	res := RegistryResult{Origins: o.Origins, LogStore: o.LogStore, TLS: !o.Plaintext, Clients: o.Clients, OfferedPerSec: o.Rate}
	if o.Origins < 2 {
		return res, errors.New("bench registry: --origins must be at least 2 to measure failover")
	}
	dir, cleanup, err := workDir(o.Dir, "strata-bench-registry-")
	if err != nil {
		return res, err
	}
	defer cleanup()
	p := o.Progress
	p.Step("starting %d origins (log store %s, fsync on, TLS %v)", o.Origins, o.LogStore, !o.Plaintext)
	c, err := testcluster.Start(testcluster.Options{Origins: o.Origins, Dir: dir, LogStore: o.LogStore, Plaintext: o.Plaintext})
	if err != nil {
		return res, err
	}
	defer c.Close()
	leader := c.Leader()
	lc := c.NodeClient(leader)
	ten, err := lc.Tenants().Create(ctx, api.TenantCreate{Name: "bench"})
	if err != nil {
		return res, err
	}
	app, err := lc.Apps().Create(ctx, api.AppSpec{TenantID: ten.ID, Name: "bench", Command: []string{"true"}})
	if err != nil {
		return res, err
	}
	// Async: this measures registry writes, not placement (see the
	// placement bench for committed placements).
	spec := api.SessionSpec{TenantID: ten.ID, AppID: app.ID, Async: true}

	// A second at the same load first, not measured: it opens the
	// client's connections (TLS handshakes included), which a running
	// client already holds, and would otherwise dominate a short run's p99.
	p.Step("warm-up: %d writes/s for 1s, not measured", o.Rate)
	if _, err := writeAtRate(ctx, lc, spec, o.Rate, time.Second); err != nil {
		return res, err
	}
	p.Step("latency: %d writes/s offered for %s", o.Rate, o.Duration/2)
	lat, err := writeAtRate(ctx, lc, spec, o.Rate, o.Duration/2)
	if err != nil {
		return res, err
	}
	res.P50Ms, res.P99Ms = percentileMs(lat, 0.50), percentileMs(lat, 0.99)
	p.Step("latency: p50 %.2f ms, p99 %.2f ms", res.P50Ms, res.P99Ms)

	p.Step("throughput: %d clients for %s", o.Clients, o.Duration)
	n, errs, firstErr := writeFlat(ctx, lc, spec, o.Clients, o.Duration)
	res.WritesPerSec = float64(n) / o.Duration.Seconds()
	res.WriteErrors = errs
	p.Step("throughput: %.0f writes/s (%d errors)", res.WritesPerSec, errs)
	if firstErr != nil {
		p.Step("first write error: %v", firstErr)
	}

	p.Step("unplanned failover: hard-stopping leader %s", c.Nodes[leader].ID)
	others := othersClient(c, leader)
	start := time.Now()
	if err := c.Kill(leader); err != nil {
		return res, err
	}
	if err := firstAck(ctx, others, spec); err != nil {
		return res, err
	}
	res.FailoverUnplannedMs = ms(time.Since(start))
	p.Step("unplanned failover: %.0f ms", res.FailoverUnplannedMs)

	p.Step("restarting %s", c.Nodes[leader].ID)
	if err := c.Restart(leader); err != nil {
		return res, err
	}
	if err := c.WaitMembers(o.Origins, 20*time.Second); err != nil {
		return res, err
	}
	cur, err := c.WaitLeader(10 * time.Second)
	if err != nil {
		return res, err
	}
	if err := c.WaitApplied(c.Nodes[cur].Origin().Registry().State().Index(), 20*time.Second); err != nil {
		return res, err
	}
	p.Step("planned failover: transferring leadership from %s", c.Nodes[cur].ID)
	others = othersClient(c, cur)
	start = time.Now()
	if err := c.Nodes[cur].Origin().Registry().TransferLeadership(); err != nil {
		return res, fmt.Errorf("leadership transfer: %w", err)
	}
	if err := firstAck(ctx, others, spec); err != nil {
		return res, err
	}
	res.FailoverPlannedMs = ms(time.Since(start))
	p.Step("planned failover: %.0f ms", res.FailoverPlannedMs)
	return res, nil
}

// othersClient addresses every origin but one, with no client timeout
// longer than a failover attempt needs.
func othersClient(c *testcluster.Cluster, except int) *api.Client {
	var addrs []string
	for i, n := range c.Nodes {
		if i != except {
			addrs = append(addrs, n.APIAddr())
		}
	}
	cl := c.Trust(api.New(c.AdminToken, addrs...))
	cl.Timeout = 2 * time.Second
	return cl
}

// writeFlat runs clients in closed loops for d and counts acknowledged
// writes.
func writeFlat(ctx context.Context, cl *api.Client, spec api.SessionSpec, clients int, d time.Duration) (int64, int64, error) {
	var ok, failed atomic.Int64
	var first atomic.Pointer[error]
	deadline := time.Now().Add(d)
	var wg sync.WaitGroup
	for i := 0; i < clients; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) && ctx.Err() == nil {
				if _, err := cl.Sessions().Create(ctx, spec); err != nil {
					failed.Add(1)
					first.CompareAndSwap(nil, &err)
					continue
				}
				ok.Add(1)
			}
		}()
	}
	wg.Wait()
	var err error
	if p := first.Load(); p != nil {
		err = *p
	}
	return ok.Load(), failed.Load(), err
}

// writeAtRate issues writes on a fixed schedule (open loop) and returns
// each latency measured from its scheduled time.
func writeAtRate(ctx context.Context, cl *api.Client, spec api.SessionSpec, rate int, d time.Duration) ([]time.Duration, error) {
	total := int(float64(rate) * d.Seconds())
	interval := time.Second / time.Duration(rate)
	lat := make([]time.Duration, total)
	var failed atomic.Int64
	var firstErr atomic.Pointer[error]
	var wg sync.WaitGroup
	begin := time.Now()
	for i := 0; i < total; i++ {
		at := begin.Add(time.Duration(i) * interval)
		if w := time.Until(at); w > 0 {
			time.Sleep(w)
		}
		wg.Add(1)
		go func(i int, at time.Time) {
			defer wg.Done()
			if _, err := cl.Sessions().Create(ctx, spec); err != nil {
				failed.Add(1)
				firstErr.CompareAndSwap(nil, &err)
			}
			lat[i] = time.Since(at)
		}(i, at)
	}
	wg.Wait()
	if f := failed.Load(); f > 0 {
		return nil, fmt.Errorf("bench registry: %d of %d writes failed at fixed load; the first: %w", f, total, *firstErr.Load())
	}
	return lat, nil
}

// firstAck retries a write until one is acknowledged.
func firstAck(ctx context.Context, cl *api.Client, spec api.SessionSpec) error {
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		if _, err := cl.Sessions().Create(ctx, spec); err == nil {
			return nil
		}
		time.Sleep(time.Millisecond)
	}
	return errors.New("bench registry: no write acknowledged within 30 s of the failover")
}

func percentileMs(d []time.Duration, q float64) float64 {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	return ms(s[min(len(s)-1, int(q*float64(len(s))))])
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
