package controller

import (
	"github.com/strata-edge/strata/placement"
	"github.com/strata-edge/strata/registry"
	"github.com/strata-edge/strata/registry/gossip"
)

// Live is gossip's view of one node: liveness, live load and network
// coordinate. Placement reads it as advisory freshness next to the
// registry's authoritative reservations.
type Live interface {
	Member(id string) (gossip.Member, bool)
}

var _ Live = (*gossip.Pool)(nil)

// Snapshot builds the placement engine's view of the edges: capacity and
// reservations from the registry, live load and coordinates from gossip
// (live may be nil). Quotas are enforced when sessions are created, so
// none are set here. inView, when set, runs inside the registry view the
// reservations were read from.
func Snapshot(st *registry.State, live Live, inView func(v *registry.View)) *placement.Snapshot {
	snap := &placement.Snapshot{}
	st.View(func(v *registry.View) {
		if inView != nil {
			inView(v)
		}
		v.Nodes(func(n *registry.Node, use *registry.NodeUsage) {
			if n.Role != registry.RoleEdge {
				return
			}
			pn := placement.Node{
				ID: n.ID, Region: n.Region, Zone: n.Zone, Labels: n.Labels,
				Location: placement.Location{Lat: n.Lat, Lon: n.Lon, Known: n.HasLocation},
				State:    n.State.Placement(), Draining: n.Draining,
				NICMbps: n.NICMbps, Revision: n.ResIndex, Runtimes: n.Runtimes,
			}
			if len(pn.Runtimes) == 0 {
				pn.Runtimes = processOnly // edges that advertise none run processes
			}
			for _, g := range n.GPUs {
				pg := placement.GPU{Index: int(g.Index), UUID: g.UUID, Model: g.Model, MemoryMB: g.MemoryMB}
				if use != nil {
					pg.ReservedMB, pg.Sessions = use.GPUMemoryMB[g.Index], int(use.GPUSessions[g.Index])
				}
				pn.GPUs = append(pn.GPUs, pg)
			}
			if use != nil {
				pn.ReservedEgressMbps = use.EgressMbps
			}
			snap.Nodes = append(snap.Nodes, pn)
		})
	})
	if live == nil {
		return snap
	}
	for i := range snap.Nodes {
		n := &snap.Nodes[i]
		if m, ok := live.Member(n.ID); ok {
			n.Coordinate = m.Coord
			if !m.LoadAt.IsZero() {
				n.Load = placement.Load{EgressMbps: int64(m.Load.EgressBps / 1e6), Age: m.LoadAge()}
			}
		}
	}
	return snap
}

// processOnly is the runtimes of an edge that advertised none.
var processOnly = []string{"process"}

// requestFor turns a session into a placement request; its app's runtime
// (process when the app is gone or names none) must be on the node.
func requestFor(st *registry.State, s *registry.Session) placement.Request {
	runtime := "process"
	if a, ok := st.App(s.AppID); ok && a.Runtime != "" {
		runtime = a.Runtime
	}
	r := placement.Request{
		Tenant: s.TenantID, GPUs: int(s.GPUs), GPUModel: s.GPUModel, GPUMemoryMB: s.GPUMemoryMB,
		EgressMbps: s.EgressMbps, Labels: s.Labels, Runtime: runtime,
		Requester: placement.Requester{Region: s.Region, Location: placement.Location{Lat: s.Lat, Lon: s.Lon, Known: s.HasLocation}},
	}
	if s.Region != "" && !s.HasLocation {
		r.Regions = []string{s.Region}
	}
	return r
}

// toReservation is the registry's form of a decision's reservation.
func toReservation(d placement.Decision) registry.Reservation {
	r := registry.Reservation{NodeID: d.NodeID, EgressMbps: d.Reservation.EgressMbps}
	for _, g := range d.Reservation.GPUs {
		r.GPUs = append(r.GPUs, registry.GPUSlice{Index: int64(g.Index), UUID: g.UUID, MemoryMB: g.MemoryMB})
	}
	return r
}

// placeSession places a session, on prefer when that edge passes every
// filter (it keeps the session's volume), else wherever the engine
// picks. The decision is the engine's either way: the preferred edge is
// tried as a snapshot of its own, so its GPU choice and revision are
// those Place makes.
func placeSession(snap *placement.Snapshot, req placement.Request, prefer string) (placement.Decision, error) {
	if prefer != "" {
		for i := range snap.Nodes {
			if snap.Nodes[i].ID != prefer {
				continue
			}
			one := &placement.Snapshot{Nodes: []placement.Node{snap.Nodes[i]}}
			if one.Prepare() == nil {
				if d, err := placement.Place(one, req); err == nil {
					return d, nil
				}
			}
			break
		}
	}
	return placement.Place(snap, req)
}
