package controller

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/strata-edge/strata/autoscale"
	"github.com/strata-edge/strata/autoscale/prom"
	"github.com/strata-edge/strata/registry"
)

// MetricsSource answers PromQL instant queries.
type MetricsSource interface {
	Query(ctx context.Context, q string) ([]prom.Sample, error)
}

var _ MetricsSource = (*prom.Client)(nil)

// Queries are the PromQL the autoscaler reads. Pending and Growth answer
// per (region, class); Viewers per node. A zero field means the default.
// Every query must answer for metrics to count as up; growth feeds the
// time-to-exhaustion projection, viewers the choice and emptiness of
// drained nodes, and pending is recorded beside the registry's own count,
// which the policy uses.
type Queries struct {
	Pending string `yaml:"pending"`
	Growth  string `yaml:"growth"`
	Viewers string `yaml:"viewers"`
}

// Default queries over Strata's own series: the origins' per-region
// pending and placed sessions (strata_placement_region_*, from the
// registry) and the edges' viewer gauges.
const (
	DefaultPendingQuery = `max by (region, class) (strata_placement_region_pending_sessions)`
	DefaultGrowthQuery  = `max by (region, class) (deriv(strata_placement_region_sessions[1m]))`
	DefaultViewersQuery = `sum by (node) (strata_edge_moq_subscribers or strata_webrtc_peers{kind="whep"})`
)

// WithDefaults fills the empty queries.
func (q Queries) WithDefaults() Queries {
	if q.Pending == "" {
		q.Pending = DefaultPendingQuery
	}
	if q.Growth == "" {
		q.Growth = DefaultGrowthQuery
	}
	if q.Viewers == "" {
		q.Viewers = DefaultViewersQuery
	}
	return q
}

// DefaultAutoscaleInterval is the round interval when none is set.
const DefaultAutoscaleInterval = 15 * time.Second

// AutoscalerDeps are what the autoscaler works with.
type AutoscalerDeps struct {
	Store Store
	Pools []autoscale.Pool
	// Metrics is Prometheus; nil means metrics are always lost (the
	// registry alone scales out; nothing scales in).
	Metrics MetricsSource
	Queries Queries
	// Provider adds and removes nodes; nil forces a dry run.
	Provider autoscale.Provider
	DryRun   bool
	Interval time.Duration
	// Registerer receives the strata_autoscaler_* metrics; nil registers
	// nothing.
	Registerer prometheus.Registerer
	Log        *slog.Logger
	Now        func() time.Time
}

// Autoscaler runs the autoscale policy on the leader each interval. Every
// round that acts or changes the policy's memory is committed to the
// registry as a ScaleDecision before anything is done, so a new leader
// resumes from it and counts its scale-ups as in flight: an action is
// carried out at most once, by the leader that recorded it.
type Autoscaler struct {
	store    Store
	pools    []autoscale.Pool
	metrics  MetricsSource
	queries  Queries
	provider autoscale.Provider
	dryRun   bool
	interval time.Duration
	log      *slog.Logger
	now      func() time.Time

	current, desired, leadTime *prometheus.GaugeVec
	actions                    *prometheus.CounterVec
	metricsUp                  prometheus.Gauge
	providerErrors             prometheus.Counter
}

