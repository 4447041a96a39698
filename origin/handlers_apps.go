package origin

import (
	"errors"
	"net/http"
	"path"
	"slices"
	"time"

	"github.com/strata-edge/strata/api"
	"github.com/strata-edge/strata/internal/ids"
	"github.com/strata-edge/strata/registry"
)

func isConflict(err error) bool { return errors.Is(err, registry.ErrConflict) }

func oneOf[T ~string](field string, v T, allowed []T) error {
	for _, a := range allowed {
		if v == a {
			return nil
		}
	}
	return badRequest("%s: %q is not one of %v", field, v, allowed)
}

// validateApp checks an app creation and fills in the defaults.
func validateApp(b *api.AppSpec) error {
	if err := checkName("name", b.Name); err != nil {
		return err
	}
	if b.Runtime == "" {
		b.Runtime = api.RuntimeProcess
	}
	if b.IdlePolicy == "" {
		b.IdlePolicy = api.IdleNone
	}
	if b.RestartPolicy == "" {
		b.RestartPolicy = api.RestartOnFailure
	}
	if b.EgressMbps == 0 {
		b.EgressMbps = 10
	}
	if b.PullPolicy == "" && b.Runtime != api.RuntimeProcess {
		b.PullPolicy = api.PullIfMissing
	}
	if err := firstErr(
		oneOf("runtime", b.Runtime, api.Runtimes),
		oneOf("idle_policy", b.IdlePolicy, api.IdlePolicies),
		oneOf("restart_policy", b.RestartPolicy, api.RestartPolicies),
		checkRange("gpus", b.GPUs, api.MaxGPUs),
		checkRange("gpu_memory_mb", b.GPUMemoryMB, api.MaxGPUMemoryMB),
		checkRange("egress_mbps", b.EgressMbps, api.MaxEgressMbps),
		checkRange("idle_minutes", b.IdleMinutes, api.MaxIdleMinutes),
		checkRange("cpu_millis", b.CPUMillis, api.MaxCPUMillis),
		checkRange("memory_mb", b.MemoryMB, api.MaxMemoryMB),
		checkRange("shm_mb", b.ShmMB, api.MaxShmMB),
		checkLabels("env", b.Env),
		validateContainerFields(b),
	); err != nil {
		return err
	}
	switch {
	case b.Runtime == api.RuntimeProcess && len(b.Command) == 0:
		return badRequest("command: required for the process runtime")
	case b.Runtime != api.RuntimeProcess && b.Image == "":
		return badRequest("image: required for the %s runtime", b.Runtime)
	case len(b.Command)+len(b.Args) > 64:
		return badRequest("command, args: at most 64 arguments together")
	case b.CPUMillis > 0 && b.CPUMillis < api.MinCPUMillis:
		return badRequest("cpu_millis: at least %d when set", api.MinCPUMillis)
	case b.IdlePolicy != api.IdleNone && b.IdleMinutes == 0:
		return badRequest("idle_minutes: required when idle_policy is %s", b.IdlePolicy)
	}
	for _, a := range append(slices.Clone(b.Command), b.Args...) {
		if len(a) > 4096 {
			return badRequest("command, args: arguments are at most 4096 bytes")
		}
	}
	return nil
}

// validateContainerFields checks the fields only container runtimes use:
// the process runtime has no image to pull and no volume to mount.
func validateContainerFields(b *api.AppSpec) error {
	if b.Runtime == api.RuntimeProcess {
		switch {
		case b.Volume != "":
			return badRequest("volume: only for the docker and kubernetes runtimes")
		case b.PullPolicy != "":
			return badRequest("pull_policy: only for the docker and kubernetes runtimes")
		case b.ShmMB != 0:
			return badRequest("shm_mb: only for the docker and kubernetes runtimes")
		}
		return nil
	}
	if b.Volume != "" && (!path.IsAbs(b.Volume) || path.Clean(b.Volume) != b.Volume || b.Volume == "/" || len(b.Volume) > 4096) {
		return badRequest("volume: %q is not a clean absolute path below /", truncate(b.Volume, 80))
	}
	return oneOf("pull_policy", b.PullPolicy, api.PullPolicies)
}

