package origin

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/strata-edge/strata/api"
	"github.com/strata-edge/strata/internal/ids"
	"github.com/strata-edge/strata/internal/token"
	"github.com/strata-edge/strata/placement"
	"github.com/strata-edge/strata/registry"
)

// addViewer routes a viewer to the closest edge that can carry the
// session's bitrate (preferring edges already relaying it) and signs a
// short-lived viewer token the edge verifies offline.
func (o *Origin) addViewer(c *call) (int, any, error) {
	s, err := o.sessionFor(c)
	if err != nil {
		return 0, nil, err
	}
	var b api.ViewerRequest
	if len(c.ctx.Request.Body()) > 0 {
		if err := decode(c, &b); err != nil {
			return 0, nil, err
		}
	}
	if (b.Lat == nil) != (b.Lon == nil) {
		return 0, nil, badRequest("lat, lon: give both or neither")
	}
	if b.Lat != nil && !validLocation(*b.Lat, *b.Lon) {
		return 0, nil, badRequest("lat, lon: out of range")
	}
	if err := checkRange("ttl_seconds", b.TTLSeconds, api.MaxViewerTTLSeconds); err != nil {
		return 0, nil, err
	}
	ttl := time.Duration(cmp.Or(b.TTLSeconds, api.MaxViewerTTLSeconds)) * time.Second
	if s.Reservation == nil {
		return 0, nil, noEdgeYet(s)
	}
	req := placement.ViewerRequest{SessionID: s.ID, IngestNodeID: s.Reservation.NodeID, BitrateMbps: max(s.EgressMbps, 1)}
	req.Viewer.Region = b.Region
	if b.Lat != nil {
		req.Viewer.Location = placement.Location{Lat: *b.Lat, Lon: *b.Lon, Known: true}
	}
	snap := o.snapshot()
	now := time.Now().UTC()
	if relays := o.relays.edges(s.ID, now); len(relays) > 0 {
		for i := range snap.Nodes {
			if slices.Contains(relays, snap.Nodes[i].ID) {
				snap.Nodes[i].Relaying = append(snap.Nodes[i].Relaying, s.ID)
			}
		}
	}
	d, err := placement.RouteViewer(snap, req)
	if err != nil {
		if errors.Is(err, placement.ErrNoCapacity) {
			return 0, nil, unavailable(api.CodeNoCapacity, 5, err.Error())
		}
		return 0, nil, err
	}
	key, err := o.signingKey()
	if err != nil {
		return 0, nil, err
	}
	role := token.RoleViewer
	if b.Controller {
		role = token.RoleController
	}
	exp := now.Add(ttl)
	tok, err := token.Sign(key.Private, key.ID, token.Claims{
		Issuer: "strata", Tenant: s.TenantID, Session: s.ID, Role: role, Node: d.EdgeID,
		IssuedAt: now, NotBefore: now.Add(-time.Minute), ExpiresAt: exp,
	})
	if err != nil {
		return 0, nil, err
	}
	if d.EdgeID != req.IngestNodeID {
		o.relays.note(s.ID, d.EdgeID, exp, now)
	}
	ans := api.ViewerAnswer{Edge: d.EdgeID, Upstream: d.UpstreamID, Relaying: d.Relaying, Token: tok, ExpiresAt: exp, Role: api.TokenRole(role)}
	if n, ok := o.reg.State().Node(d.EdgeID); ok {
		if a := n.Addrs["quic"]; a != "" {
			ans.MoQURL = "https://" + a + "/moq"
		}
		if a := n.Addrs["whip"]; a != "" {
			ans.WHEPURL = "https://" + a + "/whep/" + s.TenantID + "/" + s.ID
			ans.PlayerURL = "https://" + a + "/embed/" + s.ID + "?token=" + tok
		}
	}
	return http.StatusOK, ans, nil
}

