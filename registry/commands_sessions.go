package registry

import (
	"errors"
	"fmt"
	"time"

	"github.com/strata-edge/strata/placement"
)

// CreateSession adds a pending session after checking the tenant's quota.
type CreateSession struct{ Session Session }

func (*CreateSession) commandType() cmdType { return cmdCreateSession }
func (c *CreateSession) encode(e *encoder) {
	c.Session.encode(e)
	c.Session.encodeSource(e)
}
func (c *CreateSession) decode(d *decoder, v uint8) {
	c.Session.decode(d)
	c.Session.decodeSource(d, v)
}
func (c *CreateSession) apply(s *State, idx uint64) (any, error) {
	t, ok := s.data.tenants[c.Session.TenantID]
	if !ok {
		return nil, fmt.Errorf("tenant %q: %w", c.Session.TenantID, ErrNotFound)
	}
	if a, ok := s.data.apps[c.Session.AppID]; !ok || a.TenantID != t.ID {
		return nil, fmt.Errorf("app %q: %w", c.Session.AppID, ErrNotFound)
	}
	if _, ok := s.data.sessions[c.Session.ID]; ok {
		return nil, fmt.Errorf("session %q: %w", c.Session.ID, ErrAlreadyExists)
	}
	if err := checkQuota(t, s.tenantUse[t.ID], &c.Session); err != nil {
		return nil, err
	}
	ses := c.Session
	ses.State, ses.Reservation = StatePending, nil
	ses.CreateIndex, ses.ModifyIndex = idx, idx
	ses.UpdatedAt, ses.StateChangedAt = ses.CreatedAt, ses.CreatedAt
	s.putSession(nil, &ses)
	return &ses, nil
}

// checkQuota fails if adding ses would take the tenant over its quota,
// by the placement engine's own rule (checked sums: a usage that would
// overflow is refused, never wrapped).
func checkQuota(t *Tenant, u *TenantUsage, ses *Session) error {
	var cur TenantUsage
	if u != nil {
		cur = *u
	}
	q := t.Quota
	v := placement.QuotaViolation(
		placement.Amounts{Sessions: q.MaxSessions, GPUs: q.MaxGPUs, EgressMbps: q.MaxEgressMbps},
		placement.Amounts{Sessions: cur.Sessions, GPUs: cur.GPUs, EgressMbps: cur.EgressMbps},
		placement.Amounts{Sessions: 1, GPUs: ses.GPUs, EgressMbps: ses.EgressMbps})
	if v != "" {
		return fmt.Errorf("%w: %s", ErrQuotaExceeded, v)
	}
	return nil
}

// SetSessionState moves a session along its life cycle. Leaving a state
// that holds capacity releases the reservation in the same command.
// TenantID, when set, must own the session; ExpectState, when set, must be
// the current state. RetryAt becomes the session's (zero clears it): the
// leader's restart backoff, chosen outside the FSM.
type SetSessionState struct {
	ID          string
	TenantID    string
	State       SessionState
	ExpectState SessionState
	Reason      string
	At          time.Time
	RetryAt     time.Time // version 3
}

func (*SetSessionState) commandType() cmdType { return cmdSetSessionState }
func (c *SetSessionState) encode(e *encoder) {
	e.string(c.ID)
	e.string(c.TenantID)
	e.byte(byte(c.State))
	e.byte(byte(c.ExpectState))
	e.string(c.Reason)
	e.time(c.At)
	e.time(c.RetryAt)
}
func (c *SetSessionState) decode(d *decoder, v uint8) {
	c.ID = d.string()
	c.TenantID = d.string()
	c.State = SessionState(d.byte())
	c.ExpectState = SessionState(d.byte())
	c.Reason = d.string()
	c.At = d.time()
	if v >= 3 {
		c.RetryAt = d.time()
	}
}
func (c *SetSessionState) check(s *State) error {
	old, ok := s.data.sessions[c.ID]
	if !ok || c.TenantID != "" && old.TenantID != c.TenantID {
		return fmt.Errorf("session %q: %w", c.ID, ErrNotFound)
	}
	if c.ExpectState != 0 && old.State != c.ExpectState {
		return fmt.Errorf("session %q is %s, not %s: %w", c.ID, old.State, c.ExpectState, ErrConflict)
	}
	if !CanTransition(old.State, c.State) {
		return fmt.Errorf("session %q: %s → %s: %w", c.ID, old.State, c.State, ErrInvalidTransition)
	}
	if c.State.holdsReservation() && old.Reservation == nil {
		// Only PlaceSession gives a session capacity: a hibernated or
		// pending session is woken through pending and the placer.
		return fmt.Errorf("session %q: %s → %s needs a placement: %w", c.ID, old.State, c.State, ErrInvalidTransition)
	}
	return nil
}
func (c *SetSessionState) apply(s *State, idx uint64) (any, error) {
	if err := c.check(s); err != nil {
		return nil, err
	}
	old := s.data.sessions[c.ID]
	ses := *old
	ses.State, ses.Reason, ses.RetryAt = c.State, c.Reason, c.RetryAt
	ses.ModifyIndex, ses.UpdatedAt, ses.StateChangedAt = idx, c.At, c.At
	if !c.State.holdsReservation() && ses.Reservation != nil {
		if a, ok := s.data.apps[ses.AppID]; ok && a.Volume != "" && c.State == StateHibernated {
			ses.VolumeNode = ses.Reservation.NodeID
		}
		s.touchNode(ses.Reservation.NodeID, idx)
		ses.Reservation = nil
		// Nothing publishes on an edge the session has left.
		if ses.Source == SourceLive {
			ses.Source, ses.SourceChangedAt = SourceGone, c.At
		}
	}
	s.putSession(old, &ses)
	return &ses, nil
}

