package bench

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"sort"
	"time"

	"github.com/strata-edge/strata/autoscale"
)

// AutoscaleOptions shape the autoscaling replay.
type AutoscaleOptions struct {
	// Trace is diurnal, spike or both.
	Trace string
	// LeadTime is the modelled request-to-ready time of a node.
	LeadTime time.Duration
	// MeanLifetime is the mean session lifetime (exponential).
	MeanLifetime time.Duration
	// SlotsPerNode is the sessions one node holds.
	SlotsPerNode int
	// Interval is how often each scaler runs.
	Interval time.Duration
	// BufferPercent is Strata's pool buffer, in percent of slots in use.
	BufferPercent float64
	// DrainDeadline is Strata's drain deadline.
	DrainDeadline time.Duration
	Seed          uint64
	Progress      *Progress
}

// AutoscaleResult compares Strata's policy with a reactive 70%
// utilisation baseline on the same demand.
type AutoscaleResult struct {
	Trace                         string  `json:"trace"`
	PendingSessionSeconds         float64 `json:"pending_session_seconds"`
	IdleSlotHours                 float64 `json:"idle_slot_hours"`
	ScaleEvents                   int     `json:"scale_events"`
	KilledSessions                int     `json:"killed_sessions"`
	BaselinePendingSessionSeconds float64 `json:"baseline_pending_session_seconds"`
	BaselineIdleSlotHours         float64 `json:"baseline_idle_slot_hours"`
	BaselineScaleEvents           int     `json:"baseline_scale_events"`
	BaselineKilledSessions        int     `json:"baseline_killed_sessions"`
	// PendingRatio and IdleRatio are Strata over baseline (targets: ≤ 0.5
	// and ≤ 1.0).
	PendingRatio float64 `json:"pending_ratio"`
	IdleRatio    float64 `json:"idle_ratio"`
	Sessions     int     `json:"sessions"`
	// Traces holds each trace's own result when Trace is both.
	Traces map[string]*AutoscaleResult `json:"traces,omitempty"`
}

// Autoscale replays the demand trace through autoscale.Decide and through
// the baseline, in simulated time (no clock, no cluster): the same
// arrivals and lifetimes, nodes that take LeadTime to come up, sessions
// placed first come first served on the fullest node with room.
func Autoscale(ctx context.Context, o AutoscaleOptions) (*AutoscaleResult, error) {
	if o.LeadTime <= 0 {
		o.LeadTime = 90 * time.Second
	}
	if o.MeanLifetime <= 0 {
		o.MeanLifetime = 20 * time.Minute
	}
	if o.SlotsPerNode <= 0 {
		o.SlotsPerNode = 4
	}
	if o.Interval <= 0 {
		o.Interval = 15 * time.Second
	}
	if o.Seed == 0 {
		o.Seed = 1
	}
	var names []string
	switch o.Trace {
	case "diurnal", "spike":
		names = []string{o.Trace}
	case "both", "":
		names = []string{"diurnal", "spike"}
	default:
		return nil, fmt.Errorf("trace %q: want diurnal, spike or both", o.Trace)
	}
	total := &AutoscaleResult{Trace: o.Trace, Traces: map[string]*AutoscaleResult{}}
	if total.Trace == "" {
		total.Trace = "both"
	}
	for _, name := range names {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		o.Progress.Step("replaying the %s trace", name)
		arrivals := makeTrace(name, o)
		r := &AutoscaleResult{Trace: name, Sessions: len(arrivals)}
		s := simulate(arrivals, o, true)
		b := simulate(arrivals, o, false)
		r.PendingSessionSeconds, r.IdleSlotHours, r.ScaleEvents, r.KilledSessions = s.pending, s.idle, s.events, s.killed
		r.BaselinePendingSessionSeconds, r.BaselineIdleSlotHours, r.BaselineScaleEvents, r.BaselineKilledSessions = b.pending, b.idle, b.events, b.killed
		r.ratios()
		total.Traces[name] = r
		total.Sessions += r.Sessions
		total.PendingSessionSeconds += r.PendingSessionSeconds
		total.IdleSlotHours += r.IdleSlotHours
		total.ScaleEvents += r.ScaleEvents
		total.KilledSessions += r.KilledSessions
		total.BaselinePendingSessionSeconds += r.BaselinePendingSessionSeconds
		total.BaselineIdleSlotHours += r.BaselineIdleSlotHours
		total.BaselineScaleEvents += r.BaselineScaleEvents
		total.BaselineKilledSessions += r.BaselineKilledSessions
	}
	total.ratios()
	if len(names) == 1 {
		total.Traces = nil
	}
	return total, nil
}

