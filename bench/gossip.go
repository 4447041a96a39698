package bench

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/strata-edge/strata/api"
	"github.com/strata-edge/strata/edge"
	"github.com/strata-edge/strata/internal/testcluster"
)

// ErrGossipBenchConfig reports invalid gossip bench options.
var ErrGossipBenchConfig = errors.New("bench: invalid gossip bench config")

// GossipOptions configure Gossip.
type GossipOptions struct {
	// Nodes is the number of in-process edges (default 50).
	Nodes int
	// Kills is how many edges are hard-stopped to time failure detection
	// (default Nodes/5, at least 1).
	Kills int
	// Profile is the gossip profile (default lan).
	Profile string
	// LoadRounds is how many load changes are timed per edge (default 3).
	LoadRounds int
	// Dir for the origin's data; a temporary directory when empty.
	Dir      string
	Progress *Progress
}

// GossipResult is what `strata bench gossip --json` prints. Every time is
// observed at the Raft leader's API (GET /v1/nodes), polled every 10 ms.
type GossipResult struct {
	Nodes   int    `json:"nodes"`
	Kills   int    `json:"kills"`
	Profile string `json:"profile"`
	// JoinVisible: edge.New called → alive in the leader's registry and
	// alive in its gossip pool.
	JoinVisibleP50Ms float64 `json:"join_visible_p50_ms"`
	JoinVisibleP99Ms float64 `json:"join_visible_p99_ms"`
	// FailureDetect: edge hard-stopped (no leave) → dead in the registry.
	FailureDetectP50Ms float64 `json:"failure_detect_p50_ms"`
	FailureDetectP99Ms float64 `json:"failure_detect_p99_ms"`
	// LoadFresh: an edge's media load changed → the new value in the
	// leader's live view. Includes up to one load interval (1 s).
	LoadFreshP50Ms float64 `json:"load_fresh_p50_ms"`
	LoadFreshP99Ms float64 `json:"load_fresh_p99_ms"`
}

// pollEvery is how often the bench reads the leader's node list.
const pollEvery = 10 * time.Millisecond

