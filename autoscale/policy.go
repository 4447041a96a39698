package autoscale

import (
	"fmt"
	"math"
	"sort"
	"time"
)

// Node is one node of a pool as the policy sees it.
type Node struct {
	ID string `json:"id"`
	// Slots is how many sessions the node can hold; Sessions is how many
	// hold a reservation on it now (the registry's figure).
	Slots    int `json:"slots"`
	Sessions int `json:"sessions"`
	// Viewers watching on the node, from metrics; 0 when unknown.
	Viewers  int  `json:"viewers"`
	Draining bool `json:"draining"`
	// JoinedAt is when the node registered, used to measure lead time.
	JoinedAt time.Time `json:"joined_at"`
}

// Demand is what the pool is asked for, from metrics and the registry.
type Demand struct {
	// Pending is the sessions waiting for capacity in the pool.
	Pending int `json:"pending"`
	// GrowthPerSecond is the recent rate of increase of sessions in use
	// (0 or negative when demand is flat or falling).
	GrowthPerSecond float64 `json:"growth_per_second"`
}

// Input is one pool's snapshot for a round.
type Input struct {
	Pool   Pool   `json:"pool"`
	Nodes  []Node `json:"nodes"`
	Demand Demand `json:"demand"`
	// MetricsOK is false when Prometheus was unreachable or a query came
	// back empty: then Demand holds only what the registry knows, and
	// nothing is scaled in.
	MetricsOK bool `json:"metrics_ok"`
	DryRun    bool `json:"dry_run,omitempty"`
}

// Request is a scale-up asked for and not yet wholly filled.
type Request struct {
	DecisionID string    `json:"decision_id"`
	At         time.Time `json:"at"`
	Count      int       `json:"count"`
	Filled     int       `json:"filled"`
}

// Memory is what the policy carries from one round to the next for a
// pool. It is committed with every decision, so a new leader resumes
// where the last one stopped.
type Memory struct {
	// Known are the node IDs seen last round; a new one fills the oldest
	// open request and measures the lead time.
	Known []string `json:"known,omitempty"`
	// Requests are scale-ups in flight.
	Requests []Request `json:"requests,omitempty"`
	// OverSince is when the pool became continuously larger than needed;
	// zero when it is not.
	OverSince time.Time `json:"over_since,omitzero"`
	// DrainStarted is when each node the autoscaler drained began to.
	DrainStarted map[string]time.Time `json:"drain_started,omitempty"`
	// Removing are nodes handed to the provider for removal, not asked
	// for again while they linger.
	Removing []string `json:"removing,omitempty"`
	// LeadTime is the measured request-to-ready time; zero until a
	// scale-up has been seen through.
	LeadTime time.Duration `json:"lead_time,omitempty"`
}

// Plan is the policy's answer for one pool.
type Plan struct {
	Pool    string `json:"pool"`
	Current int    `json:"current"`
	Desired int    `json:"desired"`
	// Add is the nodes to ask the provider for.
	Add int `json:"add,omitempty"`
	// Drain are nodes to mark draining; Undrain nodes to return to
	// service; Remove nodes to hand to the provider for removal.
	Drain   []string `json:"drain,omitempty"`
	Undrain []string `json:"undrain,omitempty"`
	Remove  []string `json:"remove,omitempty"`
	Reason  string   `json:"reason"`
	DryRun  bool     `json:"dry_run,omitempty"`
	// LeadTime is the lead time the round used.
	LeadTime time.Duration `json:"lead_time"`
}

// Acts reports whether the plan changes anything.
func (p *Plan) Acts() bool {
	return p.Add > 0 || len(p.Drain) > 0 || len(p.Undrain) > 0 || len(p.Remove) > 0
}

// requestExpiry is how many lead times (the longer of the configured and
// the measured one) a scale-up may take before the policy stops counting
// it as on its way (the provider failed, or the nodes never came).
const requestExpiry = 3