func (r *AutoscaleResult) ratios() {
	ratio := func(a, b float64) float64 {
		if b == 0 {
			if a == 0 {
				return 1
			}
			return math.Inf(1)
		}
		return math.Round(a/b*1000) / 1000
	}
	r.PendingRatio = ratio(r.PendingSessionSeconds, r.BaselinePendingSessionSeconds)
	r.IdleRatio = ratio(r.IdleSlotHours, r.BaselineIdleSlotHours)
	r.PendingSessionSeconds = math.Round(r.PendingSessionSeconds)
	r.BaselinePendingSessionSeconds = math.Round(r.BaselinePendingSessionSeconds)
	r.IdleSlotHours = math.Round(r.IdleSlotHours*100) / 100
	r.BaselineIdleSlotHours = math.Round(r.BaselineIdleSlotHours*100) / 100
}

// arrival is one session: when it asks, and how long it runs once placed.
type arrival struct {
	at, life time.Duration
}

// makeTrace draws arrivals (a Poisson process of the trace's rate) and
// lifetimes, seeded so both scalers see the same demand.
//   - diurnal: 24 hours, from 0.02 to 0.5 sessions/s along a day curve.
//   - spike: 4 hours at 0.1/s with a 20-minute burst at 1/s at hour 2.
func makeTrace(name string, o AutoscaleOptions) []arrival {
	rng := rand.New(rand.NewPCG(o.Seed, uint64(len(name))))
	var length time.Duration
	var rate func(t time.Duration) float64
	switch name {
	case "diurnal":
		length = 24 * time.Hour
		rate = func(t time.Duration) float64 {
			day := t.Hours() / 24
			return 0.02 + 0.48*(1-math.Cos(2*math.Pi*day))/2
		}
	default:
		length = 4 * time.Hour
		rate = func(t time.Duration) float64 {
			if t >= 2*time.Hour && t < 2*time.Hour+20*time.Minute {
				return 1
			}
			return 0.1
		}
	}
	var out []arrival
	for t := time.Duration(0); t < length; t += time.Second {
		// Bernoulli per second approximates Poisson for rates ≤ 1/s.
		n := 0
		r := rate(t)
		for r > 0 {
			if rng.Float64() < min(r, 1) {
				n++
			}
			r--
		}
		for range n {
			out = append(out, arrival{at: t, life: time.Duration(rng.ExpFloat64() * float64(o.MeanLifetime))})
		}
	}
	return out
}

type simNode struct {
	id       string
	readyAt  time.Duration
	draining bool
	sessions []time.Duration // end times
}

type simResult struct {
	pending, idle float64
	events        int
	killed        int
}

