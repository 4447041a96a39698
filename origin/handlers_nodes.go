package origin

import (
	"net/http"
	"time"

	"github.com/strata-edge/strata/internal/auth"
	"github.com/strata-edge/strata/internal/ids"
	"github.com/strata-edge/strata/registry"
)

// registerBody is an edge's full self-description. Gossip metadata is too
// small for the GPU list, so edges register over REST and gossip only
// liveness and load.
type registerBody struct {
	ID      string            `json:"id"`
	Region  string            `json:"region,omitempty"`
	Zone    string            `json:"zone,omitempty"`
	Lat     *float64          `json:"lat,omitempty"`
	Lon     *float64          `json:"lon,omitempty"`
	Addrs   map[string]string `json:"addrs,omitempty"`
	Labels  map[string]string `json:"labels,omitempty"`
	GPUs    []registry.GPU    `json:"gpus,omitempty"`
	NICMbps int64             `json:"nic_mbps"`
}

func (o *Origin) registerNode(c *call) (int, any, error) {
	var b registerBody
	if err := decode(c, &b); err != nil {
		return 0, nil, err
	}
	switch {
	case !nodeIDPattern.MatchString(b.ID):
		return 0, nil, errf(400, codeInvalidID, "id %q is not a valid node id", truncate(b.ID, 80))
	case b.NICMbps <= 0:
		return 0, nil, badRequest("nic_mbps: must be positive")
	case len(b.GPUs) > 64:
		return 0, nil, badRequest("gpus: at most 64")
	case (b.Lat == nil) != (b.Lon == nil):
		return 0, nil, badRequest("lat, lon: give both or neither")
	}
	if err := checkLabels("labels", b.Labels); err != nil {
		return 0, nil, err
	}
	if err := checkLabels("addrs", b.Addrs); err != nil {
		return 0, nil, err
	}
	seen := map[int64]bool{}
	for _, g := range b.GPUs {
		if g.Index < 0 || seen[g.Index] || g.MemoryMB <= 0 || len(g.Model) > maxNameLen || len(g.UUID) > maxNameLen {
			return 0, nil, badRequest("gpus: indexes must be unique and non-negative, memory_mb positive")
		}
		seen[g.Index] = true
	}
	if n, ok := o.reg.State().Node(b.ID); ok && n.Role == registry.RoleOrigin {
		return 0, nil, errf(http.StatusConflict, codeConflict, "node %q is an origin", b.ID)
	}
	n := registry.Node{
		ID: b.ID, Role: registry.RoleEdge, Region: b.Region, Zone: b.Zone, Addrs: b.Addrs, Labels: b.Labels,
		GPUs: b.GPUs, NICMbps: b.NICMbps, State: registry.NodeAlive, Reason: "registered",
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
		return 0, nil, errf(400, codeInvalidID, "node id %q is not valid", truncate(id, 80))
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

// createJoinToken makes a node-scope key that edges use to register and
// follow their assignments.
func (o *Origin) createJoinToken(c *call) (int, any, error) {
	var b keyBody
	if err := decode(c, &b); err != nil {
		return 0, nil, err
	}
	if err := checkName("name", b.Name); err != nil {
		return 0, nil, err
	}
	now := time.Now().UTC()
	if !b.ExpiresAt.IsZero() && !b.ExpiresAt.After(now) {
		return 0, nil, badRequest("expires_at: must be in the future")
	}
	secret, hash := auth.NewSecret()
	k := registry.APIKey{ID: ids.New("key", now), Scope: registry.ScopeNode, Name: b.Name, Hash: hash, ExpiresAt: b.ExpiresAt, Meta: registry.Meta{CreatedAt: now}}
	v, err := o.reg.Apply(c.cx, &registry.CreateKey{Key: k})
	if err != nil {
		return 0, nil, err
	}
	key := v.(*registry.APIKey)
	return http.StatusCreated, createdKey{APIKey: key, Token: auth.Token(key.ID, secret)}, nil
}
