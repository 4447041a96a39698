package registry

import (
	"fmt"
	"time"
)

// ClusterCA is the certificate authority that signs node certificates.
// It lives in the registry so whichever origin leads can sign; the key is
// replicated only to origins (in the Raft log and snapshots, which are
// 0600 files in 0700 directories) and never leaves them through the API.
type ClusterCA struct {
	ID      string `json:"id"`
	CertPEM []byte `json:"-"`
	KeyPEM  []byte `json:"-"`
	Meta
}

// JoinToken lets a new node enroll: it presents the token with a
// certificate request and receives a certificate for the token's role.
// Only the hash of the secret is stored.
type JoinToken struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Role      NodeRole  `json:"role"`
	Hash      []byte    `json:"-"`
	ExpiresAt time.Time `json:"expires_at"`
	MaxUses   uint64    `json:"max_uses"`
	Uses      uint64    `json:"uses"`
	Meta
}

// Usable says why the token cannot enroll a node at now, or nil.
func (t *JoinToken) Usable(now time.Time) error {
	switch {
	case !t.ExpiresAt.IsZero() && !now.Before(t.ExpiresAt):
		return fmt.Errorf("join token %s expired at %s: %w", t.ID, t.ExpiresAt.Format(time.RFC3339), ErrTokenUnusable)
	case t.MaxUses > 0 && t.Uses >= t.MaxUses:
		return fmt.Errorf("join token %s was used %d of %d times: %w", t.ID, t.Uses, t.MaxUses, ErrTokenUnusable)
	}
	return nil
}

func (c *ClusterCA) encode(e *encoder) {
	e.string(c.ID)
	e.bytes(c.CertPEM)
	e.bytes(c.KeyPEM)
	c.Meta.encode(e)
}

func (c *ClusterCA) decode(d *decoder) {
	c.ID = d.string()
	c.CertPEM = d.bytes()
	c.KeyPEM = d.bytes()
	c.Meta.decode(d)
}

func (t *JoinToken) encode(e *encoder) {
	e.string(t.ID)
	e.string(t.Name)
	e.byte(byte(t.Role))
	e.bytes(t.Hash)
	e.time(t.ExpiresAt)
	e.uvarint(t.MaxUses)
	e.uvarint(t.Uses)
	t.Meta.encode(e)
}

func (t *JoinToken) decode(d *decoder) {
	t.ID = d.string()
	t.Name = d.string()
	t.Role = NodeRole(d.byte())
	t.Hash = d.bytes()
	t.ExpiresAt = d.time()
	t.MaxUses = d.uvarint()
	t.Uses = d.uvarint()
	t.Meta.decode(d)
}

// SetClusterCA stores the cluster CA once; a second one is refused (the
// CA is replaced only by re-keying the cluster).
type SetClusterCA struct{ CA ClusterCA }

func (*SetClusterCA) commandType() cmdType         { return cmdSetClusterCA }
func (c *SetClusterCA) encode(e *encoder)          { c.CA.encode(e) }
func (c *SetClusterCA) decode(d *decoder, _ uint8) { c.CA.decode(d) }
func (c *SetClusterCA) check(s *State) error {
	if len(s.data.cas) > 0 {
		return fmt.Errorf("cluster CA: %w", ErrAlreadyExists)
	}
	return nil
}
func (c *SetClusterCA) apply(s *State, idx uint64) (any, error) {
	if err := c.check(s); err != nil {
		return nil, err
	}
	ca := c.CA
	ca.CreateIndex, ca.ModifyIndex, ca.UpdatedAt = idx, idx, ca.CreatedAt
	s.data.cas[ca.ID] = &ca
	return &ca, nil
}

// CreateJoinToken adds a join token.
type CreateJoinToken struct{ Token JoinToken }

func (*CreateJoinToken) commandType() cmdType         { return cmdCreateJoinToken }
func (c *CreateJoinToken) encode(e *encoder)          { c.Token.encode(e) }
func (c *CreateJoinToken) decode(d *decoder, _ uint8) { c.Token.decode(d) }
func (c *CreateJoinToken) apply(s *State, idx uint64) (any, error) {
	if _, ok := s.data.joinTokens[c.Token.ID]; ok {
		return nil, fmt.Errorf("join token %q: %w", c.Token.ID, ErrAlreadyExists)
	}
	if c.Token.Role != RoleOrigin && c.Token.Role != RoleEdge {
		return nil, fmt.Errorf("%w: join token role %d", ErrInvalid, c.Token.Role)
	}
	t := c.Token
	t.Uses = 0
	t.CreateIndex, t.ModifyIndex, t.UpdatedAt = idx, idx, t.CreatedAt
	s.data.joinTokens[t.ID] = &t
	return &t, nil
}

// UseJoinToken counts one enrollment against a token. At is the
// proposer's clock (the FSM has none); an expired or used-up token is
// refused and nothing changes.
type UseJoinToken struct {
	ID string
	At time.Time
}

func (*UseJoinToken) commandType() cmdType { return cmdUseJoinToken }
func (c *UseJoinToken) encode(e *encoder) {
	e.string(c.ID)
	e.time(c.At)
}
func (c *UseJoinToken) decode(d *decoder, _ uint8) {
	c.ID = d.string()
	c.At = d.time()
}
func (c *UseJoinToken) check(s *State) error {
	t, ok := s.data.joinTokens[c.ID]
	if !ok {
		return fmt.Errorf("join token %q: %w", c.ID, ErrNotFound)
	}
	return t.Usable(c.At)
}
func (c *UseJoinToken) apply(s *State, idx uint64) (any, error) {
	if err := c.check(s); err != nil {
		return nil, err
	}
	n := *s.data.joinTokens[c.ID]
	n.Uses++
	n.ModifyIndex, n.UpdatedAt = idx, c.At
	s.data.joinTokens[n.ID] = &n
	return &n, nil
}

// DeleteJoinToken revokes a join token; nodes it enrolled keep their
// certificates.
type DeleteJoinToken struct{ ID string }

func (*DeleteJoinToken) commandType() cmdType         { return cmdDeleteJoinToken }
func (c *DeleteJoinToken) encode(e *encoder)          { e.string(c.ID) }
func (c *DeleteJoinToken) decode(d *decoder, _ uint8) { c.ID = d.string() }
func (c *DeleteJoinToken) check(s *State) error {
	if _, ok := s.data.joinTokens[c.ID]; !ok {
		return fmt.Errorf("join token %q: %w", c.ID, ErrNotFound)
	}
	return nil
}
func (c *DeleteJoinToken) apply(s *State, _ uint64) (any, error) {
	if err := c.check(s); err != nil {
		return nil, err
	}
	delete(s.data.joinTokens, c.ID)
	return nil, nil
}

// ClusterCA returns the cluster CA, if one was stored.
func (s *State) ClusterCA() (*ClusterCA, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	for _, ca := range s.data.cas {
		return ca, true
	}
	return nil, false
}

// JoinToken returns a join token by ID.
func (s *State) JoinToken(id string) (*JoinToken, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	t, ok := s.data.joinTokens[id]
	return t, ok
}

// JoinTokens lists the join tokens by ID.
func (s *State) JoinTokens() []*JoinToken {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return sortedValues(s.data.joinTokens, func(t *JoinToken) string { return t.ID })
}
