package origin

import (
	"github.com/strata-edge/strata/api"
	"github.com/strata-edge/strata/registry"
)

// The registry keeps its own storage model (binary codec, uint8 enums,
// secret hashes); the API answers with the wire types of package api.
// These functions map one to the other at the edge of the origin.

func toAPIMeta(m registry.Meta) api.Meta {
	return api.Meta{CreatedAt: m.CreatedAt, UpdatedAt: m.UpdatedAt, CreateIndex: m.CreateIndex, ModifyIndex: m.ModifyIndex}
}

func toAPIQuota(q registry.Quota) api.Quota {
	return api.Quota{MaxSessions: q.MaxSessions, MaxGPUs: q.MaxGPUs, MaxEgressMbps: q.MaxEgressMbps}
}

func fromAPIQuota(q api.Quota) registry.Quota {
	return registry.Quota{MaxSessions: q.MaxSessions, MaxGPUs: q.MaxGPUs, MaxEgressMbps: q.MaxEgressMbps}
}

func toAPITenant(t *registry.Tenant, u registry.TenantUsage) api.Tenant {
	return api.Tenant{
		ID: t.ID, Name: t.Name, Quota: toAPIQuota(t.Quota), Labels: t.Labels, Meta: toAPIMeta(t.Meta),
		Usage: api.TenantUsage{Sessions: u.Sessions, GPUs: u.GPUs, EgressMbps: u.EgressMbps},
	}
}

func toAPIKey(k *registry.APIKey) api.APIKey {
	return api.APIKey{
		ID: k.ID, TenantID: k.TenantID, Scope: api.KeyScope(k.Scope.String()), Name: k.Name,
		ExpiresAt: k.ExpiresAt, Meta: toAPIMeta(k.Meta),
	}
}

func toAPIApp(a *registry.App) api.App {
	return api.App{
		ID: a.ID, TenantID: a.TenantID, Name: a.Name, Runtime: api.Runtime(a.Runtime),
		Command: a.Command, Image: a.Image, Env: a.Env, GPUs: a.GPUs, GPUModel: a.GPUModel,
		GPUMemoryMB: a.GPUMemoryMB, EgressMbps: a.EgressMbps, IdlePolicy: api.IdlePolicy(a.IdlePolicy),
		IdleMinutes: a.IdleMinutes, RestartPolicy: api.RestartPolicy(a.RestartPolicy), CPUMillis: a.CPUMillis, MemoryMB: a.MemoryMB,
		ContainerFields: api.ContainerFields{Args: a.Args, ShmMB: a.ShmMB, Volume: a.Volume, PullPolicy: api.PullPolicy(a.PullPolicy)},
		Meta:            toAPIMeta(a.Meta),
	}
}

func toAPISession(s *registry.Session) api.Session {
	out := api.Session{
		ID: s.ID, TenantID: s.TenantID, AppID: s.AppID, State: api.SessionState(s.State.String()),
		Reason: s.Reason, Region: s.Region, Lat: s.Lat, Lon: s.Lon, HasLocation: s.HasLocation,
		Labels: s.Labels, GPUs: s.GPUs, GPUModel: s.GPUModel, GPUMemoryMB: s.GPUMemoryMB,
		EgressMbps: s.EgressMbps, Placements: s.Placements, StateChangedAt: s.StateChangedAt,
		RetryAt: s.RetryAt, Meta: toAPIMeta(s.Meta),
	}
	if s.Source != registry.SourceUnknown {
		out.Source, out.SourceChangedAt = api.SessionSource(s.Source.String()), s.SourceChangedAt
	}
	if r := s.Reservation; r != nil {
		out.Reservation = &api.Reservation{NodeID: r.NodeID, EgressMbps: r.EgressMbps}
		for _, g := range r.GPUs {
			out.Reservation.GPUs = append(out.Reservation.GPUs, api.GPUSlice{Index: g.Index, UUID: g.UUID, MemoryMB: g.MemoryMB})
		}
	}
	return out
}

func toAPISessions(ss []*registry.Session) []api.Session {
	out := make([]api.Session, len(ss))
	for i, s := range ss {
		out[i] = toAPISession(s)
	}
	return out
}

func toAPINode(n *registry.Node) api.Node {
	out := api.Node{
		ID: n.ID, Role: api.NodeRole(n.Role.String()), Region: n.Region, Zone: n.Zone,
		Lat: n.Lat, Lon: n.Lon, HasLocation: n.HasLocation, Addrs: n.Addrs, Labels: n.Labels,
		NICMbps: n.NICMbps, State: api.NodeState(n.State.String()), Draining: n.Draining,
		Reason: n.Reason, ResIndex: n.ResIndex, Meta: toAPIMeta(n.Meta),
	}
	for _, g := range n.GPUs {
		out.GPUs = append(out.GPUs, api.GPU{Index: g.Index, UUID: g.UUID, Model: g.Model, MemoryMB: g.MemoryMB})
	}
	for _, r := range n.Runtimes {
		out.Runtimes = append(out.Runtimes, api.Runtime(r))
	}
	return out
}

func fromAPIGPUs(gs []api.GPU) []registry.GPU {
	var out []registry.GPU
	for _, g := range gs {
		out = append(out, registry.GPU{Index: g.Index, UUID: g.UUID, Model: g.Model, MemoryMB: g.MemoryMB})
	}
	return out
}

func toAPIStatus(st registry.Status) api.ClusterStatus {
	out := api.ClusterStatus{
		NodeID: st.NodeID, State: st.State, LeaderID: st.LeaderID, LeaderAddr: st.LeaderAddr, Term: st.Term,
		CommitIndex: st.CommitIndex, AppliedIndex: st.AppliedIndex, LastIndex: st.LastIndex,
	}
	for _, p := range st.Peers {
		out.Peers = append(out.Peers, api.Peer{ID: p.ID, Address: p.Address, Suffrage: p.Suffrage, Leader: p.Leader})
	}
	return out
}