// SetSessionSource records what the session's ingest edge reports of its
// publisher: live, or gone. NodeID, when set, must hold the session's
// reservation, so a report from an edge the session has since left
// changes nothing. A report of the current source changes nothing either.
type SetSessionSource struct {
	ID     string
	NodeID string
	Source SessionSource
	At     time.Time
}

func (*SetSessionSource) commandType() cmdType { return cmdSetSessionSource }
func (c *SetSessionSource) encode(e *encoder) {
	e.string(c.ID)
	e.string(c.NodeID)
	e.byte(byte(c.Source))
	e.time(c.At)
}
func (c *SetSessionSource) decode(d *decoder, _ uint8) {
	c.ID = d.string()
	c.NodeID = d.string()
	c.Source = SessionSource(d.byte())
	c.At = d.time()
}
func (c *SetSessionSource) apply(s *State, idx uint64) (any, error) {
	old, ok := s.data.sessions[c.ID]
	if !ok {
		return nil, fmt.Errorf("session %q: %w", c.ID, ErrNotFound)
	}
	if c.Source != SourceLive && c.Source != SourceGone {
		return nil, fmt.Errorf("session %q: source %s: %w", c.ID, c.Source, ErrInvalid)
	}
	if c.NodeID != "" && (old.Reservation == nil || old.Reservation.NodeID != c.NodeID) {
		return nil, fmt.Errorf("session %q is not reserved on node %q: %w", c.ID, c.NodeID, ErrConflict)
	}
	if old.Source == c.Source {
		return old, nil
	}
	ses := *old
	ses.Source, ses.SourceChangedAt = c.Source, c.At
	ses.ModifyIndex, ses.UpdatedAt = idx, c.At
	s.putSession(old, &ses)
	return &ses, nil
}

// touchNode records that the node's reservations changed at idx.
func (s *State) touchNode(id string, idx uint64) {
	s.capIndex = idx
	if n, ok := s.data.nodes[id]; ok {
		c := *n
		c.ResIndex = idx
		s.data.nodes[id] = &c
	}
}

// PlaceSession commits a placement decision: the session takes the
// reservation on the node. The FSM re-checks capacity against its own
// state, so a decision computed on a stale view can never overbook; a
// decision that no longer fits is rejected with ErrStaleDecision when the
// node changed since ExpectResIndex, and ErrNoCapacity otherwise.
type PlaceSession struct {
	ID             string
	Reservation    Reservation
	ExpectResIndex uint64
	At             time.Time
}

func (*PlaceSession) commandType() cmdType { return cmdPlaceSession }
func (c *PlaceSession) encode(e *encoder) {
	e.string(c.ID)
	c.Reservation.encode(e)
	e.uvarint(c.ExpectResIndex)
	e.time(c.At)
}
func (c *PlaceSession) decode(d *decoder, _ uint8) {
	c.ID = d.string()
	c.Reservation.decode(d)
	c.ExpectResIndex = d.uvarint()
	c.At = d.time()
}
func (c *PlaceSession) apply(s *State, idx uint64) (any, error) {
	old, ok := s.data.sessions[c.ID]
	if !ok {
		return nil, fmt.Errorf("session %q: %w", c.ID, ErrNotFound)
	}
	if !CanTransition(old.State, StatePlaced) {
		return nil, fmt.Errorf("session %q: %s → placed: %w", c.ID, old.State, ErrInvalidTransition)
	}
	n, ok := s.data.nodes[c.Reservation.NodeID]
	if !ok {
		return nil, fmt.Errorf("node %q: %w", c.Reservation.NodeID, ErrNotFound)
	}
	if err := fits(n, s.nodeUse[n.ID], &c.Reservation); err != nil {
		if n.ResIndex != c.ExpectResIndex {
			return nil, fmt.Errorf("%w: %v", ErrStaleDecision, err)
		}
		return nil, err
	}
	ses := *old
	r := c.Reservation
	ses.State, ses.Reason, ses.Reservation, ses.RetryAt = StatePlaced, "", &r, time.Time{}
	ses.Placements++
	ses.ModifyIndex, ses.UpdatedAt, ses.StateChangedAt = idx, c.At, c.At
	s.putSession(old, &ses)
	s.touchNode(n.ID, idx)
	return &ses, nil
}