// Decide runs one round of the policy for a pool. decisionID names the
// round's scale-up, should there be one, in the returned memory. Decide
// never mutates its arguments.
func Decide(now time.Time, in Input, mem Memory, decisionID string) (Plan, Memory) {
	p := in.Pool.WithDefaults()
	next := mem.clone()
	lead := p.LeadTime
	if mem.LeadTime > 0 {
		lead = mem.LeadTime
	}

	// Lead time: each node not seen before fills the oldest open request.
	known := map[string]bool{}
	for _, id := range mem.Known {
		known[id] = true
	}
	nodes := append([]Node(nil), in.Nodes...)
	sort.Slice(nodes, func(i, j int) bool { return nodes[i].ID < nodes[j].ID })
	next.Known = next.Known[:0]
	for _, n := range nodes {
		next.Known = append(next.Known, n.ID)
		if known[n.ID] || len(mem.Known) == 0 && len(mem.Requests) == 0 {
			continue
		}
		for i := range next.Requests {
			r := &next.Requests[i]
			if r.Filled < r.Count {
				r.Filled++
				if took := n.JoinedAt.Sub(r.At); took > 0 {
					if next.LeadTime == 0 {
						next.LeadTime = took
					} else {
						next.LeadTime = (next.LeadTime + took) / 2
					}
				}
				break
			}
		}
	}
	inFlight := 0
	open := next.Requests[:0]
	for _, r := range next.Requests {
		if r.Filled >= r.Count || now.Sub(r.At) > requestExpiry*max(lead, p.LeadTime) {
			continue
		}
		inFlight += r.Count - r.Filled
		open = append(open, r)
	}
	next.Requests = open

	// Forget drains and removals of nodes that are gone.
	present := map[string]Node{}
	for _, n := range nodes {
		present[n.ID] = n
	}
	removing := map[string]bool{}
	next.Removing = next.Removing[:0]
	for _, id := range mem.Removing {
		if _, ok := present[id]; ok {
			removing[id] = true
			next.Removing = append(next.Removing, id)
		}
	}
	for id := range next.DrainStarted {
		if _, ok := present[id]; !ok || removing[id] {
			delete(next.DrainStarted, id)
		}
	}

	var active, draining []Node
	inUse, free, slots := 0, 0, 0
	for _, n := range nodes {
		if removing[n.ID] {
			continue
		}
		inUse += n.Sessions
		if n.Draining {
			draining = append(draining, n)
			continue
		}
		active = append(active, n)
		slots += n.Slots
		free += max(n.Slots-n.Sessions, 0)
	}
	perNode := p.SlotsPerNode
	if len(active) > 0 && slots > 0 {
		perNode = max(1, slots/len(active))
	}

	// Desired size: the sessions in use and pending, plus the buffer (for
	// noise) and what demand will grow by within one lead time (for the
	// trend): a node asked for now serves only what comes after it is up.
	want := inUse + in.Demand.Pending
	headroom := p.buffer(inUse)
	why := fmt.Sprintf("%d in use, %d pending, buffer %d", inUse, in.Demand.Pending, headroom)
	if g := in.Demand.GrowthPerSecond; g > 0 && in.MetricsOK {
		growth := int(math.Ceil(g * lead.Seconds()))
		if free > 0 {
			tte := time.Duration(float64(free) / g * float64(time.Second))
			why += fmt.Sprintf(", exhaustion in %s (lead %s)", tte.Round(time.Second), lead.Round(time.Second))
		}
		headroom += growth
	}
	want += headroom
	desired := (want + perNode - 1) / perNode
	desired = min(max(desired, p.Min), p.Max)
	current := len(active) + inFlight

	plan := Plan{Pool: p.Name(), Current: current, Desired: desired, DryRun: in.DryRun, LeadTime: lead}

	switch {
	case desired > current:
		next.OverSince = time.Time{}
		need := desired - current
		// Demand came back: return drained nodes first, the fullest first
		// (they are the least likely to have emptied).
		sort.SliceStable(draining, func(i, j int) bool { return load(draining[i]) > load(draining[j]) })
		for _, n := range draining {
			if need == 0 {
				break
			}
			plan.Undrain = append(plan.Undrain, n.ID)
			delete(next.DrainStarted, n.ID)
			need--
		}
		plan.Add = need
		plan.Reason = fmt.Sprintf("scale up %d→%d: %s", current, desired, why)
		if len(plan.Undrain) > 0 {
			plan.Reason += fmt.Sprintf("; %d drain(s) cancelled", len(plan.Undrain))
		}
		if !in.MetricsOK {
			plan.Reason += "; metrics unavailable, registry only"
		}
		if plan.Add > 0 {
			next.Requests = append(next.Requests, Request{DecisionID: decisionID, At: now, Count: plan.Add})
		}
	case desired < current:
		switch {
		case !in.MetricsOK:
			next.OverSince = time.Time{}
			plan.Reason = fmt.Sprintf("hold at %d (want %d): metrics unavailable, no scale-in", current, desired)
		case inFlight > 0:
			plan.Reason = fmt.Sprintf("hold at %d (want %d): %d node(s) still on the way", current, desired, inFlight)
		case next.OverSince.IsZero():
			next.OverSince = now
			plan.Reason = fmt.Sprintf("hold at %d (want %d): stabilisation window of %s started", current, desired, p.ScaleDownWindow)
		case now.Sub(next.OverSince) < p.ScaleDownWindow:
			plan.Reason = fmt.Sprintf("hold at %d (want %d): stabilisation window, %s left", current, desired, (p.ScaleDownWindow - now.Sub(next.OverSince)).Round(time.Second))
		default:
			// Drain the emptiest nodes.
			sort.SliceStable(active, func(i, j int) bool { return load(active[i]) < load(active[j]) })
			for _, n := range active[:current-desired] {
				plan.Drain = append(plan.Drain, n.ID)
				if next.DrainStarted == nil {
					next.DrainStarted = map[string]time.Time{}
				}
				next.DrainStarted[n.ID] = now
			}
			plan.Reason = fmt.Sprintf("scale in %d→%d after %s over: %s; draining the emptiest", current, desired, now.Sub(next.OverSince).Round(time.Second), why)
			next.OverSince = time.Time{}
		}
	default:
		next.OverSince = time.Time{}
		plan.Reason = fmt.Sprintf("steady at %d: %s", current, why)
	}

	// Drained nodes leave once empty, or at the drain deadline; never
	// while metrics are down, since viewers cannot be seen then.
	if in.MetricsOK {
		for _, n := range draining {
			if contains(plan.Undrain, n.ID) {
				continue
			}
			started, ours := next.DrainStarted[n.ID]
			if !ours {
				continue // drained by an operator: theirs to remove
			}
			empty := n.Sessions == 0 && n.Viewers == 0
			if empty || now.Sub(started) >= p.DrainDeadline {
				plan.Remove = append(plan.Remove, n.ID)
				next.Removing = append(next.Removing, n.ID)
				delete(next.DrainStarted, n.ID)
			}
		}
		if len(plan.Remove) > 0 {
			plan.Reason += fmt.Sprintf("; removing drained %v", plan.Remove)
		}
	}
	if in.DryRun {
		// A dry run acts on nothing, so it remembers no request, drain or
		// removal; it keeps the window so it can show when it would drain.
		old := mem.clone()
		next.Requests, next.DrainStarted, next.Removing = old.Requests, old.DrainStarted, old.Removing
	}
	return plan, next
}

// load orders nodes for draining: sessions first, then viewers, then ID.
func load(n Node) int { return n.Sessions*1_000_000 + n.Viewers }

func contains(s []string, v string) bool {
	for _, x := range s {
		if x == v {
			return true
		}
	}
	return false
}

func (m Memory) clone() Memory {
	c := m
	c.Known = append([]string(nil), m.Known...)
	c.Requests = append([]Request(nil), m.Requests...)
	c.Removing = append([]string(nil), m.Removing...)
	if m.DrainStarted != nil {
		c.DrainStarted = make(map[string]time.Time, len(m.DrainStarted))
		for k, v := range m.DrainStarted {
			c.DrainStarted[k] = v
		}
	}
	return c
}
