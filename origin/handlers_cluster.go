package origin

import (
	_ "embed"
	"encoding/base64"
	"errors"
	"net/http"
	"regexp"
	"sort"

	"github.com/strata-edge/strata/api"
	"github.com/strata-edge/strata/internal/pki"
	"github.com/strata-edge/strata/registry"
)

//go:embed openapi.yaml
var openapiSpec []byte

// OpenAPISpec returns the API description served at /v1/openapi.yaml.
func OpenAPISpec() []byte { return openapiSpec }

var nodeIDPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

func (o *Origin) healthz(*call) (int, any, error) {
	return http.StatusOK, api.Health{Status: "ok"}, nil
}

// readyz is ready when a leader is known and this node's registry has
// applied what it has received.
func (o *Origin) readyz(*call) (int, any, error) {
	id, _ := o.reg.Leader()
	if id == "" {
		return 0, nil, unavailable(api.CodeNoLeader, 1, "no leader is known")
	}
	return http.StatusOK, api.Ready{Status: "ready", Leader: id}, nil
}

func (o *Origin) openapi(c *call) (int, any, error) {
	c.ctx.SetContentType("application/yaml")
	c.ctx.SetBody(openapiSpec)
	return http.StatusOK, nil, nil
}

// viewNode is a node with the capacity reserved on it and its live load.
func (o *Origin) viewNode(n *registry.Node) api.NodeView {
	u := o.reg.State().NodeUsage(n.ID)
	v := api.NodeView{Node: toAPINode(n), Reserved: api.ReservedCapacity{Sessions: u.Sessions, EgressMbps: u.EgressMbps}, Live: o.live(n.ID)}
	for idx, mb := range u.GPUMemoryMB {
		v.Reserved.GPUMemoryMB = append(v.Reserved.GPUMemoryMB, api.GPUMemoryUsage{Index: idx, MemoryMB: mb, Sessions: u.GPUSessions[idx]})
	}
	sort.Slice(v.Reserved.GPUMemoryMB, func(i, j int) bool { return v.Reserved.GPUMemoryMB[i].Index < v.Reserved.GPUMemoryMB[j].Index })
	return v
}

func (o *Origin) listNodes(c *call) (int, any, error) {
	if err := o.block(c); err != nil {
		return 0, nil, err
	}
	limit, cursor, err := page(c, nodeIDPattern.MatchString)
	if err != nil {
		return 0, nil, err
	}
	role := string(c.ctx.QueryArgs().Peek("role"))
	if role != "" && role != string(api.RoleOrigin) && role != string(api.RoleEdge) {
		return 0, nil, badRequest("role: want origin or edge")
	}
	var out []api.NodeView
	for _, n := range o.reg.State().Nodes() {
		if n.ID > cursor && (role == "" || n.Role.String() == role) {
			out = append(out, o.viewNode(n))
		}
	}
	return http.StatusOK, pageOf(out, func(n api.NodeView) string { return n.ID }, limit), nil
}

func (o *Origin) getNode(c *call) (int, any, error) {
	id := pathParam(c, "id")
	if !nodeIDPattern.MatchString(id) {
		return 0, nil, api.Errorf(400, api.CodeInvalidID, "node id %q is not valid (letters, digits, '.', '_', '-'; at most 64)", truncate(id, 80))
	}
	n, ok := o.reg.State().Node(id)
	if !ok {
		return 0, nil, notFound("node", id)
	}
	return http.StatusOK, o.viewNode(n), nil
}

func (o *Origin) clusterStatus(*call) (int, any, error) {
	st, err := o.reg.Status()
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, toAPIStatus(st), nil
}

// joinCluster adds an origin to the Raft configuration and records its
// addresses so any origin can forward to it when it leads.
func (o *Origin) joinCluster(c *call) (int, any, error) {
	var b api.JoinRequest
	if err := decode(c, &b); err != nil {
		return 0, nil, err
	}
	switch {
	case !nodeIDPattern.MatchString(b.ID):
		return 0, nil, api.Errorf(400, api.CodeInvalidID, "id %q is not a valid node id", truncate(b.ID, 80))
	case b.RaftAddr == "" || len(b.RaftAddr) > 256:
		return 0, nil, badRequest("raft_addr: required")
	case b.APIAddr == "" || len(b.APIAddr) > 256:
		return 0, nil, badRequest("api_addr: required")
	case len(b.GossipAddr) > 256:
		return 0, nil, badRequest("gossip_addr: at most 256 characters")
	case len(b.MetricsAddr) > 256:
		return 0, nil, badRequest("metrics_addr: at most 256 characters")
	}
	if err := c.who.mayActAs(b.ID, pki.RoleOrigin); err != nil {
		return 0, nil, err
	}
	var err error
	if b.Nonvoter {
		err = o.reg.AddNonvoter(b.ID, b.RaftAddr)
	} else {
		err = o.reg.AddVoter(b.ID, b.RaftAddr)
	}
	if err != nil {
		return 0, nil, err
	}
	n := registry.Node{
		ID: b.ID, Role: registry.RoleOrigin, Region: b.Region, State: registry.NodeAlive,
		Addrs: map[string]string{"api": b.APIAddr, "raft": b.RaftAddr, "gossip": b.GossipAddr},
	}
	if b.MetricsAddr != "" {
		n.Addrs["metrics"] = b.MetricsAddr
	}
	v, err := o.reg.Apply(c.cx, &registry.UpsertNode{Node: n})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, toAPINode(v.(*registry.Node)), nil
}

func (o *Origin) removePeer(c *call) (int, any, error) {
	id := pathParam(c, "id")
	if !nodeIDPattern.MatchString(id) {
		return 0, nil, api.Errorf(400, api.CodeInvalidID, "id %q is not a valid node id", truncate(id, 80))
	}
	st, err := o.reg.Status()
	if err != nil {
		return 0, nil, err
	}
	found := false
	for _, p := range st.Peers {
		found = found || p.ID == id
	}
	if !found {
		return 0, nil, notFound("peer", id)
	}
	if err := o.reg.RemoveServer(id); err != nil {
		return 0, nil, err
	}
	if _, err := o.reg.Apply(c.cx, &registry.RemoveNode{ID: id}); err != nil && !errors.Is(err, registry.ErrNotFound) {
		return 0, nil, err
	}
	return http.StatusNoContent, nil, nil
}

func (o *Origin) transferLeadership(*call) (int, any, error) {
	if err := o.reg.TransferLeadership(); err != nil {
		return 0, nil, err
	}
	id, _ := o.reg.Leader()
	return http.StatusOK, api.LeaderChange{LeaderID: id}, nil
}

func (o *Origin) jwks(c *call) (int, any, error) {
	set := api.JWKS{Keys: []api.JWK{}}
	for _, k := range o.reg.State().SigningKeys() {
		set.Keys = append(set.Keys, api.JWK{Kty: "OKP", Crv: "Ed25519", Kid: k.ID, X: base64.RawURLEncoding.EncodeToString(k.Public), Use: "sig", Alg: "EdDSA"})
	}
	c.ctx.Response.Header.Set("Cache-Control", "max-age=60")
	return http.StatusOK, set, nil
}

func (o *Origin) rotateSigningKey(c *call) (int, any, error) {
	k, err := o.addSigningKey(c.cx)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, api.RotatedKey{Kid: k.ID}, nil
}