// explainPlacement is a dry run: where would a session of this shape go,
// and why were the other nodes rejected.
func (o *Origin) explainPlacement(c *call) (int, any, error) {
	q := c.ctx.QueryArgs()
	req := placement.Request{Tenant: c.who.tenantID, Explain: true, GPUModel: string(q.Peek("gpu_model")), Requester: placement.Requester{Region: string(q.Peek("region"))}}
	if req.Tenant == "" {
		req.Tenant = "admin"
	}
	if app := string(q.Peek("app_id")); app != "" {
		a, ok := o.reg.State().App(app)
		if !ids.Valid("app", app) || !ok || !c.who.canSee(a.TenantID) {
			return 0, nil, notFound("app", app)
		}
		req.GPUs, req.GPUModel, req.GPUMemoryMB, req.EgressMbps = int(a.GPUs), a.GPUModel, a.GPUMemoryMB, a.EgressMbps
		req.Runtime = a.Runtime
	}
	ints := []struct {
		name string
		dst  *int64
		max  int64
	}{{"gpu_memory_mb", &req.GPUMemoryMB, api.MaxGPUMemoryMB}, {"egress_mbps", &req.EgressMbps, api.MaxEgressMbps}}
	for _, f := range ints {
		if v := q.Peek(f.name); len(v) > 0 {
			n, err := strconv.ParseInt(string(v), 10, 64)
			if err != nil || n < 0 || n > f.max {
				return 0, nil, badRequest("%s: must be an integer from 0 to %d", f.name, f.max)
			}
			*f.dst = n
		}
	}
	if v := q.Peek("gpus"); len(v) > 0 {
		n, err := strconv.Atoi(string(v))
		if err != nil || n < 0 || n > api.MaxGPUs {
			return 0, nil, badRequest("gpus: must be an integer from 0 to %d", api.MaxGPUs)
		}
		req.GPUs = n
	}
	lat, lon := q.Peek("lat"), q.Peek("lon")
	if (len(lat) == 0) != (len(lon) == 0) {
		return 0, nil, badRequest("lat, lon: give both or neither")
	}
	if len(lat) > 0 {
		la, err1 := strconv.ParseFloat(string(lat), 64)
		lo, err2 := strconv.ParseFloat(string(lon), 64)
		if err1 != nil || err2 != nil || !validLocation(la, lo) {
			return 0, nil, badRequest("lat, lon: must be degrees in range")
		}
		req.Requester.Location = placement.Location{Lat: la, Lon: lo, Known: true}
	}
	d, err := placement.Place(o.snapshot(), req)
	var nc *placement.NoCapacityError
	switch {
	case errors.As(err, &nc):
		ex, merr := json.Marshal(nc.Explanation)
		if merr != nil {
			return 0, nil, merr
		}
		return http.StatusOK, api.PlacementExplanation{Placed: false, Reason: err.Error(), Explanation: ex}, nil
	case err != nil:
		return 0, nil, badRequest("%v", err)
	}
	dec, err := json.Marshal(d)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, api.PlacementExplanation{Placed: true, Decision: dec}, nil
}

// placeNow waits for the placer's next round so a create answers with the
// session placed when capacity exists. With failFast, a session that found
// no capacity is ended and the call fails with 503.
func (o *Origin) placeNow(c *call, s *registry.Session, failFast bool) (*registry.Session, error) {
	ctx, cancel := context.WithTimeout(c.cx, 5*time.Second)
	defer cancel()
	o.placer.WaitRound(ctx)
	cur, ok := o.reg.State().Session(s.ID)
	if !ok {
		return s, nil
	}
	if failFast && cur.State == registry.StatePending {
		_, _ = o.reg.Apply(c.cx, &registry.SetSessionState{ID: s.ID, State: registry.StateTerminated, ExpectState: registry.StatePending, Reason: "no capacity (fail_fast)", At: time.Now().UTC()})
		return nil, unavailable(api.CodeNoCapacity, 5, "no edge has capacity for this session now: "+cur.Reason)
	}
	return cur, nil
}
