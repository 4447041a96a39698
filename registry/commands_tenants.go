package registry

import (
	"fmt"
	"time"
)

// CreateTenant adds a tenant.
type CreateTenant struct{ Tenant Tenant }

func (*CreateTenant) commandType() cmdType         { return cmdCreateTenant }
func (c *CreateTenant) encode(e *encoder)          { c.Tenant.encode(e) }
func (c *CreateTenant) decode(d *decoder, _ uint8) { c.Tenant.decode(d) }
func (c *CreateTenant) apply(s *State, idx uint64) (any, error) {
	if _, ok := s.data.tenants[c.Tenant.ID]; ok {
		return nil, fmt.Errorf("tenant %q: %w", c.Tenant.ID, ErrAlreadyExists)
	}
	t := c.Tenant
	t.CreateIndex, t.ModifyIndex, t.UpdatedAt = idx, idx, t.CreatedAt
	s.data.tenants[t.ID] = &t
	return &t, nil
}

// UpdateTenant replaces a tenant's name, quota and labels. A non-zero
// ExpectIndex makes it a compare-and-set on the tenant's ModifyIndex.
type UpdateTenant struct {
	ID          string
	Name        string
	Quota       Quota
	Labels      map[string]string
	ExpectIndex uint64
	At          time.Time
}

func (*UpdateTenant) commandType() cmdType { return cmdUpdateTenant }
func (c *UpdateTenant) encode(e *encoder) {
	e.string(c.ID)
	e.string(c.Name)
	c.Quota.encode(e)
	e.stringMap(c.Labels)
	e.uvarint(c.ExpectIndex)
	e.time(c.At)
}
func (c *UpdateTenant) decode(d *decoder, _ uint8) {
	c.ID = d.string()
	c.Name = d.string()
	c.Quota.decode(d)
	c.Labels = d.stringMap()
	c.ExpectIndex = d.uvarint()
	c.At = d.time()
}
func (c *UpdateTenant) check(s *State) error {
	old, ok := s.data.tenants[c.ID]
	if !ok {
		return fmt.Errorf("tenant %q: %w", c.ID, ErrNotFound)
	}
	if c.ExpectIndex != 0 && c.ExpectIndex != old.ModifyIndex {
		return fmt.Errorf("tenant %q: %w", c.ID, ErrConflict)
	}
	return nil
}
func (c *UpdateTenant) apply(s *State, idx uint64) (any, error) {
	if err := c.check(s); err != nil {
		return nil, err
	}
	t := *s.data.tenants[c.ID]
	t.Name, t.Quota, t.Labels = c.Name, c.Quota, c.Labels
	t.ModifyIndex, t.UpdatedAt = idx, c.At
	s.data.tenants[t.ID] = &t
	return &t, nil
}

// DeleteTenant removes a tenant with its keys, apps and ended sessions. It
// is refused while the tenant still has live sessions.
type DeleteTenant struct{ ID string }

func (*DeleteTenant) commandType() cmdType         { return cmdDeleteTenant }
func (c *DeleteTenant) encode(e *encoder)          { e.string(c.ID) }
func (c *DeleteTenant) decode(d *decoder, _ uint8) { c.ID = d.string() }
func (c *DeleteTenant) check(s *State) error {
	if _, ok := s.data.tenants[c.ID]; !ok {
		return fmt.Errorf("tenant %q: %w", c.ID, ErrNotFound)
	}
	if u := s.tenantUse[c.ID]; u != nil && u.Sessions > 0 {
		return fmt.Errorf("tenant %q has %d live sessions: %w", c.ID, u.Sessions, ErrConflict)
	}
	return nil
}
func (c *DeleteTenant) apply(s *State, _ uint64) (any, error) {
	if err := c.check(s); err != nil {
		return nil, err
	}
	for id, k := range s.data.keys {
		if k.TenantID == c.ID {
			delete(s.data.keys, id)
		}
	}
	for id, a := range s.data.apps {
		if a.TenantID == c.ID {
			delete(s.data.apps, id)
		}
	}
	for id, ses := range s.data.sessions {
		if ses.TenantID == c.ID {
			delete(s.data.sessions, id)
			if ses.State == StatePending {
				s.pending.Delete(ses)
			}
		}
	}
	delete(s.data.tenants, c.ID)
	delete(s.tenantUse, c.ID)
	return nil, nil
}

// CreateKey adds an API key (its hash only).
type CreateKey struct{ Key APIKey }