// fits checks that r can be added to node n given what is already
// reserved there, by the placement engine's own rule (placement.Fits), so
// the FSM's re-check and the engine's decision never disagree.
func fits(n *Node, use *NodeUsage, r *Reservation) error {
	var gpuBuf [8]placement.GPU
	var sliceBuf [8]placement.GPUSlice
	pn := placement.Node{ID: n.ID, State: n.State.Placement(), Draining: n.Draining, NICMbps: n.NICMbps, GPUs: gpuBuf[:0]}
	if use != nil {
		pn.ReservedEgressMbps = use.EgressMbps
	}
	for _, g := range n.GPUs {
		pg := placement.GPU{Index: int(g.Index), MemoryMB: g.MemoryMB}
		if use != nil {
			pg.ReservedMB = use.GPUMemoryMB[g.Index]
		}
		pn.GPUs = append(pn.GPUs, pg)
	}
	pr := placement.Reservation{NodeID: r.NodeID, EgressMbps: r.EgressMbps, GPUs: sliceBuf[:0]}
	for _, g := range r.GPUs {
		pr.GPUs = append(pr.GPUs, placement.GPUSlice{Index: int(g.Index), MemoryMB: g.MemoryMB})
	}
	err := placement.Fits(&pn, pr)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, placement.ErrNoCapacity):
		return fmt.Errorf("%w (%v)", ErrNoCapacity, err)
	}
	return fmt.Errorf("%w (%v)", ErrInvalid, err)
}

// Placement is the node state as the placement engine names it.
func (s NodeState) Placement() placement.NodeState {
	switch s {
	case NodeAlive:
		return placement.StateAlive
	case NodeSuspect:
		return placement.StateSuspect
	case NodeDead:
		return placement.StateDead
	case NodeLeft:
		return placement.StateLeft
	}
	return placement.StateUnknown
}

// NotePending records why sessions are still waiting for placement. One
// entry covers every session that failed for the same reason in a round,
// so a backlog costs one log write per round, not one per session.
// Sessions no longer pending are skipped.
type NotePending struct {
	Reason string
	IDs    []string
	At     time.Time
}

func (*NotePending) commandType() cmdType { return cmdNotePending }
func (c *NotePending) encode(e *encoder) {
	e.string(c.Reason)
	e.strings(c.IDs)
	e.time(c.At)
}
func (c *NotePending) decode(d *decoder, _ uint8) {
	c.Reason = d.string()
	c.IDs = d.strings()
	c.At = d.time()
}
func (c *NotePending) apply(s *State, idx uint64) (any, error) {
	n := 0
	for _, id := range c.IDs {
		old, ok := s.data.sessions[id]
		if !ok || old.State != StatePending || old.Reason == c.Reason {
			continue
		}
		ses := *old
		ses.Reason, ses.ModifyIndex, ses.UpdatedAt = c.Reason, idx, c.At
		ses.RetryAt = time.Time{} // tried (its backoff passed); now it waits for room
		s.putSession(old, &ses)
		n++
	}
	return n, nil
}

// CreatePlacedSession creates a session and places it in one log entry, so
// a synchronous create costs one Raft write instead of two (CreateSession
// then PlaceSession). The FSM checks quota exactly as CreateSession does
// and capacity exactly as PlaceSession does. When the reservation no
// longer fits (the leader decided on a view that went stale), the session
// is still created, pending and without a reservation, for the placer to
// handle: a stale decision never overbooks and never loses the create.
// The result is the stored session; callers tell the outcomes apart by its
// State.
type CreatePlacedSession struct {
	Session     Session
	Reservation Reservation
}

func (*CreatePlacedSession) commandType() cmdType { return cmdCreatePlacedSession }
func (c *CreatePlacedSession) encode(e *encoder) {
	c.Session.encode(e)
	c.Reservation.encode(e)
	c.Session.encodeSource(e)
}
func (c *CreatePlacedSession) decode(d *decoder, v uint8) {
	c.Session.decode(d)
	c.Reservation.decode(d)
	c.Session.decodeSource(d, v)
}
func (c *CreatePlacedSession) apply(s *State, idx uint64) (any, error) {
	v, err := (&CreateSession{Session: c.Session}).apply(s, idx)
	if err != nil {
		return nil, err
	}
	ses := v.(*Session)
	n, ok := s.data.nodes[c.Reservation.NodeID]
	if !ok || fits(n, s.nodeUse[n.ID], &c.Reservation) != nil {
		return ses, nil
	}
	placed := *ses
	r := c.Reservation
	placed.State, placed.Reservation = StatePlaced, &r
	placed.Placements++
	s.putSession(ses, &placed)
	s.touchNode(n.ID, idx)
	return &placed, nil
}
