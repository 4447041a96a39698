package testcluster

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/strata-edge/strata/api"
	"github.com/strata-edge/strata/edge"
	"github.com/strata-edge/strata/internal/metricsrv"
	"github.com/strata-edge/strata/internal/pki"
	"github.com/strata-edge/strata/internal/poll"
)

// Errors of the edge helpers.
var (
	// ErrUnknownEdge means no edge of that id was started by this cluster.
	ErrUnknownEdge = errors.New("testcluster: unknown edge")
	// ErrEdgeDown means the edge was already killed, drained or closed.
	ErrEdgeDown = errors.New("testcluster: edge is down")
)

// EdgeSpec describes an in-process edge. A zero field means the default.
type EdgeSpec struct {
	// ID is the node id (required, unique per cluster).
	ID string
	// Region defaults to "local".
	Region string
	Zone   string
	// Lat and Lon are the edge's location in degrees.
	Lat, Lon float64
	// GPUs is the discovery spec (default "fake:1xL4:24GB").
	GPUs string
	// NICMbps is the advertised egress capacity (default 10,000).
	NICMbps int64
	// CapacityProfile is the edge's capacity.profile file, if any.
	CapacityProfile string
	Labels          map[string]string
	// Advertise are the media endpoints gossiped in the metadata.
	Advertise edge.AdvertiseConfig
	// Media turns on the edge's media plane (use 127.0.0.1:0 addresses).
	Media edge.MediaConfig
	// Runtime turns on the session runtime (set StateDir to a temp dir).
	Runtime edge.RuntimeConfig
	// GossipKeys default to the cluster's key; set them to test a wrong key.
	GossipKeys []string
	// GossipProfile defaults to the cluster's profile.
	GossipProfile string
	// LoadInterval defaults to the edge's (1 s).
	LoadInterval time.Duration
	// DrainGrace is how long DrainEdge waits before leaving (default 0).
	DrainGrace time.Duration
	// LeaveTimeout bounds the graceful leave (default 2 s).
	LeaveTimeout time.Duration
	// AssignmentWait is the edge's blocking-query wait (default 1 s, not
	// the edge's 30 s: an edge's Close waits for the query in flight, as
	// the API client does not abort on context cancellation).
	AssignmentWait time.Duration
	// Load reports media load; nil reports zero.
	Load edge.LoadSource
	// Logger defaults to the cluster's logger.
	Logger *slog.Logger
}

// edgeFleet holds the edges a cluster started. Lock order: Cluster has
// none of its own, so fleet.mu is a leaf lock.
type edgeFleet struct {
	mu      sync.Mutex
	token   string
	edges   map[string]*edge.Edge
	cleanup sync.WaitGroup // closes of killed edges
}

// joinToken returns the cluster's node join token, creating it once
// through the admin API.
func (c *Cluster) joinToken(ctx context.Context) (string, error) {
	c.edges.mu.Lock()
	defer c.edges.mu.Unlock()
	if c.edges.token != "" {
		return c.edges.token, nil
	}
	var k *api.CreatedJoinToken
	err := retry(ctx, func() (err error) {
		k, err = c.Client().Cluster().CreateJoinToken(ctx, api.JoinTokenCreate{Name: "testcluster-edges", MaxUses: api.MaxJoinTokenUses})
		return err
	})
	if err != nil {
		return "", fmt.Errorf("testcluster: create join token: %w", err)
	}
	c.edges.token = k.Token
	return k.Token, nil
}

// EdgeIdentity loads the certificate edge id enrolled for, as that
// edge's host holds it: tests act as the edge with it.
func (c *Cluster) EdgeIdentity(id string) (*pki.Holder, error) {
	return pki.LoadNode(filepath.Join(c.opts.Dir, "edges", id, "pki"))
}