// ownerTenant decides which tenant a new object belongs to: a tenant key's
// own, or the tenant_id an admin names.
func ownerTenant(c *call, requested string) (string, error) {
	if c.who.scope == registry.ScopeAdmin {
		if requested == "" {
			return "", badRequest("tenant_id: required with an admin key")
		}
		return requested, nil
	}
	if requested != "" && requested != c.who.tenantID {
		return "", notFound("tenant", requested)
	}
	return c.who.tenantID, nil
}

func (o *Origin) createApp(c *call) (int, any, error) {
	var b api.AppSpec
	if err := decode(c, &b); err != nil {
		return 0, nil, err
	}
	if err := validateApp(&b); err != nil {
		return 0, nil, err
	}
	tenant, err := ownerTenant(c, b.TenantID)
	if err != nil {
		return 0, nil, err
	}
	now := time.Now().UTC()
	a := registry.App{
		ID: ids.New("app", now), TenantID: tenant, Name: b.Name, Runtime: string(b.Runtime),
		Command: b.Command, Image: b.Image, Env: b.Env, GPUs: b.GPUs, GPUModel: b.GPUModel,
		GPUMemoryMB: b.GPUMemoryMB, EgressMbps: b.EgressMbps, IdlePolicy: string(b.IdlePolicy),
		IdleMinutes: b.IdleMinutes, RestartPolicy: string(b.RestartPolicy), CPUMillis: b.CPUMillis, MemoryMB: b.MemoryMB,
		Args: b.Args, ShmMB: b.ShmMB, Volume: b.Volume, PullPolicy: string(b.PullPolicy),
		Meta: registry.Meta{CreatedAt: now},
	}
	v, err := o.reg.Apply(c.cx, &registry.CreateApp{App: a})
	if err != nil {
		return 0, nil, err
	}
	return http.StatusCreated, toAPIApp(v.(*registry.App)), nil
}

func (o *Origin) listApps(c *call) (int, any, error) {
	limit, cursor, err := page(c, idOf("app"))
	if err != nil {
		return 0, nil, err
	}
	tenant := string(c.ctx.QueryArgs().Peek("tenant_id"))
	if c.who.scope != registry.ScopeAdmin {
		tenant = c.who.tenantID
	}
	var out []api.App
	for _, a := range o.reg.State().Apps(tenant) {
		if a.ID > cursor {
			out = append(out, toAPIApp(a))
		}
	}
	return http.StatusOK, pageOf(out, func(a api.App) string { return a.ID }, limit), nil
}

func (o *Origin) appFor(c *call) (*registry.App, error) {
	id, err := idParam(c, "id", "app")
	if err != nil {
		return nil, err
	}
	a, ok := o.reg.State().App(id)
	// A node reads the apps of sessions placed on it (it needs their
	// command and environment), and no other. Only GET admits nodes.
	if !ok || !c.who.canSee(a.TenantID) && !(c.who.isNode() && o.runsApp(c.who.node.NodeID, a.ID)) {
		return nil, notFound("app", id)
	}
	return a, nil
}

func (o *Origin) getApp(c *call) (int, any, error) {
	a, err := o.appFor(c)
	if err != nil {
		return 0, nil, err
	}
	return http.StatusOK, toAPIApp(a), nil
}

func (o *Origin) deleteApp(c *call) (int, any, error) {
	a, err := o.appFor(c)
	if err != nil {
		return 0, nil, err
	}
	if _, err := o.reg.Apply(c.cx, &registry.DeleteApp{ID: a.ID, TenantID: a.TenantID}); err != nil {
		return 0, nil, err
	}
	return http.StatusNoContent, nil, nil
}
