package placement

import (
	"fmt"
	"math"
)

// Apply commits a decision to the snapshot the way the registry's FSM must:
// it rejects a decision whose Revision no longer matches the node
// (ErrStaleDecision), re-checks state, quota and capacity against the
// authoritative reservations (live load is advisory and not re-checked),
// then adds the reservation, bumps the node's Revision by one and charges
// the tenant. Tests use it to place many sessions in sequence; the registry
// may use it on its own snapshot copy. It mutates Nodes in place, GPU slices
// included: Clone first when those are shared.
func (s *Snapshot) Apply(d Decision) error {
	p, err := s.prepared()
	if err != nil {
		return err
	}
	r := d.Reservation
	if d.NodeID != r.NodeID {
		return fmt.Errorf("%w: decision node %q differs from reservation node %q", ErrInvalidRequest, d.NodeID, r.NodeID)
	}
	i, ok := p.byID[r.NodeID]
	if !ok {
		return fmt.Errorf("%w: %q", ErrUnknownNode, r.NodeID)
	}
	nd := &s.Nodes[i]
	if nd.Revision != d.Revision {
		return fmt.Errorf("%w: node %q at revision %d, decision made at %d", ErrStaleDecision, nd.ID, nd.Revision, d.Revision)
	}
	slots, err := fit(nd, r)
	if err != nil {
		return err
	}
	if err := s.checkQuota(r.Tenant, len(r.GPUs), r.EgressMbps); err != nil {
		return err
	}

	for k, sl := range r.GPUs {
		g := &nd.GPUs[slots[k]]
		g.ReservedMB += sl.MemoryMB
		g.Sessions++
	}
	nd.ReservedEgressMbps += r.EgressMbps
	nd.Revision++
	s.charge(r.Tenant, 1, len(r.GPUs), r.EgressMbps)
	p.refresh(s, int(i))
	return nil
}

// Fits decides whether reservation r fits node n as it stands: n is alive
// and not draining, its NIC has room for the egress, and every GPU slice
// names a distinct GPU of n with room for its memory (for an exclusive
// slice, the whole GPU untouched). It is the one capacity rule: Apply
// re-checks decisions with it and the registry's FSM re-checks committed
// reservations with it, so the two cannot drift apart. Sums are checked:
// amounts too large to add never fit.
func Fits(n *Node, r Reservation) error {
	_, err := fit(n, r)
	return err
}

// fit is Fits, also returning the positions in n.GPUs of r's slices.
func fit(n *Node, r Reservation) ([]int, error) {
	if n.State != StateAlive || n.Draining {
		return nil, fmt.Errorf("%w: node %q is %s (draining %t)", ErrNoCapacity, n.ID, n.State, n.Draining)
	}
	if total, ok := checkedAdd(n.ReservedEgressMbps, r.EgressMbps); r.EgressMbps < 0 || !ok || total > n.NICMbps {
		return nil, fmt.Errorf("%w: node %q egress %d+%d of %d Mbps", ErrNoCapacity, n.ID, n.ReservedEgressMbps, r.EgressMbps, n.NICMbps)
	}
	slots, err := gpuSlots(n, r.GPUs)
	if err != nil {
		return nil, err
	}
	for k, sl := range r.GPUs {
		g := &n.GPUs[slots[k]]
		mem, free := gpuFree(g)
		if sl.MemoryMB <= 0 || sl.MemoryMB > free || sl.Exclusive && (sl.MemoryMB != mem || free != mem) {
			return nil, fmt.Errorf("%w: node %q gpu %d: %d MB of %d free", ErrNoCapacity, n.ID, sl.Index, sl.MemoryMB, free)
		}
	}
	return slots, nil
}

// Release returns a reservation's capacity to its node, e.g. when a session
// ends or is re-placed, bumps the node's Revision and credits the tenant.
// Amounts are clamped at zero so a double release cannot create capacity
// out of nothing.
func (s *Snapshot) Release(r Reservation) error {
	p, err := s.prepared()
	if err != nil {
		return err
	}
	i, ok := p.byID[r.NodeID]
	if !ok {
		return fmt.Errorf("%w: %q", ErrUnknownNode, r.NodeID)
	}
	nd := &s.Nodes[i]
	slots, err := gpuSlots(nd, r.GPUs)
	if err != nil {
		return err
	}
	for k, sl := range r.GPUs {
		g := &nd.GPUs[slots[k]]
		g.ReservedMB = max(g.ReservedMB-sl.MemoryMB, 0)
		g.Sessions = max(g.Sessions-1, 0)
	}
	nd.ReservedEgressMbps = max(nd.ReservedEgressMbps-r.EgressMbps, 0)
	nd.Revision++
	s.charge(r.Tenant, -1, -len(r.GPUs), -r.EgressMbps)
	p.refresh(s, int(i))
	return nil
}

// gpuSlots maps the slices' GPU indices to positions in nd.GPUs, rejecting
// unknown and repeated indices.
func gpuSlots(nd *Node, slices []GPUSlice) ([]int, error) {
	slots := make([]int, len(slices))
	for k, sl := range slices {
		slots[k] = -1
		for g := range nd.GPUs {
			if nd.GPUs[g].Index == sl.Index {
				slots[k] = g
			}
		}
		if slots[k] < 0 {
			return nil, fmt.Errorf("%w: node %q has no gpu %d", ErrInvalidRequest, nd.ID, sl.Index)
		}
		for j := range k {
			if slots[j] == slots[k] {
				return nil, fmt.Errorf("%w: gpu %d reserved twice", ErrInvalidRequest, sl.Index)
			}
		}
	}
	return slots, nil
}

// charge adds (or with negative amounts, credits) usage to a tenant,
// saturating, and clamping at zero.
func (s *Snapshot) charge(tenant string, sessions, gpus int, egress int64) {
	if s.Tenants == nil {
		s.Tenants = make(map[string]Tenant)
	}
	t := s.Tenants[tenant]
	t.Usage.Sessions = int(min(AddUsage(int64(t.Usage.Sessions), int64(sessions)), math.MaxInt))
	t.Usage.GPUs = int(min(AddUsage(int64(t.Usage.GPUs), int64(gpus)), math.MaxInt))
	t.Usage.EgressMbps = AddUsage(t.Usage.EgressMbps, egress)
	s.Tenants[tenant] = t
}
