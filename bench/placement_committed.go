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

// ErrCommittedBenchConfig reports invalid committed-placement options.
var ErrCommittedBenchConfig = errors.New("bench: invalid committed placement config")

// PlacementCommittedOptions configure PlacementCommitted.
type PlacementCommittedOptions struct {
	// Origins in the local cluster (default 3).
	Origins int
	// Edges started in process (default 20), each with 8 fake 80 GB GPUs
	// and a 100 Gbit/s NIC: room for 5,000+ sessions per edge.
	Edges int
	// Sessions created (default 5,000).
	Sessions int
	// Clients creating sessions concurrently (default 64).
	Clients int
	// Dir for the cluster's data; a temporary directory when empty.
	Dir      string
	Progress *Progress
}

// PlacementCommittedResult is the placement path end to end: a session
// created through the API, placed by the leader, its reservation
// committed through Raft (fsync on), and the create answered.
type PlacementCommittedResult struct {
	PerSec float64 `json:"committed_placements_per_sec"`
	P50Ms  float64 `json:"committed_p50_ms"`
	P99Ms  float64 `json:"committed_p99_ms"`
	Placed int64   `json:"committed_placed"`
	Errors int64   `json:"committed_errors"`
	// FirstError says why the first unplaced create was not placed.
	FirstError string `json:"committed_first_error,omitempty"`
	Edges      int    `json:"committed_edges"`
	Clients    int    `json:"committed_clients"`
	Origins    int    `json:"committed_origins"`
}

// PlacementCommitted runs a local origin cluster with in-process edges
// and measures committed placements: Clients workers each create
// sessions (synchronous POST /v1/sessions, answered once placed) against
// the leader until Sessions are done. Latency is create → placed answer;
// the rate counts only sessions answered placed.
func PlacementCommitted(ctx context.Context, o PlacementCommittedOptions) (PlacementCommittedResult, error) {
	if o.Origins == 0 {
		o.Origins = 3
	}
	if o.Edges == 0 {
		o.Edges = 20
	}
	if o.Sessions == 0 {
		o.Sessions = 5000
	}
	if o.Clients == 0 {
		o.Clients = 64
	}
	res := PlacementCommittedResult{Edges: o.Edges, Clients: o.Clients, Origins: o.Origins}
	if o.Origins < 1 || o.Edges < 1 || o.Sessions < 1 || o.Clients < 1 {
		return res, fmt.Errorf("%w: origins %d, edges %d, sessions %d, clients %d", ErrCommittedBenchConfig, o.Origins, o.Edges, o.Sessions, o.Clients)
	}
	dir, cleanup, err := workDir(o.Dir, "strata-bench-placement-")
	if err != nil {
		return res, err
	}
	defer cleanup()
	p := o.Progress
	p.Step("starting %d origins (fsync on) and %d edges", o.Origins, o.Edges)
	c, err := testcluster.Start(testcluster.Options{Origins: o.Origins, Dir: dir, GossipProfile: "lan"})
	if err != nil {
		return res, err
	}
	defer c.Close()
	ids := make([]string, o.Edges)
	for i := range ids {
		ids[i] = fmt.Sprintf("edge-%03d", i)
	}
	if _, err := c.StartEdges(o.Edges, func(i int) testcluster.EdgeSpec {
		return testcluster.EdgeSpec{ID: ids[i], GPUs: "fake:8xH100:80GB", NICMbps: 100000,
			Lat: float64(i%90) - 45, Lon: float64(i%180) - 90}
	}); err != nil {
		return res, err
	}
	if err := c.WaitEdges(ids, 60*time.Second); err != nil {
		return res, err
	}
	leader := c.Leader()
	if leader < 0 {
		return res, errors.New("bench placement: no leader")
	}
	lc := c.NodeClient(leader)
	ten, err := lc.Tenants().Create(ctx, api.TenantCreate{Name: "bench"})
	if err != nil {
		return res, err
	}
	// 1 GB of one GPU and 1 Mbit/s: 80 sessions per GPU, 640 per edge.
	app, err := lc.Apps().Create(ctx, api.AppSpec{TenantID: ten.ID, Name: "bench", Command: []string{"true"},
		GPUs: 1, GPUMemoryMB: 1000, EgressMbps: 1})
	if err != nil {
		return res, err
	}
	if need := o.Sessions; need > o.Edges*640 {
		return res, fmt.Errorf("%w: %d sessions exceed the capacity of %d edges", ErrCommittedBenchConfig, need, o.Edges)
	}
	spec := api.SessionSpec{TenantID: ten.ID, AppID: app.ID}

	p.Step("placing %d sessions with %d clients through %s (leader)", o.Sessions, o.Clients, c.Nodes[leader].ID)
	var next, placed, errs atomic.Int64
	var firstErr atomic.Pointer[string]
	lats := make([][]time.Duration, o.Clients)
	var wg sync.WaitGroup
	start := time.Now()
	for w := range o.Clients {
		wg.Go(func() {
			for next.Add(1) <= int64(o.Sessions) && ctx.Err() == nil {
				t0 := time.Now()
				s, err := lc.Sessions().Create(ctx, spec)
				d := time.Since(t0)
				if err != nil || s.State != api.StatePlaced {
					errs.Add(1)
					msg := fmt.Sprintf("session %s: %s", s.State, s.Reason)
					if err != nil {
						msg = err.Error()
					}
					firstErr.CompareAndSwap(nil, &msg)
					continue
				}
				placed.Add(1)
				lats[w] = append(lats[w], d)
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	if err := ctx.Err(); err != nil {
		return res, err
	}
	all := slices.Concat(lats...)
	slices.Sort(all)
	res.Placed, res.Errors = placed.Load(), errs.Load()
	if m := firstErr.Load(); m != nil {
		res.FirstError = *m
	}
	res.PerSec = float64(res.Placed) / elapsed.Seconds()
	res.P50Ms, res.P99Ms = percentileMs(all, 0.50), percentileMs(all, 0.99)
	p.Step("committed placements: %.0f/s, p50 %.1f ms, p99 %.1f ms (%d placed, %d not)", res.PerSec, res.P50Ms, res.P99Ms, res.Placed, res.Errors)
	return res, nil
}
