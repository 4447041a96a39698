package origin

import (
	"net/http"
	"time"

	"github.com/strata-edge/strata/internal/auth"
	"github.com/strata-edge/strata/internal/ids"
	"github.com/strata-edge/strata/registry"
)

type tenantBody struct {
	Name   string            `json:"name"`
	Quota  *registry.Quota   `json:"quota,omitempty"`
	Labels map[string]string `json:"labels,omitempty"`
}

func (b *tenantBody) validate() error {
	if err := checkName("name", b.Name); err != nil {
		return err
	}
	if q := b.Quota; q != nil {
		for f, v := range map[string]int64{"quota.max_sessions": q.MaxSessions, "quota.max_gpus": q.MaxGPUs, "quota.max_egress_mbps": q.MaxEgressMbps} {
			if err := checkNonNegative(f, v); err != nil {
				return err
			}
		}
	}
	return checkLabels("labels", b.Labels)
}

// tenantView is a tenant with what it holds now.
type tenantView struct {
	*registry.Tenant
	Usage registry.TenantUsage `json:"usage"`
}

func (o *Origin) createTenant(c *call) (int, any, error) {
	var b tenantBody
	if err := decode(c, &b); err != nil {
		return 0, nil, err
	}
	if err := b.validate(); err != nil {
		return 0, nil, err
	}
	now := time.Now().UTC()
	t := registry.Tenant{ID: ids.New("ten", now), Name: b.Name, Labels: b.Labels, Meta: registry.Meta{CreatedAt: now}}
	if b.Quota != nil {
		t.Quota = *b.Quota
	}
	v, err := o.reg.Apply(c.cx, &registry.CreateTenant{Tenant: t})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, tenantView{Tenant: v.(*registry.Tenant)}, nil
}

func (o *Origin) listTenants(c *call) (int, any, error) {
	limit, cursor, err := page(c)
	if err != nil {
		return 0, nil, err
	}
	st := o.reg.State()
	var out []tenantView
	for _, t := range st.Tenants() {
		if c.who.canSee(t.ID) && t.ID > cursor {
			out = append(out, tenantView{Tenant: t, Usage: st.TenantUsage(t.ID)})
		}
	}
	return http.StatusOK, pageOf(out, func(t tenantView) string { return t.ID }, limit), nil
}

// tenantFor loads a tenant the caller may see; others' look absent.
func (o *Origin) tenantFor(c *call) (*registry.Tenant, error) {
	id, err := idParam(c, "id", "ten")
	if err != nil {
		return nil, err
	}
	t, ok := o.reg.State().Tenant(id)
	if !ok || !c.who.canSee(id) {
		return nil, notFound("tenant", id)
	}
	return t, nil
}

func (o *Origin) getTenant(c *call) (int, any, error) {
	t, err := o.tenantFor(c)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, tenantView{Tenant: t, Usage: o.reg.State().TenantUsage(t.ID)}, nil
}

// updateTenant applies a partial update as a compare-and-set on the
// tenant's index, retrying if another update raced it.
func (o *Origin) updateTenant(c *call) (int, any, error) {
	var b struct {
		Name   *string            `json:"name"`
		Quota  *registry.Quota    `json:"quota"`
		Labels *map[string]string `json:"labels"`
	}
	if err := decode(c, &b); err != nil {
		return 0, nil, err
	}
	for attempt := 0; ; attempt++ {
		t, err := o.tenantFor(c)
		if err != nil {
			return 0, nil, err
		}
		nb := tenantBody{Name: t.Name, Quota: &t.Quota, Labels: t.Labels}
		if b.Name != nil {
			nb.Name = *b.Name
		}
		if b.Quota != nil {
			nb.Quota = b.Quota
		}
		if b.Labels != nil {
			nb.Labels = *b.Labels
		}
		if err := nb.validate(); err != nil {
			return 0, nil, err
		}
		v, err := o.reg.Apply(c.cx, &registry.UpdateTenant{
			ID: t.ID, Name: nb.Name, Quota: *nb.Quota, Labels: nb.Labels,
			ExpectIndex: t.ModifyIndex, At: time.Now().UTC(),
		})
		if err == nil {
			nt := v.(*registry.Tenant)
			return http.StatusOK, tenantView{Tenant: nt, Usage: o.reg.State().TenantUsage(nt.ID)}, nil
		}
		if attempt >= 5 || !isConflict(err) {
			return 0, nil, err
		}
	}
}

func (o *Origin) deleteTenant(c *call) (int, any, error) {
	t, err := o.tenantFor(c)
	if err != nil {
		return 0, nil, err
	}
	if _, err := o.reg.Apply(c.cx, &registry.DeleteTenant{ID: t.ID}); err != nil {
		return 0, nil, err
	}
	return http.StatusNoContent, nil, nil
}

type keyBody struct {
	Name      string    `json:"name"`
	ExpiresAt time.Time `json:"expires_at,omitzero"`
}

// createdKey is shown once: it holds the secret token.
type createdKey struct {
	*registry.APIKey
	Token string `json:"token"`
}

func (o *Origin) createKey(c *call) (int, any, error) {
	t, err := o.tenantFor(c)
	if err != nil {
		return 0, nil, err
	}
	var b keyBody
	if err := decode(c, &b); err != nil {
		return 0, nil, err
	}
	if err := checkName("name", b.Name); err != nil {
		return 0, nil, err
	}
	now := time.Now().UTC()
	if !b.ExpiresAt.IsZero() && !b.ExpiresAt.After(now) {
		return 0, nil, badRequest("expires_at: must be in the future")
	}
	secret, hash := auth.NewSecret()
	k := registry.APIKey{ID: ids.New("key", now), TenantID: t.ID, Scope: registry.ScopeTenant, Name: b.Name, Hash: hash, ExpiresAt: b.ExpiresAt, Meta: registry.Meta{CreatedAt: now}}
	v, err := o.reg.Apply(c.cx, &registry.CreateKey{Key: k})
	if err != nil {
		return 0, nil, err
	}
	key := v.(*registry.APIKey)
	return http.StatusCreated, createdKey{APIKey: key, Token: auth.Token(key.ID, secret)}, nil
}

func (o *Origin) listKeys(c *call) (int, any, error) {
	t, err := o.tenantFor(c)
	if err != nil {
		return 0, nil, err
	}
	limit, cursor, err := page(c)
	if err != nil {
		return 0, nil, err
	}
	var out []*registry.APIKey
	for _, k := range o.reg.State().APIKeys(t.ID) {
		if k.ID > cursor {
			out = append(out, k)
		}
	}
	return http.StatusOK, pageOf(out, func(k *registry.APIKey) string { return k.ID }, limit), nil
}

func (o *Origin) deleteKey(c *call) (int, any, error) {
	t, err := o.tenantFor(c)
	if err != nil {
		return 0, nil, err
	}
	kid, err := idParam(c, "key", "key")
	if err != nil {
		return 0, nil, err
	}
	if _, err := o.reg.Apply(c.cx, &registry.DeleteKey{ID: kid, TenantID: t.ID}); err != nil {
		return 0, nil, err
	}
	return http.StatusNoContent, nil, nil
}
