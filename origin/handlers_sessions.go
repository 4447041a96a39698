package origin

import (
	"net/http"
	"time"

	"github.com/strata-edge/strata/internal/ids"
	"github.com/strata-edge/strata/registry"
)

type sessionBody struct {
	TenantID    string            `json:"tenant_id,omitempty"`
	AppID       string            `json:"app_id"`
	Region      string            `json:"region,omitempty"`
	Lat         *float64          `json:"lat,omitempty"`
	Lon         *float64          `json:"lon,omitempty"`
	Labels      map[string]string `json:"labels,omitempty"`
	GPUs        *int64            `json:"gpus,omitempty"`
	GPUModel    string            `json:"gpu_model,omitempty"`
	GPUMemoryMB *int64            `json:"gpu_memory_mb,omitempty"`
	EgressMbps  *int64            `json:"egress_mbps,omitempty"`
	// FailFast makes the call fail with 503 instead of leaving the session
	// pending when no edge has capacity now.
	FailFast bool `json:"fail_fast,omitempty"`
	// Async returns at once with the session pending instead of waiting
	// for the placer's next round; watch it with a blocking query.
	Async bool `json:"async,omitempty"`
}

func (o *Origin) createSession(c *call) (int, any, error) {
	var b sessionBody
	if err := decode(c, &b); err != nil {
		return 0, nil, err
	}
	if !ids.Valid("app", b.AppID) {
		return 0, nil, errf(400, codeInvalidID, "app_id %q is not a valid app ID", truncate(b.AppID, 80))
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
		if *b.Lat < -90 || *b.Lat > 90 || *b.Lon < -180 || *b.Lon > 180 {
			return 0, nil, badRequest("lat, lon: out of range")
		}
		s.Lat, s.Lon, s.HasLocation = *b.Lat, *b.Lon, true
	}
	if b.GPUModel != "" {
		s.GPUModel = b.GPUModel
	}
	for field, p := range map[string]*int64{"gpus": b.GPUs, "gpu_memory_mb": b.GPUMemoryMB, "egress_mbps": b.EgressMbps} {
		if p != nil {
			if err := checkNonNegative(field, *p); err != nil {
				return 0, nil, err
			}
		}
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
			return http.StatusCreated, placed, nil
		}
		if placed != nil {
			if placed, err = o.placeNow(c, placed, b.FailFast); err != nil {
				return 0, nil, err
			}
			return http.StatusCreated, placed, nil
		}
	}
	v, err := o.reg.Apply(c.cx, &registry.CreateSession{Session: s})
	if err != nil {
		return 0, nil, err
	}
	if b.Async && !b.FailFast {
		o.kickPlacement()
		return http.StatusCreated, v, nil
	}
	placed, err := o.placeNow(c, v.(*registry.Session), b.FailFast)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, placed, nil
}

func (o *Origin) listSessions(c *call) (int, any, error) {
	block := o.block
	if node := string(c.ctx.QueryArgs().Peek("node_id")); node != "" {
		block = func(c *call) error { return o.blockNode(c, node) }
	}
	if err := block(c); err != nil {
		return 0, nil, err
	}
	limit, cursor, err := page(c)
	if err != nil {
		return 0, nil, err
	}
	q := c.ctx.QueryArgs()
	f := registry.SessionFilter{
		TenantID: string(q.Peek("tenant_id")), AppID: string(q.Peek("app_id")),
		NodeID: string(q.Peek("node_id")), Region: string(q.Peek("region")),
		After: cursor, Limit: limit + 1,
	}
	switch c.who.scope {
	case registry.ScopeNode:
		if f.NodeID == "" {
			return 0, nil, errf(http.StatusForbidden, codeForbidden, "node keys must list sessions with node_id")
		}
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
	return http.StatusOK, pageOf(items, func(s *registry.Session) string { return s.ID }, limit), nil
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
	if !ok || !c.who.canSee(s.TenantID) && c.who.scope != registry.ScopeNode {
		return nil, notFound("session", id)
	}
	return s, nil
}

func (o *Origin) getSession(c *call) (int, any, error) {
	s, err := o.sessionFor(c)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, s, nil
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
	return http.StatusOK, v, nil
}
