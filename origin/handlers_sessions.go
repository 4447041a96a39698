package origin

import (
	"net/http"
	"time"

	"github.com/strata-edge/strata/api"
	"github.com/strata-edge/strata/internal/ids"
	"github.com/strata-edge/strata/registry"
)

func (o *Origin) createSession(c *call) (int, any, error) {
	var b api.SessionSpec
	if err := decode(c, &b); err != nil {
		return 0, nil, err
	}
	if !ids.Valid("app", b.AppID) {
		return 0, nil, api.Errorf(400, api.CodeInvalidID, "app_id %q is not a valid app ID", truncate(b.AppID, 80))
	}
	tenant, err := ownerTenant(c, b.TenantID)
	if err != nil {
		return 0, nil, err
	}
	app, ok := o.reg.State().App(b.AppID)
	if !ok || app.TenantID != tenant {
		return 0, nil, notFound("app", b.AppID)
	}
	if err := checkLabels("labels", b.Labels); err != nil {
		return 0, nil, err
	}
	if (b.Lat == nil) != (b.Lon == nil) {
		return 0, nil, badRequest("lat, lon: give both or neither")
	}
	now := time.Now().UTC()
	s := registry.Session{
		ID: ids.New("ses", now), TenantID: tenant, AppID: app.ID, Region: b.Region, Labels: b.Labels,
		GPUs: app.GPUs, GPUModel: app.GPUModel, GPUMemoryMB: app.GPUMemoryMB, EgressMbps: app.EgressMbps,
		Meta: registry.Meta{CreatedAt: now},
	}
	if b.Lat != nil {
		if !validLocation(*b.Lat, *b.Lon) {
			return 0, nil, badRequest("lat, lon: out of range")
		}
		s.Lat, s.Lon, s.HasLocation = *b.Lat, *b.Lon, true
	}
	if b.GPUModel != "" {
		s.GPUModel = b.GPUModel
	}
	if err := checkOverrides(b); err != nil {
		return 0, nil, err
	}
	if b.GPUs != nil {
		s.GPUs = *b.GPUs
	}
	if b.GPUMemoryMB != nil {
		s.GPUMemoryMB = *b.GPUMemoryMB
	}
	if b.EgressMbps != nil {
		s.EgressMbps = *b.EgressMbps
	}
	if err := o.reg.State().CheckQuota(tenant, &s); err != nil {
		return 0, nil, err
	}
	if !b.Async || b.FailFast {
		// Placed at once in one log entry when there is room; otherwise
		// (or when the FSM found the decision stale) the placer's path.
		placed, err := o.placer.CreatePlaced(c.cx, s)
		if err != nil {
			return 0, nil, err
		}
		if placed != nil && placed.State == registry.StatePlaced {
			return http.StatusCreated, toAPISession(placed), nil
		}
		if placed != nil {
			if placed, err = o.placeNow(c, placed, b.FailFast); err != nil {
				return 0, nil, err
			}
			return http.StatusCreated, toAPISession(placed), nil
		}
	}
	v, err := o.reg.Apply(c.cx, &registry.CreateSession{Session: s})
	if err != nil {
		return 0, nil, err
	}
	if b.Async && !b.FailFast {
		o.kickPlacement()
		return http.StatusCreated, toAPISession(v.(*registry.Session)), nil
	}
	placed, err := o.placeNow(c, v.(*registry.Session), b.FailFast)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, toAPISession(placed), nil
}

// checkOverrides bounds the numbers a session creation may override.
func checkOverrides(b api.SessionSpec) error {
	bounds := []struct {
		field string
		v     *int64
		max   int64
	}{
		{"gpus", b.GPUs, api.MaxGPUs},
		{"gpu_memory_mb", b.GPUMemoryMB, api.MaxGPUMemoryMB},
		{"egress_mbps", b.EgressMbps, api.MaxEgressMbps},
	}
	for _, f := range bounds {
		if f.v != nil {
			if err := checkRange(f.field, *f.v, f.max); err != nil {
				return err
			}
		}
	}
	return nil
}

