package origin

import (
	"fmt"
	"net/http"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/strata-edge/strata/api"
	"github.com/strata-edge/strata/autoscale"
	"github.com/strata-edge/strata/autoscale/execprovider"
	"github.com/strata-edge/strata/autoscale/k8sprovider"
	"github.com/strata-edge/strata/autoscale/prom"
	"github.com/strata-edge/strata/origin/controller"
	"github.com/strata-edge/strata/registry"
)

// AutoscaleConfig configures the leader's autoscaler (key autoscale).
type AutoscaleConfig struct {
	Enabled bool `yaml:"enabled"`
	// PrometheusURL is the server the queries go to; empty means none:
	// the registry alone scales out, and nothing is ever scaled in.
	PrometheusURL string `yaml:"prometheus_url"`
	// Interval between rounds (default 15s).
	Interval time.Duration `yaml:"interval"`
	// DryRun records decisions without acting on them.
	DryRun  bool               `yaml:"dry_run"`
	Queries controller.Queries `yaml:"queries"`
	Pools   []autoscale.Pool   `yaml:"pools"`
	// Provider is exec (default) or kubernetes.
	Provider   string                    `yaml:"provider"`
	Exec       AutoscaleExecConfig       `yaml:"exec"`
	Kubernetes AutoscaleKubernetesConfig `yaml:"kubernetes"`
	KEDA       AutoscaleKEDAConfig       `yaml:"keda"`
}

// AutoscaleKubernetesConfig is the kubernetes provider, run inside the
// cluster with the origin pod's service account.
type AutoscaleKubernetesConfig struct {
	Namespace string `yaml:"namespace"`
	// Kind is deployment (default) or statefulset.
	Kind string `yaml:"kind"`
	// Workloads maps pool names to workload names; default
	// strata-edge-<region>[-<class>].
	Workloads map[string]string `yaml:"workloads"`
}

// AutoscaleExecConfig is the exec provider: Command (argv) gets each
// action as JSON on stdin.
type AutoscaleExecConfig struct {
	Command []string      `yaml:"command"`
	Timeout time.Duration `yaml:"timeout"`
}

// Providers of autoscale.provider.
const (
	providerExec       = "exec"
	providerKubernetes = "kubernetes"
)

// validate checks the autoscale keys, naming the one at fault.
func (c *AutoscaleConfig) validate() error {
	if !c.Enabled {
		return nil
	}
	bad := func(key, why string) error { return fmt.Errorf("%w: autoscale.%s: %s", registry.ErrInvalid, key, why) }
	if len(c.Pools) == 0 {
		return bad("pools", "at least one pool when enabled")
	}
	for i, p := range c.Pools {
		if err := p.Validate(); err != nil {
			return bad(fmt.Sprintf("pools[%d]", i), err.Error())
		}
	}
	if c.Interval < 0 {
		return bad("interval", "must not be negative")
	}
	if c.PrometheusURL != "" {
		if _, err := prom.New(c.PrometheusURL, nil); err != nil {
			return bad("prometheus_url", err.Error())
		}
	}
	switch c.Provider {
	case "", providerExec:
		if !c.DryRun && len(c.Exec.Command) == 0 {
			return bad("exec.command", "required unless dry_run")
		}
	case providerKubernetes:
		switch c.Kubernetes.Kind {
		case "", k8sprovider.KindDeployment, k8sprovider.KindStatefulSet:
		default:
			return bad("kubernetes.kind", "want deployment or statefulset")
		}
	default:
		return bad("provider", "want exec or kubernetes")
	}
	return nil
}