// NewAutoscaler validates the pools and registers the metrics.
func NewAutoscaler(d AutoscalerDeps) (*Autoscaler, error) {
	if d.Store == nil {
		return nil, errors.New("autoscaler: Store is required")
	}
	seen := map[string]bool{}
	for _, p := range d.Pools {
		if err := p.Validate(); err != nil {
			return nil, err
		}
		if seen[p.Name()] {
			return nil, fmt.Errorf("%w: pool %s given twice", autoscale.ErrInvalidPool, p.Name())
		}
		seen[p.Name()] = true
	}
	if d.Interval <= 0 {
		d.Interval = DefaultAutoscaleInterval
	}
	a := &Autoscaler{
		store: d.Store, pools: d.Pools, metrics: d.Metrics, queries: d.Queries.WithDefaults(),
		provider: d.Provider, dryRun: d.DryRun || d.Provider == nil, interval: d.Interval,
		log: logger(d.Log, "autoscaler"), now: clock(d.Now),
		current:        prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "strata_autoscaler_pool_current_nodes", Help: "Nodes in service or on their way, per pool."}, []string{"pool"}),
		desired:        prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "strata_autoscaler_pool_desired_nodes", Help: "Nodes the policy wants, per pool."}, []string{"pool"}),
		leadTime:       prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: "strata_autoscaler_pool_lead_time_seconds", Help: "Scale-up lead time in use (measured, or the configured default), per pool."}, []string{"pool"}),
		actions:        prometheus.NewCounterVec(prometheus.CounterOpts{Name: "strata_autoscaler_actions_total", Help: "Nodes added, drained, undrained and removed, per pool."}, []string{"pool", "action"}),
		metricsUp:      prometheus.NewGauge(prometheus.GaugeOpts{Name: "strata_autoscaler_metrics_up", Help: "1 when the last round read every query from Prometheus, 0 when it ran on the registry alone."}),
		providerErrors: prometheus.NewCounter(prometheus.CounterOpts{Name: "strata_autoscaler_provider_errors_total", Help: "Provider actions that failed."}),
	}
	if d.Registerer != nil {
		for _, c := range []prometheus.Collector{a.current, a.desired, a.leadTime, a.actions, a.metricsUp, a.providerErrors} {
			if err := d.Registerer.Register(c); err != nil {
				return nil, fmt.Errorf("autoscaler metrics: %w", err)
			}
		}
	}
	return a, nil
}

