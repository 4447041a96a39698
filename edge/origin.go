package edge

import (
	"context"
	"fmt"
	"time"

	"github.com/strata-edge/strata/api"
	"github.com/strata-edge/strata/edge/gpu"
)

// registration is the edge's full description for POST
// /v1/nodes/register, which gossip metadata is too small to carry.
func registration(cfg Config, addrs map[string]string, gpus []gpu.GPU, nicMbps int64) api.NodeRegistration {
	lat, lon := cfg.Lat, cfg.Lon
	r := api.NodeRegistration{
		ID: cfg.NodeID, Region: cfg.Region, Zone: cfg.Zone, Lat: &lat, Lon: &lon,
		Addrs: addrs, NICMbps: nicMbps, Labels: cfg.Labels, GPUs: make([]api.GPU, 0, len(gpus)),
	}
	for _, g := range gpus {
		r.GPUs = append(r.GPUs, api.GPU{Index: int64(g.Index), UUID: g.UUID, Model: g.Model, MemoryMB: g.MemoryTotalMB})
	}
	return r
}

// register posts the registration once.
func register(ctx context.Context, c *api.Client, r api.NodeRegistration) error {
	_, err := c.Nodes().Register(ctx, r)
	return err
}

// originSeeds lists the origins' gossip addresses (addrs.gossip).
func originSeeds(ctx context.Context, c *api.Client) ([]string, error) {
	origins, err := c.Nodes().List(ctx, api.NodeFilter{Role: api.RoleOrigin})
	if err != nil {
		return nil, fmt.Errorf("list origins: %w", err)
	}
	var seeds []string
	for _, n := range origins {
		if a := n.Addrs["gossip"]; a != "" {
			seeds = append(seeds, a)
		}
	}
	if len(seeds) == 0 {
		return nil, fmt.Errorf("%w: no origin advertises addrs.gossip", ErrNoSeeds)
	}
	return seeds, nil
}

// assignments runs one blocking query for the sessions placed on node:
// it returns when the registry index passes index or wait elapses, with
// the new index. Later pages (rare: one node holds few sessions) are read
// without blocking.
func assignments(ctx context.Context, c *api.Client, node string, index uint64, wait time.Duration) ([]api.Session, uint64, error) {
	ss, idx, err := c.Sessions().Follow(ctx, api.SessionFilter{NodeID: node}, index, wait)
	if err != nil {
		return nil, 0, fmt.Errorf("follow assignments: %w", err)
	}
	return ss, idx, nil
}