// openAutoscaler builds the autoscaler controller, or nil when disabled.
func (o *Origin) openAutoscaler() (*controller.Autoscaler, error) {
	c := o.cfg.Autoscale
	if !c.Enabled {
		return nil, nil
	}
	d := controller.AutoscalerDeps{Store: o.reg, Pools: c.Pools, Queries: c.Queries, DryRun: c.DryRun,
		Interval: c.Interval, Registerer: o.prom, Log: o.baseLog}
	if c.PrometheusURL != "" {
		pc, err := prom.New(c.PrometheusURL, nil)
		if err != nil {
			return nil, err
		}
		d.Metrics = pc
	}
	switch {
	case c.Provider == providerKubernetes:
		rc, err := rest.InClusterConfig()
		if err != nil {
			return nil, fmt.Errorf("autoscale.provider kubernetes: %w", err)
		}
		cs, err := kubernetes.NewForConfig(rc)
		if err != nil {
			return nil, fmt.Errorf("autoscale.provider kubernetes: %w", err)
		}
		kp, err := k8sprovider.New(cs, k8sprovider.Config{Namespace: c.Kubernetes.Namespace, Kind: c.Kubernetes.Kind, Names: c.Kubernetes.Workloads})
		if err != nil {
			return nil, err
		}
		d.Provider = kp
	case len(c.Exec.Command) > 0:
		ep, err := execprovider.New(c.Exec.Command, c.Exec.Timeout)
		if err != nil {
			return nil, err
		}
		d.Provider = ep
	}
	return controller.NewAutoscaler(d)
}

// autoscalerStatus answers GET /v1/autoscaler from this origin's
// registry: the pools as configured here, each with its nodes and last
// decision, and the newest decisions first.
func (o *Origin) autoscalerStatus(c *call) (int, any, error) {
	limit, _, err := page(c, func(string) bool { return false })
	if err != nil {
		return 0, nil, err
	}
	cfg := o.cfg.Autoscale
	st := o.reg.State()
	ds := st.ScaleDecisions()
	out := api.Autoscaler{Enabled: cfg.Enabled, DryRun: cfg.DryRun, Pools: []api.AutoscalerPool{}, Decisions: []api.ScaleDecision{}}
	last := map[string]*registry.ScaleDecision{}
	for _, d := range ds {
		last[d.Pool] = d
	}
	for _, p := range cfg.Pools {
		pd := p.WithDefaults()
		v := api.AutoscalerPool{Name: p.Name(), Region: p.Region, Class: p.Class, Min: p.Min, Max: p.Max,
			Buffer: p.Buffer, BufferPercent: p.BufferPercent, Draining: []string{}, LeadTimeSeconds: pd.LeadTime.Seconds()}
		for _, n := range st.Nodes() {
			if n.Role != registry.RoleEdge || n.State != registry.NodeAlive || n.Region != p.Region || controller.NodeClass(n) != p.Class {
				continue
			}
			v.Nodes++
			if n.Draining {
				v.Draining = append(v.Draining, n.ID)
			}
		}
		if d := last[p.Name()]; d != nil {
			v.Current, v.Desired, v.LastReason = d.Current, d.Desired, d.Reason
			if lt := controller.MemoryLeadTime(d); lt > 0 {
				v.LeadTimeSeconds = lt.Seconds()
			}
		}
		out.Pools = append(out.Pools, v)
	}
	for i := len(ds) - 1; i >= 0 && len(out.Decisions) < limit; i-- {
		out.Decisions = append(out.Decisions, toAPIScaleDecision(ds[i]))
	}
	return http.StatusOK, out, nil
}

func toAPIScaleDecision(d *registry.ScaleDecision) api.ScaleDecision {
	nz := func(s []string) []string {
		if s == nil {
			return []string{}
		}
		return s
	}
	return api.ScaleDecision{ID: d.ID, Pool: d.Pool, At: d.At, Current: d.Current, Desired: d.Desired, Add: d.Add,
		Drain: nz(d.Drain), Undrain: nz(d.Undrain), Remove: nz(d.Remove), Reason: d.Reason, Inputs: d.Inputs,
		DryRun: d.DryRun, Status: d.Status.String(), Error: d.Error}
}