// Run runs a round each interval until ctx ends.
func (a *Autoscaler) Run(ctx context.Context) error {
	t := time.NewTicker(a.interval)
	defer t.Stop()
	for {
		a.Round(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// observed is what one round read from Prometheus.
type observed struct {
	ok      bool
	pending map[string]float64 // by region/class key
	growth  map[string]float64
	viewers map[string]float64 // by node
}

func poolKey(region, class string) string { return region + "\x00" + class }

// observe runs the queries. ok is false when any fails or the demand
// queries come back empty (Prometheus up but not scraping the origins).
func (a *Autoscaler) observe(ctx context.Context) observed {
	o := observed{pending: map[string]float64{}, growth: map[string]float64{}, viewers: map[string]float64{}}
	if a.metrics == nil {
		return o
	}
	byPool := func(q string, into map[string]float64) (int, error) {
		s, err := a.metrics.Query(ctx, q)
		for _, x := range s {
			into[poolKey(x.Labels["region"], x.Labels["class"])] += x.Value
		}
		return len(s), err
	}
	np, err := byPool(a.queries.Pending, o.pending)
	if err != nil {
		a.log.Warn("pending query", "err", err)
		return o
	}
	ng, err := byPool(a.queries.Growth, o.growth)
	if err != nil {
		a.log.Warn("growth query", "err", err)
		return o
	}
	vs, err := a.metrics.Query(ctx, a.queries.Viewers)
	if err != nil {
		a.log.Warn("viewers query", "err", err)
		return o
	}
	for _, x := range vs {
		o.viewers[x.Labels["node"]] += x.Value
	}
	o.ok = np > 0 && ng > 0
	return o
}

// NodeClass is a node's autoscaling class: its first GPU's model, or "".
func NodeClass(n *registry.Node) string {
	if len(n.GPUs) == 0 {
		return ""
	}
	return n.GPUs[0].Model
}

// poolOf returns the index of the first pool, in configuration order, a
// node or session of region and class belongs to: the same region (any,
// for a session that named none) and class; a session that named no GPU
// model (exact false) fits the first pool of its region. -1 when none.
func (a *Autoscaler) poolOf(region, class string, exact bool) int {
	for i, p := range a.pools {
		if p.Region != region && (exact || region != "") {
			continue
		}
		if p.Class == class || (!exact && p.Class != "" && class == "") {
			return i
		}
	}
	return -1
}

// Round runs the policy once for every pool and carries out the plans.
func (a *Autoscaler) Round(ctx context.Context) {
	if len(a.pools) == 0 {
		return
	}
	obs := a.observe(ctx)
	if obs.ok {
		a.metricsUp.Set(1)
	} else {
		a.metricsUp.Set(0)
	}
	st := a.store.State()
	inputs := make([]autoscale.Input, len(a.pools))
	byID := map[string]*registry.Node{}
	for i, p := range a.pools {
		inputs[i] = autoscale.Input{Pool: p, MetricsOK: obs.ok, DryRun: a.dryRun}
		if obs.ok {
			inputs[i].Demand.GrowthPerSecond = obs.growth[poolKey(p.Region, p.Class)]
		}
	}
	for _, n := range st.Nodes() {
		if n.Role != registry.RoleEdge || (n.State != registry.NodeAlive && n.State != registry.NodeSuspect) {
			continue
		}
		i := a.poolOf(n.Region, NodeClass(n), true)
		if i < 0 {
			continue
		}
		byID[n.ID] = n
		slots := a.pools[i].WithDefaults().SlotsPerNode
		inputs[i].Nodes = append(inputs[i].Nodes, autoscale.Node{
			ID: n.ID, Slots: slots, Sessions: int(st.NodeUsage(n.ID).Sessions),
			Viewers: int(obs.viewers[n.ID] + 0.5), Draining: n.Draining, JoinedAt: n.CreatedAt,
		})
	}
	// Pending sessions are counted from the registry: it is the source of
	// the pending series and fresher than any scrape of it, and a stale
	// scrape of sessions already placed would add nodes twice. Prometheus'
	// figure is kept with the decision's inputs.
	regPending := make([]int, len(a.pools))
	pending, _, _ := st.PendingSessions(0)
	for _, s := range pending {
		if i := a.poolOf(s.Region, s.GPUModel, false); i >= 0 {
			regPending[i]++
		}
	}
	last := lastDecisions(st)
	for i, p := range a.pools {
		in := inputs[i]
		in.Demand.Pending = regPending[i]
		a.decide(ctx, p, in, obs.pending[poolKey(p.Region, p.Class)], last[p.Name()], byID)
	}
}

// lastDecisions returns each pool's newest decision.
func lastDecisions(st *registry.State) map[string]*registry.ScaleDecision {
	out := map[string]*registry.ScaleDecision{}
	for _, d := range st.ScaleDecisions() { // oldest first
		out[d.Pool] = d
	}
	return out
}

// decide runs the policy for one pool, records the decision if it acts
// or the memory moved, then acts.
func (a *Autoscaler) decide(ctx context.Context, p autoscale.Pool, in autoscale.Input, promPending float64, last *registry.ScaleDecision, byID map[string]*registry.Node) {
	var mem autoscale.Memory
	var lastMem []byte
	if last != nil {
		lastMem = last.Memory
		if err := json.Unmarshal(last.Memory, &mem); err != nil {
			a.log.Warn("unreadable autoscaler memory; starting afresh", "pool", p.Name(), "decision", last.ID, "err", err)
			mem = autoscale.Memory{}
		}
	}
	// A scale-up the provider refused is not on its way.
	st := a.store.State()
	open := mem.Requests[:0]
	for _, r := range mem.Requests {
		if d, ok := st.ScaleDecision(r.DecisionID); ok && d.Status == registry.ScaleFailed {
			continue
		}
		open = append(open, r)
	}
	mem.Requests = open
	now := a.now().UTC()
	// IDs are file-name safe: exec scripts may keep one file per decision.
	id := fmt.Sprintf("%s-%d", strings.ReplaceAll(p.Name(), "/", "."), st.Index()+1)
	plan, next := autoscale.Decide(now, in, mem, id)
	memBytes, err := json.Marshal(next)
	if err != nil {
		a.log.Error("encode autoscaler memory", "pool", p.Name(), "err", err)
		return
	}
	name := p.Name()
	a.current.WithLabelValues(name).Set(float64(plan.Current))
	a.desired.WithLabelValues(name).Set(float64(plan.Desired))
	a.leadTime.WithLabelValues(name).Set(plan.LeadTime.Seconds())
	// A round is recorded when it acts, or when the memory, the sizes or
	// the metrics' health moved since the pool's last record.
	unchanged := last != nil && bytes.Equal(memBytes, lastMem) && last.Current == int64(plan.Current) && last.Desired == int64(plan.Desired) &&
		strings.Contains(last.Inputs, fmt.Sprintf(`"metrics_ok":%t`, in.MetricsOK))
	if !plan.Acts() && unchanged {
		return
	}
	inputs, _ := json.Marshal(struct {
		Demand      autoscale.Demand `json:"demand"`
		PromPending float64          `json:"prometheus_pending"`
		MetricsOK   bool             `json:"metrics_ok"`
		Nodes       []autoscale.Node `json:"nodes"`
	}{in.Demand, promPending, in.MetricsOK, in.Nodes})
	d := registry.ScaleDecision{
		ID: id, Pool: name, At: now, Current: int64(plan.Current), Desired: int64(plan.Desired), Add: int64(plan.Add),
		Drain: plan.Drain, Undrain: plan.Undrain, Remove: plan.Remove, Reason: plan.Reason, Inputs: string(inputs),
		DryRun: plan.DryRun, Memory: memBytes,
	}
	if !plan.Acts() || plan.DryRun {
		d.Status = registry.ScaleDone
	}
	if _, err := a.store.Apply(ctx, &registry.RecordScaleDecision{Decision: d}); err != nil {
		a.log.Warn("record scale decision", "pool", name, "decision", id, "err", err)
		return
	}
	if plan.Acts() {
		a.log.Info("scale decision", "pool", name, "decision", id, "current", plan.Current, "desired", plan.Desired,
			"add", plan.Add, "drain", plan.Drain, "undrain", plan.Undrain, "remove", plan.Remove, "dry_run", plan.DryRun, "reason", plan.Reason)
	}
	if !plan.Acts() || plan.DryRun {
		return
	}
	var errs []error
	mark := func(ids []string, draining bool, action string) {
		for _, nid := range ids {
			n, ok := byID[nid]
			if !ok {
				continue
			}
			reason := fmt.Sprintf("autoscaler %s: %s", id, action)
			if _, err := a.store.Apply(ctx, &registry.SetNodeState{ID: nid, State: n.State, Draining: draining, Reason: reason, At: now}); err != nil {
				errs = append(errs, fmt.Errorf("%s %s: %w", action, nid, err))
				continue
			}
			a.actions.WithLabelValues(name, action).Inc()
		}
	}
	mark(plan.Undrain, false, "undrain")
	mark(plan.Drain, true, "drain")
	if plan.Add > 0 || len(plan.Remove) > 0 {
		act := autoscale.Action{DecisionID: id, Pool: name, Region: p.Region, Class: p.Class, Add: plan.Add, Remove: plan.Remove}
		err := a.provider.Scale(ctx, act)
		if ctx.Err() != nil {
			// Leadership (or the origin) ended mid-action: the outcome is
			// unknown, so the decision stays planned and the next leader
			// counts its nodes as on their way rather than asking again.
			a.log.Warn("scale decision interrupted; left planned", "pool", name, "decision", id, "err", err)
			return
		}
		if err != nil {
			a.providerErrors.Inc()
			errs = append(errs, err)
		} else {
			a.actions.WithLabelValues(name, "add").Add(float64(plan.Add))
			a.actions.WithLabelValues(name, "remove").Add(float64(len(plan.Remove)))
		}
	}
	status, msg := registry.ScaleDone, ""
	if err := errors.Join(errs...); err != nil {
		status, msg = registry.ScaleFailed, truncate(err.Error(), 1024)
		a.log.Warn("scale decision failed", "pool", name, "decision", id, "err", err)
	}
	if _, err := a.store.Apply(ctx, &registry.SetScaleDecisionStatus{ID: id, Status: status, Error: msg, At: a.now().UTC()}); err != nil {
		a.log.Warn("settle scale decision", "decision", id, "err", err)
	}
}

// MemoryLeadTime is the lead time measured so far, as a pool's decision
// remembers it; 0 when none was measured.
func MemoryLeadTime(d *registry.ScaleDecision) time.Duration {
	var m autoscale.Memory
	if json.Unmarshal(d.Memory, &m) != nil {
		return 0
	}
	return m.LeadTime
}