func (*CreateKey) commandType() cmdType         { return cmdCreateKey }
func (c *CreateKey) encode(e *encoder)          { c.Key.encode(e) }
func (c *CreateKey) decode(d *decoder, _ uint8) { c.Key.decode(d) }
func (c *CreateKey) check(s *State) error {
	if _, ok := s.data.keys[c.Key.ID]; ok {
		return fmt.Errorf("key %q: %w", c.Key.ID, ErrAlreadyExists)
	}
	if c.Key.Scope == ScopeTenant {
		if _, ok := s.data.tenants[c.Key.TenantID]; !ok {
			return fmt.Errorf("tenant %q: %w", c.Key.TenantID, ErrNotFound)
		}
	}
	return nil
}
func (c *CreateKey) apply(s *State, idx uint64) (any, error) {
	if err := c.check(s); err != nil {
		return nil, err
	}
	k := c.Key
	k.CreateIndex, k.ModifyIndex, k.UpdatedAt = idx, idx, k.CreatedAt
	s.data.keys[k.ID] = &k
	return &k, nil
}

// DeleteKey revokes an API key. TenantID, when set, must own the key.
type DeleteKey struct{ ID, TenantID string }

func (*DeleteKey) commandType() cmdType { return cmdDeleteKey }
func (c *DeleteKey) encode(e *encoder)  { e.string(c.ID); e.string(c.TenantID) }
func (c *DeleteKey) decode(d *decoder, _ uint8) {
	c.ID = d.string()
	c.TenantID = d.string()
}
func (c *DeleteKey) check(s *State) error {
	k, ok := s.data.keys[c.ID]
	if !ok || c.TenantID != "" && k.TenantID != c.TenantID {
		return fmt.Errorf("key %q: %w", c.ID, ErrNotFound)
	}
	return nil
}
func (c *DeleteKey) apply(s *State, _ uint64) (any, error) {
	if err := c.check(s); err != nil {
		return nil, err
	}
	delete(s.data.keys, c.ID)
	return nil, nil
}

// CreateApp adds a session template. App names are unique per tenant.
type CreateApp struct{ App App }

func (*CreateApp) commandType() cmdType         { return cmdCreateApp }
func (c *CreateApp) encode(e *encoder)          { c.App.encode(e) }
func (c *CreateApp) decode(d *decoder, _ uint8) { c.App.decode(d) }
func (c *CreateApp) check(s *State) error {
	if _, ok := s.data.tenants[c.App.TenantID]; !ok {
		return fmt.Errorf("tenant %q: %w", c.App.TenantID, ErrNotFound)
	}
	if _, ok := s.data.apps[c.App.ID]; ok {
		return fmt.Errorf("app %q: %w", c.App.ID, ErrAlreadyExists)
	}
	for _, a := range s.data.apps {
		if a.TenantID == c.App.TenantID && a.Name == c.App.Name {
			return fmt.Errorf("app named %q: %w", c.App.Name, ErrAlreadyExists)
		}
	}
	return nil
}
func (c *CreateApp) apply(s *State, idx uint64) (any, error) {
	if err := c.check(s); err != nil {
		return nil, err
	}
	a := c.App
	a.CreateIndex, a.ModifyIndex, a.UpdatedAt = idx, idx, a.CreatedAt
	s.data.apps[a.ID] = &a
	return &a, nil
}

// DeleteApp removes a template no live session uses.
type DeleteApp struct{ ID, TenantID string }

func (*DeleteApp) commandType() cmdType { return cmdDeleteApp }
func (c *DeleteApp) encode(e *encoder)  { e.string(c.ID); e.string(c.TenantID) }
func (c *DeleteApp) decode(d *decoder, _ uint8) {
	c.ID = d.string()
	c.TenantID = d.string()
}
func (c *DeleteApp) check(s *State) error {
	a, ok := s.data.apps[c.ID]
	if !ok || c.TenantID != "" && a.TenantID != c.TenantID {
		return fmt.Errorf("app %q: %w", c.ID, ErrNotFound)
	}
	for _, ses := range s.data.sessions {
		if ses.AppID == c.ID && !ses.State.Terminal() {
			return fmt.Errorf("app %q has live sessions: %w", c.ID, ErrConflict)
		}
	}
	return nil
}
func (c *DeleteApp) apply(s *State, _ uint64) (any, error) {
	if err := c.check(s); err != nil {
		return nil, err
	}
	delete(s.data.apps, c.ID)
	return nil, nil
}
