package edge

import (
	"context"
	"fmt"
	"net/url"
	"strconv"
	"time"

	"github.com/strata-edge/strata/edge/gpu"
	"github.com/strata-edge/strata/registry/client"
)

// Registration is the body of POST /v1/nodes/register: the edge's full
// description, which gossip metadata is too small to carry.
type Registration struct {
	ID      string            `json:"id"`
	Region  string            `json:"region"`
	Zone    string            `json:"zone,omitempty"`
	Lat     float64           `json:"lat"`
	Lon     float64           `json:"lon"`
	Addrs   map[string]string `json:"addrs"`
	GPUs    []RegisteredGPU   `json:"gpus"`
	NICMbps int64             `json:"nic_mbps"`
	Labels  map[string]string `json:"labels,omitempty"`
}

// RegisteredGPU is one GPU in a Registration.
type RegisteredGPU struct {
	Index    int    `json:"index"`
	UUID     string `json:"uuid,omitempty"`
	Model    string `json:"model"`
	MemoryMB int64  `json:"memory_mb"`
}

func registeredGPUs(gpus []gpu.GPU) []RegisteredGPU {
	out := make([]RegisteredGPU, 0, len(gpus))
	for _, g := range gpus {
		out = append(out, RegisteredGPU{Index: g.Index, UUID: g.UUID, Model: g.Model, MemoryMB: g.MemoryTotalMB})
	}
	return out
}

// originAPI is what the edge needs from the origins; *client.Client
// provides failover across them.
type originAPI interface {
	DoIndex(ctx context.Context, method, path string, body, out any) (uint64, error)
}

var _ originAPI = (*client.Client)(nil)

// register posts the registration once.
func register(ctx context.Context, api originAPI, r Registration) error {
	_, err := api.DoIndex(ctx, "POST", "/v1/nodes/register", r, nil)
	return err
}

// originNode is the part of GET /v1/nodes the edge reads.
type originNode struct {
	ID    string            `json:"id"`
	Addrs map[string]string `json:"addrs"`
}

// originSeeds lists the origins' gossip addresses (addrs.gossip).
func originSeeds(ctx context.Context, api originAPI) ([]string, error) {
	var seeds []string
	cursor := ""
	for {
		path := "/v1/nodes?role=origin"
		if cursor != "" {
			path += "&cursor=" + url.QueryEscape(cursor)
		}
		var page client.List[originNode]
		if _, err := api.DoIndex(ctx, "GET", path, nil, &page); err != nil {
			return nil, fmt.Errorf("list origins: %w", err)
		}
		for _, n := range page.Items {
			if a := n.Addrs["gossip"]; a != "" {
				seeds = append(seeds, a)
			}
		}
		if page.NextCursor == "" || page.NextCursor == cursor {
			break
		}
		cursor = page.NextCursor
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
func assignments(ctx context.Context, api originAPI, node string, index uint64, wait time.Duration) ([]client.Session, uint64, error) {
	var all []client.Session
	var newIndex uint64
	cursor := ""
	for {
		q := url.Values{"node_id": {node}}
		if cursor == "" {
			q.Set("index", strconv.FormatUint(index, 10))
			q.Set("wait", wait.String())
		} else {
			q.Set("cursor", cursor)
		}
		// The deadline also bounds the HTTP call, which would otherwise
		// use the client's default timeout, shorter than a long wait.
		cctx, cancel := context.WithTimeout(ctx, wait+10*time.Second)
		var page client.List[client.Session]
		idx, err := api.DoIndex(cctx, "GET", "/v1/sessions?"+q.Encode(), nil, &page)
		cancel()
		if err != nil {
			return nil, 0, fmt.Errorf("follow assignments: %w", err)
		}
		if cursor == "" {
			newIndex = idx
		}
		all = append(all, page.Items...)
		if page.NextCursor == "" || page.NextCursor == cursor {
			return all, newIndex, nil
		}
		cursor = page.NextCursor
	}
}
