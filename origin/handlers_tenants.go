package origin

import (
	"net/http"
	"time"

	"github.com/strata-edge/strata/api"
	"github.com/strata-edge/strata/internal/auth"
	"github.com/strata-edge/strata/internal/ids"
	"github.com/strata-edge/strata/registry"
)

func validateTenant(b *api.TenantCreate) error {
	if err := checkName("name", b.Name); err != nil {
		return err
	}
	if q := b.Quota; q != nil {
		if err := firstErr(
			checkRange("quota.max_sessions", q.MaxSessions, api.MaxQuotaSessions),
			checkRange("quota.max_gpus", q.MaxGPUs, api.MaxQuotaGPUs),
			checkRange("quota.max_egress_mbps", q.MaxEgressMbps, api.MaxQuotaEgressMbps),
		); err != nil {
			return err
		}
	}
	return checkLabels("labels", b.Labels)
}

func (o *Origin) createTenant(c *call) (int, any, error) {
	var b api.TenantCreate
	if err := decode(c, &b); err != nil {
		return 0, nil, err
	}
	if err := validateTenant(&b); err != nil {
		return 0, nil, err
	}
	now := time.Now().UTC()
	t := registry.Tenant{ID: ids.New("ten", now), Name: b.Name, Labels: b.Labels, Meta: registry.Meta{CreatedAt: now}}
	if b.Quota != nil {
		t.Quota = fromAPIQuota(*b.Quota)
	}
	v, err := o.reg.Apply(c.cx, &registry.CreateTenant{Tenant: t})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, toAPITenant(v.(*registry.Tenant), registry.TenantUsage{}), nil
}

func (o *Origin) listTenants(c *call) (int, any, error) {
	limit, cursor, err := page(c, idOf("ten"))
	if err != nil {
		return 0, nil, err
	}
	st := o.reg.State()
	var out []api.Tenant
	for _, t := range st.Tenants() {
		if c.who.canSee(t.ID) && t.ID > cursor {
			out = append(out, toAPITenant(t, st.TenantUsage(t.ID)))
		}
	}
	return http.StatusOK, pageOf(out, func(t api.Tenant) string { return t.ID }, limit), nil
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
	return http.StatusOK, toAPITenant(t, o.reg.State().TenantUsage(t.ID)), nil
}

// updateTenant applies a partial update as a compare-and-set on the
// tenant's index, retrying if another update raced it.
func (o *Origin) updateTenant(c *call) (int, any, error) {
	var b api.TenantUpdate
	if err := decode(c, &b); err != nil {
		return 0, nil, err
	}
	for attempt := 0; ; attempt++ {
		t, err := o.tenantFor(c)
		if err != nil {
			return 0, nil, err
		}
		q := toAPIQuota(t.Quota)
		nb := api.TenantCreate{Name: t.Name, Quota: &q, Labels: t.Labels}
		if b.Name != nil {
			nb.Name = *b.Name
		}
		if b.Quota != nil {
			nb.Quota = b.Quota
		}
		if b.Labels != nil {
			nb.Labels = *b.Labels
		}
		if err := validateTenant(&nb); err != nil {
			return 0, nil, err
		}
		v, err := o.reg.Apply(c.cx, &registry.UpdateTenant{
			ID: t.ID, Name: nb.Name, Quota: fromAPIQuota(*nb.Quota), Labels: nb.Labels,
			ExpectIndex: t.ModifyIndex, At: time.Now().UTC(),
		})
		if err == nil {
			nt := v.(*registry.Tenant)
			return http.StatusOK, toAPITenant(nt, o.reg.State().TenantUsage(nt.ID)), nil
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

// newKey decodes a key creation body and stores a key of scope for
// tenant ("" for node keys); the answer holds its token, shown once.
func (o *Origin) newKey(c *call, tenant string, scope registry.KeyScope) (int, any, error) {
	var b api.KeyCreate
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
	k := registry.APIKey{ID: ids.New("key", now), TenantID: tenant, Scope: scope, Name: b.Name, Hash: hash, ExpiresAt: b.ExpiresAt, Meta: registry.Meta{CreatedAt: now}}
	v, err := o.reg.Apply(c.cx, &registry.CreateKey{Key: k})
	if err != nil {
		return 0, nil, err
	}
	key := v.(*registry.APIKey)
	return http.StatusCreated, api.CreatedKey{APIKey: toAPIKey(key), Token: auth.Token(key.ID, secret)}, nil
}

func (o *Origin) createKey(c *call) (int, any, error) {
	t, err := o.tenantFor(c)
	if err != nil {
		return 0, nil, err
	}
	return o.newKey(c, t.ID, registry.ScopeTenant)
}

func (o *Origin) listKeys(c *call) (int, any, error) {
	t, err := o.tenantFor(c)
	if err != nil {
		return 0, nil, err
	}
	limit, cursor, err := page(c, idOf("key"))
	if err != nil {
		return 0, nil, err
	}
	var out []api.APIKey
	for _, k := range o.reg.State().APIKeys(t.ID) {
		if k.ID > cursor {
			out = append(out, toAPIKey(k))
		}
	}
	return http.StatusOK, pageOf(out, func(k api.APIKey) string { return k.ID }, limit), nil
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