// retry calls f until it succeeds, fails with a non-retryable error, or
// ctx ends.
func retry(ctx context.Context, f func() error) error {
	for {
		err := f()
		if err == nil || !IsRetryable(err) {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// EdgeConfig is the edge configuration StartEdge uses for spec, for
// callers that start edges themselves (e.g. to time edge.New).
func (c *Cluster) EdgeConfig(ctx context.Context, spec EdgeSpec) (edge.Config, edge.Deps, error) {
	tok, err := c.joinToken(ctx)
	if err != nil {
		return edge.Config{}, edge.Deps{}, err
	}
	cfg := edge.Config{
		NodeID: spec.ID, Token: tok, CAFingerprint: pki.Fingerprint(c.CA), DataDir: filepath.Join(c.opts.Dir, "edges", spec.ID),
		Region: spec.Region, Zone: spec.Zone, Lat: spec.Lat, Lon: spec.Lon,
		Labels: spec.Labels, GPUs: spec.GPUs, NICMbps: spec.NICMbps, Advertise: spec.Advertise,
		Gossip: edge.GossipConfig{
			Addr: "127.0.0.1:0", Keys: spec.GossipKeys, Profile: spec.GossipProfile,
		},
		LoadInterval: spec.LoadInterval, DrainGrace: spec.DrainGrace, LeaveTimeout: spec.LeaveTimeout,
		AssignmentWait: spec.AssignmentWait, Media: spec.Media, Runtime: spec.Runtime,
		Capacity: edge.CapacityConfig{Profile: spec.CapacityProfile},
		// Like `strata edge`, every edge serves /metrics (on a free port).
		Metrics: metricsrv.Config{Addr: "127.0.0.1:0"},
	}
	if cfg.Runtime.Enabled() && cfg.Runtime.User == "" && os.Geteuid() == 0 {
		// Test instances run the test binary from go test's private
		// (0700) build directory, which only the test's own user reaches.
		cfg.Runtime.User, cfg.Runtime.AllowRoot = "0", true
	}
	for _, n := range c.Nodes {
		cfg.Join = append(cfg.Join, n.APIAddr())
	}
	if cfg.Region == "" {
		cfg.Region = "local"
	}
	if cfg.GPUs == "" {
		cfg.GPUs = "fake:1xL4:24GB"
	}
	if cfg.NICMbps == 0 {
		cfg.NICMbps = 10000
	}
	if cfg.Gossip.Keys == nil {
		cfg.Gossip.Keys = []string{c.GossipKey}
	}
	if cfg.Gossip.Profile == "" {
		cfg.Gossip.Profile = c.opts.GossipProfile
	}
	if cfg.AssignmentWait == 0 {
		cfg.AssignmentWait = time.Second
	}
	if cfg.LeaveTimeout == 0 {
		cfg.LeaveTimeout = 2 * time.Second
	}
	log := spec.Logger
	if log == nil {
		log = c.opts.Logger
	}
	return cfg, edge.Deps{Logger: log, Load: spec.Load}, nil
}

// StartEdge starts an in-process edge that registers with every origin
// of the cluster using a join token made through the admin API, and joins
// gossip with the cluster's key. It returns once the edge runs; joining
// and registering continue in the background (see WaitEdges). The cluster
// closes the edge in Close.
func (c *Cluster) StartEdge(spec EdgeSpec) (*edge.Edge, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cfg, deps, err := c.EdgeConfig(ctx, spec)
	if err != nil {
		return nil, err
	}
	e, err := edge.New(cfg, deps)
	if err != nil {
		return nil, fmt.Errorf("testcluster: start edge %s: %w", spec.ID, err)
	}
	if err := c.AdoptEdge(e); err != nil {
		_ = e.Close(context.Background())
		return nil, err
	}
	return e, nil
}

// AdoptEdge hands an edge started elsewhere to the cluster, which then
// closes it in Close and can kill or drain it by id.
func (c *Cluster) AdoptEdge(e *edge.Edge) error {
	c.edges.mu.Lock()
	defer c.edges.mu.Unlock()
	if c.edges.edges == nil {
		c.edges.edges = map[string]*edge.Edge{}
	}
	if _, dup := c.edges.edges[e.ID()]; dup {
		return fmt.Errorf("testcluster: edge %s already running", e.ID())
	}
	c.edges.edges[e.ID()] = e
	return nil
}

// StartEdges starts n edges, spec(i) describing the i-th, concurrently.
// On error the edges already started keep running (Close stops them).
func (c *Cluster) StartEdges(n int, spec func(i int) EdgeSpec) ([]*edge.Edge, error) {
	if _, err := c.joinToken(context.Background()); err != nil {
		return nil, err
	}
	out := make([]*edge.Edge, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { out[i], errs[i] = c.StartEdge(spec(i)) })
	}
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return out, err
	}
	return out, nil
}

// takeEdge removes a running edge from the fleet.
func (c *Cluster) takeEdge(id string) (*edge.Edge, error) {
	c.edges.mu.Lock()
	defer c.edges.mu.Unlock()
	e, ok := c.edges.edges[id]
	if !ok {
		return nil, fmt.Errorf("%w: %s", ErrUnknownEdge, id)
	}
	if e == nil {
		return nil, fmt.Errorf("%w: %s", ErrEdgeDown, id)
	}
	c.edges.edges[id] = nil
	return e, nil
}

// KillEdge stops an edge at once, without a gossip leave, so the pool
// detects a failure (edge.Close with a done context). Its gossip member
// is shut down before KillEdge returns, so peers' failure detection
// starts then; the rest of the edge (assignment follower, load publisher)
// winds down in the background, and Close waits for it.
func (c *Cluster) KillEdge(id string) error {
	e, err := c.takeEdge(id)
	if err != nil {
		return err
	}
	shutErr := e.Pool().Close(atOnce()) // idempotent; the edge's Close shuts it down again
	c.edges.cleanup.Go(func() { _ = e.Close(atOnce()) })
	return shutErr
}

// DrainEdge drains an edge gracefully (edge.Drain: draining flag, grace;
// then edge.Close: gossip leave, close); the pool records it as left.
// ctx cuts the grace short, not the leave.
func (c *Cluster) DrainEdge(ctx context.Context, id string) error {
	e, err := c.takeEdge(id)
	if err != nil {
		return err
	}
	return errors.Join(e.Drain(ctx), e.Close(context.WithoutCancel(ctx)))
}

// Edge returns a running edge by id.
func (c *Cluster) Edge(id string) (*edge.Edge, bool) {
	c.edges.mu.Lock()
	defer c.edges.mu.Unlock()
	e := c.edges.edges[id]
	return e, e != nil
}

// closeEdges closes every running edge (concurrently) and waits for the
// cleanup of killed ones; Close calls it before stopping the origins so
// leaves reach them.
func (c *Cluster) closeEdges() {
	c.edges.mu.Lock()
	var running []*edge.Edge
	for id, e := range c.edges.edges {
		if e != nil {
			running = append(running, e)
			c.edges.edges[id] = nil
		}
	}
	c.edges.mu.Unlock()
	var wg sync.WaitGroup
	for _, e := range running {
		wg.Go(func() { _ = e.Close(context.Background()) })
	}
	wg.Wait()
	c.edges.cleanup.Wait()
}

// EdgeStatuses lists every edge through cl's GET /v1/nodes?role=edge,
// by id. Use NodeClient(Leader()) to see the leader's gossip view.
func EdgeStatuses(ctx context.Context, cl *api.Client) (map[string]api.NodeView, error) {
	nodes, err := cl.Nodes().List(ctx, api.NodeFilter{Role: api.RoleEdge, ListOptions: api.ListOptions{Limit: api.MaxListLimit}})
	if err != nil {
		return nil, err
	}
	out := make(map[string]api.NodeView, len(nodes))
	for _, n := range nodes {
		out[n.ID] = n
	}
	return out, nil
}

// WaitEdges waits until the leader's registry holds every listed edge
// alive and the leader's gossip pool sees it alive.
func (c *Cluster) WaitEdges(ids []string, d time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	var missing []string
	err := poll.Until(d, 20*time.Millisecond, func() error {
		missing = missing[:0]
		if l := c.Leader(); l >= 0 {
			st, err := EdgeStatuses(ctx, c.NodeClient(l))
			if err == nil {
				for _, id := range ids {
					n, ok := st[id]
					if !ok || n.State != api.NodeAlive || n.Live == nil || n.Live.Gossip != string(api.NodeAlive) {
						missing = append(missing, id)
					}
				}
				if len(missing) == 0 {
					return nil
				}
			}
		}
		return fmt.Errorf("edges not alive at the leader: %v", missing)
	})
	if err != nil {
		return fmt.Errorf("testcluster: %w", err)
	}
	return nil
}