// simulate runs one scaler over the arrivals in one-second steps.
func simulate(arrivals []arrival, o AutoscaleOptions, strata bool) simResult {
	var res simResult
	var nodes []*simNode
	var queue []arrival
	nextID := 0
	rng := rand.New(rand.NewPCG(o.Seed, 99))
	addNodes := func(now time.Duration, n int) {
		for range n {
			nextID++
			nodes = append(nodes, &simNode{id: fmt.Sprintf("n%05d", nextID), readyAt: now + o.LeadTime})
		}
		if n > 0 {
			res.events++
		}
	}
	removeNodes := func(ids map[string]bool) {
		kept := nodes[:0]
		for _, n := range nodes {
			if ids[n.id] {
				res.killed += len(n.sessions)
				continue
			}
			kept = append(kept, n)
		}
		nodes = kept
		if len(ids) > 0 {
			res.events++
		}
	}
	pool := autoscale.Pool{Region: "sim", Min: 1, Max: 10000, SlotsPerNode: o.SlotsPerNode, BufferPercent: o.BufferPercent,
		LeadTime: o.LeadTime, DrainDeadline: o.DrainDeadline}
	var mem autoscale.Memory
	epoch := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	// history of in-use plus pending, one sample per interval, for the
	// growth rate (as deriv over two minutes would give).
	var demandHist []float64
	var baseDesired []int // baseline's desired sizes over its window
	addNodes(-o.LeadTime, 1)
	res.events = 0
	end := arrivals[len(arrivals)-1].at + 2*time.Hour
	ai := 0
	for now := time.Duration(0); now < end; now += time.Second {
		// Sessions end.
		for _, n := range nodes {
			live := n.sessions[:0]
			for _, e := range n.sessions {
				if e > now {
					live = append(live, e)
				}
			}
			n.sessions = live
		}
		for ai < len(arrivals) && arrivals[ai].at <= now {
			queue = append(queue, arrivals[ai])
			ai++
		}
		// Place first come first served on the fullest ready node.
		ready := make([]*simNode, 0, len(nodes))
		for _, n := range nodes {
			if n.readyAt <= now && !n.draining {
				ready = append(ready, n)
			}
		}
		sort.SliceStable(ready, func(i, j int) bool { return len(ready[i].sessions) > len(ready[j].sessions) })
		for len(queue) > 0 {
			placed := false
			for _, n := range ready {
				if len(n.sessions) < o.SlotsPerNode {
					n.sessions = append(n.sessions, now+queue[0].life)
					placed = true
					break
				}
			}
			if !placed {
				break
			}
			queue = queue[1:]
		}
		inUse, slots := 0, 0
		for _, n := range nodes {
			inUse += len(n.sessions)
			slots += o.SlotsPerNode
		}
		res.pending += float64(len(queue))
		res.idle += float64(slots-inUse) / 3600
		if now%o.Interval != 0 {
			continue
		}
		demandHist = append(demandHist, float64(inUse+len(queue)))
		if strata {
			growth := 0.0
			if k := int(growthWindow / o.Interval); len(demandHist) > k {
				growth = (demandHist[len(demandHist)-1] - demandHist[len(demandHist)-1-k]) / growthWindow.Seconds()
			}
			in := autoscale.Input{Pool: pool, MetricsOK: true, Demand: autoscale.Demand{Pending: len(queue), GrowthPerSecond: growth}}
			for _, n := range nodes {
				if n.readyAt > now {
					continue // on its way: the policy counts it as a request
				}
				in.Nodes = append(in.Nodes, autoscale.Node{ID: n.id, Slots: o.SlotsPerNode, Sessions: len(n.sessions), Draining: n.draining, JoinedAt: epoch.Add(n.readyAt)})
			}
			plan, next := autoscale.Decide(epoch.Add(now), in, mem, fmt.Sprintf("d%d", now/time.Second))
			mem = next
			addNodes(now, plan.Add)
			set := func(ids []string, v bool) {
				for _, n := range nodes {
					for _, id := range ids {
						if n.id == id {
							n.draining = v
						}
					}
				}
			}
			set(plan.Drain, true)
			set(plan.Undrain, false)
			rm := map[string]bool{}
			for _, id := range plan.Remove {
				rm[id] = true
			}
			removeNodes(rm)
			continue
		}
		// Baseline: utilisation of ready nodes against a 70% target, the
		// HPA's formula with its 10% tolerance and 5-minute scale-down
		// stabilisation; it removes nodes without regard to sessions.
		readyN, readyUse := 0, 0
		for _, n := range nodes {
			if n.readyAt <= now {
				readyN++
				readyUse += len(n.sessions)
			}
		}
		replicas := len(nodes)
		desired := replicas
		if readyN > 0 {
			util := float64(readyUse) / float64(readyN*o.SlotsPerNode)
			if math.Abs(util/0.7-1) > 0.1 {
				desired = max(1, int(math.Ceil(float64(readyN)*util/0.7)))
			}
		}
		baseDesired = append(baseDesired, desired)
		if w := int(5 * time.Minute / o.Interval); len(baseDesired) > w {
			baseDesired = baseDesired[len(baseDesired)-w:]
		}
		switch {
		case desired > replicas:
			addNodes(now, desired-replicas)
		case desired < replicas:
			stable := 0
			for _, d := range baseDesired {
				stable = max(stable, d)
			}
			if stable < replicas {
				rm := map[string]bool{}
				perm := rng.Perm(len(nodes))
				for _, i := range perm[:replicas-stable] {
					rm[nodes[i].id] = true
				}
				removeNodes(rm)
			}
		}
	}
	return res
}

// growthWindow is the span the replay's growth rate is taken over, as
// the autoscaler's default growth query (deriv over one minute) does.
var growthWindow = time.Minute
