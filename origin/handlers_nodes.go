package origin

import (
	"net/http"
	"slices"
	"time"

	"github.com/strata-edge/strata/api"
	"github.com/strata-edge/strata/internal/pki"
	"github.com/strata-edge/strata/registry"
)

func (o *Origin) registerNode(c *call) (int, any, error) {
	var b api.NodeRegistration
	if err := decode(c, &b); err != nil {
		return 0, nil, err
	}
	switch {
	case !nodeIDPattern.MatchString(b.ID):
		return 0, nil, api.Errorf(400, api.CodeInvalidID, "id %q is not a valid node id", truncate(b.ID, 80))
	case b.NICMbps <= 0:
		return 0, nil, badRequest("nic_mbps: must be positive")
	case b.NICMbps > api.MaxNICMbps:
		return 0, nil, badRequest("nic_mbps: at most %d", api.MaxNICMbps)
	case len(b.GPUs) > api.MaxGPUs:
		return 0, nil, badRequest("gpus: at most %d", api.MaxGPUs)
	case (b.Lat == nil) != (b.Lon == nil):
		return 0, nil, badRequest("lat, lon: give both or neither")
	case b.Lat != nil && !validLocation(*b.Lat, *b.Lon):
		return 0, nil, badRequest("lat, lon: out of range")
	}
	if err := checkLabels("labels", b.Labels); err != nil {
		return 0, nil, err
	}
	if err := checkLabels("addrs", b.Addrs); err != nil {
		return 0, nil, err
	}
	var runtimes []string
	for _, r := range b.Runtimes {
		if err := oneOf("runtimes", r, api.Runtimes); err != nil {
			return 0, nil, err
		}
		if !slices.Contains(runtimes, string(r)) {
			runtimes = append(runtimes, string(r))
		}
	}
	seen := map[int64]bool{}
	for _, g := range b.GPUs {
		if g.Index < 0 || seen[g.Index] || g.MemoryMB <= 0 || len(g.Model) > maxNameLen || len(g.UUID) > maxNameLen {
			return 0, nil, badRequest("gpus: indexes must be unique and non-negative, memory_mb positive")
		}
		if g.MemoryMB > api.MaxGPUMemoryMB {
			return 0, nil, badRequest("gpus: memory_mb at most %d", api.MaxGPUMemoryMB)
		}
		seen[g.Index] = true
	}
	if err := c.who.mayActAs(b.ID, pki.RoleEdge); err != nil {
		return 0, nil, err
	}
	if n, ok := o.reg.State().Node(b.ID); ok && n.Role == registry.RoleOrigin {
		return 0, nil, api.Errorf(http.StatusConflict, api.CodeConflict, "node %q is an origin", b.ID)
	}
	n := registry.Node{
		ID: b.ID, Role: registry.RoleEdge, Region: b.Region, Zone: b.Zone, Addrs: b.Addrs, Labels: b.Labels,
		GPUs: fromAPIGPUs(b.GPUs), NICMbps: b.NICMbps, Runtimes: runtimes, State: registry.NodeAlive, Reason: "registered",
		Meta: registry.Meta{UpdatedAt: time.Now().UTC()},
	}
	if b.Lat != nil {
		n.Lat, n.Lon, n.HasLocation = *b.Lat, *b.Lon, true
	}
	v, err := o.reg.Apply(c.cx, &registry.UpsertNode{Node: n})
	if err != nil {
		return 0, nil, err
	}
	o.kickPlacement()
	return http.StatusOK, o.viewNode(v.(*registry.Node)), nil
}

// drainNode stops new sessions and viewers going to a node; the edge sees
// the flag and leaves once its sessions have moved.
func (o *Origin) drainNode(c *call) (int, any, error) {
	id := pathParam(c, "id")
	if !nodeIDPattern.MatchString(id) {
		return 0, nil, api.Errorf(400, api.CodeInvalidID, "node id %q is not valid", truncate(id, 80))
	}
	n, ok := o.reg.State().Node(id)
	if !ok {
		return 0, nil, notFound("node", id)
	}
	v, err := o.reg.Apply(c.cx, &registry.SetNodeState{ID: id, State: n.State, Draining: true, Reason: "drained by API", At: time.Now().UTC()})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, o.viewNode(v.(*registry.Node)), nil
}