// Gossip runs one origin (the leader) and Nodes in-process edges on
// loopback and times join visibility, failure detection and load
// freshness as the leader's registry and gossip view show them.
func Gossip(ctx context.Context, o GossipOptions) (GossipResult, error) {
	if o.Nodes == 0 {
		o.Nodes = 50
	}
	if o.Kills == 0 {
		o.Kills = max(1, o.Nodes/5)
	}
	if o.Profile == "" {
		o.Profile = "lan"
	}
	if o.LoadRounds == 0 {
		o.LoadRounds = 3
	}
	res := GossipResult{Nodes: o.Nodes, Kills: o.Kills, Profile: o.Profile}
	if o.Nodes < 1 || o.Kills > o.Nodes || o.Kills < 0 || o.LoadRounds < 0 {
		return res, fmt.Errorf("%w: nodes %d, kills %d, load rounds %d", ErrGossipBenchConfig, o.Nodes, o.Kills, o.LoadRounds)
	}
	dir, cleanup, err := workDir(o.Dir, "strata-bench-gossip-")
	if err != nil {
		return res, err
	}
	defer cleanup()
	p := o.Progress
	p.Step("starting 1 origin (gossip profile %s)", o.Profile)
	c, err := testcluster.Start(testcluster.Options{Origins: 1, Dir: dir, GossipProfile: o.Profile})
	if err != nil {
		return res, err
	}
	defer c.Close()
	leader := c.NodeClient(0)

	ids := make([]string, o.Nodes)
	viewers := make([]atomic.Uint32, o.Nodes)
	for i := range ids {
		ids[i] = fmt.Sprintf("edge-%03d", i)
	}

	// Join: every edge started at once, each timed from its own start.
	p.Step("join: starting %d edges", o.Nodes)
	started := make([]time.Time, o.Nodes)
	var mu sync.Mutex
	var wg sync.WaitGroup
	errs := make([]error, o.Nodes)
	for i := range ids {
		wg.Go(func() {
			cfg, deps, err := c.EdgeConfig(ctx, testcluster.EdgeSpec{ID: ids[i], Lat: float64(i % 90), Lon: float64(i % 180)})
			if err != nil {
				errs[i] = err
				return
			}
			deps.Load = func() edge.MediaLoad { return edge.MediaLoad{Viewers: viewers[i].Load()} }
			mu.Lock()
			started[i] = time.Now()
			mu.Unlock()
			e, err := edge.New(cfg, deps)
			if err == nil {
				err = c.AdoptEdge(e)
			}
			errs[i] = err
		})
	}
	joined, err := waitFor(ctx, leader, ids, 60*time.Second, func(n api.NodeView) bool {
		return n.State == "alive" && n.Live != nil && n.Live.Gossip == "alive"
	})
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return res, err
	}
	if err != nil {
		return res, err
	}
	var joins []time.Duration
	for i, id := range ids {
		joins = append(joins, joined[id].Sub(started[i]))
	}
	res.JoinVisibleP50Ms, res.JoinVisibleP99Ms = percentileMs(joins, 0.50), percentileMs(joins, 0.99)
	p.Step("join visible: p50 %.0f ms, p99 %.0f ms", res.JoinVisibleP50Ms, res.JoinVisibleP99Ms)

	// Load freshness: every edge's viewer count changes at once.
	var fresh []time.Duration
	for round := 1; round <= o.LoadRounds; round++ {
		want := uint32(1000 + round)
		t0 := time.Now()
		for i := range viewers {
			viewers[i].Store(want)
		}
		seen, err := waitFor(ctx, leader, ids, 30*time.Second, func(n api.NodeView) bool {
			return n.Live != nil && n.Live.Viewers == want
		})
		if err != nil {
			return res, err
		}
		for _, at := range seen {
			fresh = append(fresh, at.Sub(t0))
		}
		p.Step("load round %d/%d: p99 %.0f ms so far", round, o.LoadRounds, percentileMs(fresh, 0.99))
	}
	res.LoadFreshP50Ms, res.LoadFreshP99Ms = percentileMs(fresh, 0.50), percentileMs(fresh, 0.99)

	// Failure detection: Kills edges hard-stopped at once.
	if o.Kills > 0 {
		p.Step("failure: hard-stopping %d edges", o.Kills)
		victims := ids[:o.Kills]
		// Each victim's clock starts at its own kill: stopping ten
		// memberlist nodes one after another takes a while, and timing
		// them all from the first kill would charge that to detection.
		killed := make(map[string]time.Time, len(victims))
		for _, id := range victims {
			killed[id] = time.Now()
			if err := c.KillEdge(id); err != nil {
				return res, err
			}
		}
		dead, err := waitFor(ctx, leader, victims, 60*time.Second, func(n api.NodeView) bool {
			return n.State == "dead"
		})
		if err != nil {
			return res, err
		}
		var det []time.Duration
		for id, at := range dead {
			det = append(det, at.Sub(killed[id]))
		}
		res.FailureDetectP50Ms, res.FailureDetectP99Ms = percentileMs(det, 0.50), percentileMs(det, 0.99)
		p.Step("failure detected: p50 %.0f ms, p99 %.0f ms", res.FailureDetectP50Ms, res.FailureDetectP99Ms)
	}
	p.Step("closing")
	return res, nil
}

// waitFor polls cl's node list until ok holds for every id and returns
// when each first did.
func waitFor(ctx context.Context, cl *api.Client, ids []string, d time.Duration, ok func(api.NodeView) bool) (map[string]time.Time, error) {
	deadline := time.Now().Add(d)
	at := make(map[string]time.Time, len(ids))
	for {
		st, err := testcluster.EdgeStatuses(ctx, cl)
		now := time.Now()
		if err == nil {
			for _, id := range ids {
				if n, found := st[id]; found && at[id].IsZero() && ok(n) {
					at[id] = now
				}
			}
			if len(at) == len(ids) {
				return at, nil
			}
		}
		if now.After(deadline) {
			return at, fmt.Errorf("bench gossip: %d of %d edges reached the state in %s (last error %v)", len(at), len(ids), d, err)
		}
		select {
		case <-ctx.Done():
			return at, ctx.Err()
		case <-time.After(pollEvery):
		}
	}
}
