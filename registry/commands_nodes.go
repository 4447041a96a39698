package registry

import (
	"fmt"
	"time"
)

// UpsertNode registers a node or updates its description. The node's
// reservation index and creation bookkeeping survive an update.
type UpsertNode struct{ Node Node }

func (*UpsertNode) commandType() cmdType         { return cmdUpsertNode }
func (c *UpsertNode) encode(e *encoder)          { c.Node.encode(e) }
func (c *UpsertNode) decode(d *decoder, _ uint8) { c.Node.decode(d) }
func (c *UpsertNode) apply(s *State, idx uint64) (any, error) {
	n := c.Node
	if n.State == 0 {
		n.State = NodeAlive
	}
	if old, ok := s.data.nodes[n.ID]; ok {
		n.CreateIndex, n.CreatedAt, n.ResIndex = old.CreateIndex, old.CreatedAt, old.ResIndex
	} else {
		n.CreateIndex = idx
		if n.CreatedAt.IsZero() {
			n.CreatedAt = n.UpdatedAt
		}
	}
	n.ModifyIndex = idx
	s.data.nodes[n.ID] = &n
	s.capIndex = idx
	return &n, nil
}

// SetNodeState records a membership change or a drain.
type SetNodeState struct {
	ID       string
	State    NodeState
	Draining bool
	Reason   string
	At       time.Time
}

func (*SetNodeState) commandType() cmdType { return cmdSetNodeState }
func (c *SetNodeState) encode(e *encoder) {
	e.string(c.ID)
	e.byte(byte(c.State))
	e.bool(c.Draining)
	e.string(c.Reason)
	e.time(c.At)
}
func (c *SetNodeState) decode(d *decoder, _ uint8) {
	c.ID = d.string()
	c.State = NodeState(d.byte())
	c.Draining = d.bool()
	c.Reason = d.string()
	c.At = d.time()
}
func (c *SetNodeState) check(s *State) error {
	if _, ok := s.data.nodes[c.ID]; !ok {
		return fmt.Errorf("node %q: %w", c.ID, ErrNotFound)
	}
	if c.State < NodeAlive || c.State > NodeLeft {
		return fmt.Errorf("%w: node state %d", ErrInvalid, c.State)
	}
	return nil
}
func (c *SetNodeState) apply(s *State, idx uint64) (any, error) {
	if err := c.check(s); err != nil {
		return nil, err
	}
	n := *s.data.nodes[c.ID]
	n.State, n.Draining, n.Reason = c.State, c.Draining, c.Reason
	n.ModifyIndex, n.UpdatedAt = idx, c.At
	s.data.nodes[n.ID] = &n
	s.capIndex = idx
	return &n, nil
}

// RemoveNode forgets a node. Sessions still holding capacity on it keep
// their reservation until they are moved; the caller re-places them first.
type RemoveNode struct{ ID string }

func (*RemoveNode) commandType() cmdType         { return cmdRemoveNode }
func (c *RemoveNode) encode(e *encoder)          { e.string(c.ID) }
func (c *RemoveNode) decode(d *decoder, _ uint8) { c.ID = d.string() }
func (c *RemoveNode) check(s *State) error {
	if _, ok := s.data.nodes[c.ID]; !ok {
		return fmt.Errorf("node %q: %w", c.ID, ErrNotFound)
	}
	return nil
}
func (c *RemoveNode) apply(s *State, idx uint64) (any, error) {
	if err := c.check(s); err != nil {
		return nil, err
	}
	delete(s.data.nodes, c.ID)
	s.capIndex = idx
	return nil, nil
}

// AddSigningKey installs a new token signing key and makes it the active
// one; older keys stay published for verification until retired.
type AddSigningKey struct{ Key SigningKey }

func (*AddSigningKey) commandType() cmdType         { return cmdAddSigningKey }
func (c *AddSigningKey) encode(e *encoder)          { c.Key.encode(e) }
func (c *AddSigningKey) decode(d *decoder, _ uint8) { c.Key.decode(d) }
func (c *AddSigningKey) apply(s *State, idx uint64) (any, error) {
	if _, ok := s.data.signingKeys[c.Key.ID]; ok {
		return nil, fmt.Errorf("signing key %q: %w", c.Key.ID, ErrAlreadyExists)
	}
	for id, k := range s.data.signingKeys {
		if k.Active {
			c := *k
			c.Active, c.ModifyIndex = false, idx
			s.data.signingKeys[id] = &c
		}
	}
	k := c.Key
	k.Active = true
	k.CreateIndex, k.ModifyIndex, k.UpdatedAt = idx, idx, k.CreatedAt
	s.data.signingKeys[k.ID] = &k
	return &k, nil
}

// RetireSigningKey removes a key that is no longer active, so tokens
// signed with it stop verifying.
type RetireSigningKey struct{ ID string }

func (*RetireSigningKey) commandType() cmdType         { return cmdRetireSigningKey }
func (c *RetireSigningKey) encode(e *encoder)          { e.string(c.ID) }
func (c *RetireSigningKey) decode(d *decoder, _ uint8) { c.ID = d.string() }
func (c *RetireSigningKey) check(s *State) error {
	k, ok := s.data.signingKeys[c.ID]
	if !ok {
		return fmt.Errorf("signing key %q: %w", c.ID, ErrNotFound)
	}
	if k.Active {
		return fmt.Errorf("signing key %q is active; rotate first: %w", c.ID, ErrConflict)
	}
	return nil
}
func (c *RetireSigningKey) apply(s *State, _ uint64) (any, error) {
	if err := c.check(s); err != nil {
		return nil, err
	}
	delete(s.data.signingKeys, c.ID)
	return nil, nil
}