func (o *Origin) listSessions(c *call) (int, any, error) {
	block := o.block
	node := string(c.ctx.QueryArgs().Peek("node_id"))
	if c.who.isNode() {
		// A node lists only its own assignments.
		if node != "" && node != c.who.node.NodeID {
			return 0, nil, api.Errorf(http.StatusForbidden, api.CodeForbidden, "%s may list only its own sessions", c.who)
		}
		node = c.who.node.NodeID
	}
	if node != "" {
		block = func(c *call) error { return o.blockNode(c, node) }
	}
	if err := block(c); err != nil {
		return 0, nil, err
	}
	limit, cursor, err := page(c, idOf("ses"))
	if err != nil {
		return 0, nil, err
	}
	q := c.ctx.QueryArgs()
	f := registry.SessionFilter{
		TenantID: string(q.Peek("tenant_id")), AppID: string(q.Peek("app_id")),
		NodeID: node, Region: string(q.Peek("region")),
		After: cursor, Limit: limit + 1,
	}
	switch c.who.scope {
	case registry.ScopeTenant:
		f.TenantID = c.who.tenantID
	}
	if s := q.Peek("state"); len(s) > 0 {
		st, ok := registry.ParseSessionState(string(s))
		if !ok {
			return 0, nil, badRequest("state: %q is not a session state", truncate(string(s), 40))
		}
		f.State = st
	}
	items, _ := o.reg.State().Sessions(f)
	return http.StatusOK, pageOf(toAPISessions(items), func(s api.Session) string { return s.ID }, limit), nil
}

// blockNode is block for a list of one node's sessions: it waits for a
// change to a session reserved on that node, not for any registry write.
// Each edge follows its assignments with such a query; waking all of them
// on every write made each placement cost a full list per edge.
func (o *Origin) blockNode(c *call, node string) error {
	ctx, idx, cancel, err := blockingQuery(c)
	if err != nil || ctx == nil {
		return err
	}
	defer cancel()
	o.reg.State().WaitNodeSessions(ctx, node, idx)
	if idx > 0 {
		// Let the burst that woke us finish: under a placement load an
		// edge's sessions change every few milliseconds, and answering
		// each change with the whole list cost more CPU than placing.
		select {
		case <-ctx.Done():
		case <-time.After(nodeListCoalesce):
		}
	}
	return nil
}

// nodeListCoalesce is how long a node's blocking session list waits after
// the first change before answering, so one answer carries a burst of
// changes. Small next to starting a session on an edge.
const nodeListCoalesce = 20 * time.Millisecond

func (o *Origin) sessionFor(c *call) (*registry.Session, error) {
	id, err := idParam(c, "id", "ses")
	if err != nil {
		return nil, err
	}
	s, ok := o.reg.State().Session(id)
	if !ok || !c.who.canSee(s.TenantID) && !c.who.isNode() {
		return nil, notFound("session", id)
	}
	return s, nil
}

func (o *Origin) getSession(c *call) (int, any, error) {
	s, err := o.sessionFor(c)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, toAPISession(s), nil
}

// terminateSession ends a session and releases what it holds.
func (o *Origin) terminateSession(c *call) (int, any, error) {
	s, err := o.sessionFor(c)
	if err != nil {
		return 0, nil, err
	}
	reason := string(c.ctx.QueryArgs().Peek("reason"))
	if reason == "" {
		reason = "terminated by API"
	}
	v, err := o.reg.Apply(c.cx, &registry.SetSessionState{
		ID: s.ID, TenantID: s.TenantID, State: registry.StateTerminated, Reason: truncate(reason, 256), At: time.Now().UTC(),
	})
	if err != nil {
		return 0, nil, err
	}
	o.kickPlacement()
	return http.StatusOK, toAPISession(v.(*registry.Session)), nil
}
