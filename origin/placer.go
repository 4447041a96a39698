package origin

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/strata-edge/strata/placement"
	"github.com/strata-edge/strata/registry"
)

// placer runs on the Raft leader. Each round it builds one placement
// snapshot from the registry (authoritative reservations) and gossip
// (advisory live load), places every pending session oldest first, and
// commits the decisions through Raft concurrently so they batch into few
// log writes. The FSM re-checks capacity, so a decision made on a view
// that went stale is refused, never overbooked; the session simply stays
// pending for the next round.
type placer struct {
	o    *Origin
	kick chan struct{}

	mu        sync.Mutex
	completed uint64 // rounds finished
	started   uint64 // rounds begun
	changed   chan struct{}
	// reasons remembers the last no-capacity reason written per session,
	// so a waiting session costs no log write per round.
	reasons map[string]string
	// seen is the registry index up to which pending sessions have been
	// judged at capacity index seenCap; sessions unchanged since and
	// without room are not tried again until capacity changes.
	seen, seenCap uint64

	inline inlineState
	// relays remembers where this origin sent viewers (any origin routes
	// viewers, not only the leader).
	relays relayMemo

	decisions *prometheus.CounterVec
	latency   prometheus.Histogram
	pending   prometheus.GaugeFunc
}

func newPlacer(o *Origin) (*placer, error) {
	p := &placer{
		o: o, kick: make(chan struct{}, 1), changed: make(chan struct{}), reasons: map[string]string{},
		decisions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "strata_placement_decisions_total",
			Help: "Placement decisions by outcome (placed, no_capacity, stale, error).",
		}, []string{"outcome"}),
		latency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "strata_placement_decision_seconds",
			Help:    "Time the placement engine takes for one decision.",
			Buckets: prometheus.ExponentialBuckets(1e-6, 4, 10),
		}),
	}
	// Read from the replicated state at scrape time, so every origin (not
	// only the leader, nor a former leader's last round) reports it.
	p.pending = prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "strata_placement_pending_sessions",
		Help: "Sessions waiting for capacity.",
	}, func() float64 {
		if o.reg == nil {
			return 0
		}
		return float64(o.reg.State().PendingCount())
	})
	for _, c := range []prometheus.Collector{p.decisions, p.latency, p.pending, &capacityCollector{o: o}} {
		if err := o.prom.Register(c); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// kickPlacement asks the leader's placer for a round soon.
func (o *Origin) kickPlacement() {
	select {
	case o.placer.kick <- struct{}{}:
	default:
	}
}

// run places pending sessions until ctx (leadership) ends.
func (p *placer) run(ctx context.Context) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		p.round(ctx)
		select {
		case <-ctx.Done():
			return
		case <-p.kick:
			// Coalesce bursts of kicks into one round.
			select {
			case <-ctx.Done():
				return
			case <-time.After(2 * time.Millisecond):
			}
		case <-t.C:
		}
	}
}

// waitRound waits for a full round that began after the call, so the
// caller's session has been considered.
func (p *placer) waitRound(ctx context.Context) bool {
	p.mu.Lock()
	target := p.started + 1
	p.mu.Unlock()
	p.o.kickPlacement()
	for {
		p.mu.Lock()
		done, ch := p.completed >= target, p.changed
		p.mu.Unlock()
		if done {
			return true
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return false
		}
	}
}

func (p *placer) round(ctx context.Context) {
	p.mu.Lock()
	p.started++
	p.mu.Unlock()
	defer func() {
		p.mu.Lock()
		p.completed = p.started
		close(p.changed)
		p.changed = make(chan struct{})
		p.mu.Unlock()
	}()
	st := p.o.reg.State()
	idx := st.Index()
	since := p.seen
	if st.CapacityIndex() != p.seenCap {
		since = 0 // room may have appeared: look at every pending session
	}
	pending, total, capIdx := st.PendingSessions(since)
	p.seen, p.seenCap = idx, capIdx
	p.mu.Lock()
	if total == 0 {
		clear(p.reasons)
	}
	p.mu.Unlock()
	if len(pending) == 0 {
		return
	}
	snap := p.o.snapshot()
	if err := snap.Prepare(); err != nil {
		p.o.log.Error("placement snapshot", "err", err)
		return
	}
	type commit struct {
		ses *registry.Session
		cmd *registry.PlaceSession
	}
	var commits []commit
	notes := map[string][]string{} // reason → sessions
	now := time.Now().UTC()
	for _, s := range pending {
		start := time.Now()
		d, err := placement.Place(snap, requestFor(s))
		p.latency.Observe(time.Since(start).Seconds())
		if err != nil {
			p.decisions.WithLabelValues(outcome(err)).Inc()
			if reason, changed := p.noteWaiting(s, err); changed {
				notes[reason] = append(notes[reason], s.ID)
			}
			continue
		}
		if err := snap.Apply(d); err != nil {
			p.decisions.WithLabelValues("error").Inc()
			p.seen = 0
			continue
		}
		commits = append(commits, commit{s, &registry.PlaceSession{ID: s.ID, Reservation: toReservation(d), ExpectResIndex: d.Revision, At: now}})
	}
	var wg sync.WaitGroup
	retry := false
	for _, c := range commits {
		wg.Add(1)
		go func(c commit) {
			defer wg.Done()
			_, err := p.o.reg.Apply(ctx, c.cmd)
			p.mu.Lock()
			defer p.mu.Unlock()
			switch {
			case err == nil:
				p.decisions.WithLabelValues("placed").Inc()
				delete(p.reasons, c.ses.ID)
			case errors.Is(err, registry.ErrStaleDecision), errors.Is(err, registry.ErrNoCapacity):
				p.decisions.WithLabelValues("stale").Inc()
				retry = true
				p.seen = 0 // look again at everything next round
			default:
				p.decisions.WithLabelValues("error").Inc()
				if !errors.Is(err, registry.ErrInvalidTransition) {
					p.o.log.Warn("commit placement", "session", c.ses.ID, "err", err)
				}
			}
		}(c)
	}
	for reason, ids := range notes {
		wg.Add(1)
		go func(n *registry.NotePending) {
			defer wg.Done()
			_, _ = p.o.reg.Apply(ctx, n)
		}(&registry.NotePending{Reason: reason, IDs: ids, At: now})
	}
	wg.Wait()
	if retry {
		p.o.kickPlacement()
	}
}

// noteWaiting returns why a session is still pending and whether that
// reason is new (needs recording).
func (p *placer) noteWaiting(s *registry.Session, err error) (string, bool) {
	reason := "waiting for capacity: " + err.Error()
	if len(reason) > 256 {
		reason = reason[:256]
	}
	p.mu.Lock()
	same := p.reasons[s.ID] == reason || s.Reason == reason
	p.reasons[s.ID] = reason
	p.mu.Unlock()
	return reason, !same
}

func outcome(err error) string {
	switch {
	case errors.Is(err, placement.ErrNoCapacity):
		return "no_capacity"
	case errors.Is(err, placement.ErrQuotaExceeded):
		return "quota"
	}
	return "error"
}

// requestFor turns a session into a placement request.
func requestFor(s *registry.Session) placement.Request {
	r := placement.Request{
		Tenant: s.TenantID, GPUs: int(s.GPUs), GPUModel: s.GPUModel, GPUMemoryMB: s.GPUMemoryMB,
		EgressMbps: s.EgressMbps, Labels: s.Labels,
		Requester: placement.Requester{Region: s.Region, Location: placement.Location{Lat: s.Lat, Lon: s.Lon, Known: s.HasLocation}},
	}
	if s.Region != "" && !s.HasLocation {
		r.Regions = []string{s.Region}
	}
	return r
}

func toReservation(d placement.Decision) registry.Reservation {
	r := registry.Reservation{NodeID: d.NodeID, EgressMbps: d.Reservation.EgressMbps}
	for _, g := range d.Reservation.GPUs {
		r.GPUs = append(r.GPUs, registry.GPUSlice{Index: int64(g.Index), UUID: g.UUID, MemoryMB: g.MemoryMB})
	}
	return r
}

// inlineState is the leader's fast path for synchronous creates: one
// cached snapshot, decided on under mu, so a create is placed at once and
// committed with a single CreatePlacedSession entry instead of waiting for
// a placer round and then two log writes. Concurrent creates each take mu
// only for the decision (microseconds) and commit in parallel, so their
// entries batch in Raft. The snapshot carries every decision made on it,
// committed or not; it is rebuilt from the registry at most every
// inlineRefresh once capacity changed, overlaying decisions still in
// flight so a rebuild never forgets them. A stale view costs nothing
// worse than a refusal: the FSM re-checks capacity and creates the session
// pending, and the placer takes over.
type inlineState struct {
	mu       sync.Mutex
	snap     *placement.Snapshot // nil: rebuild before the next decision
	capIdx   uint64              // registry capacity index snap was built at
	built    time.Time
	inflight map[string]placement.Decision // by session ID, until its commit returns
}

// inlineRefresh bounds how long the inline snapshot may miss capacity
// changes made outside it (sessions ending, nodes joining or failing).
// inlineMaxAge bounds how old the gossip load and coordinates it scores
// with may get.
const (
	inlineRefresh = 50 * time.Millisecond
	inlineMaxAge  = time.Second
)

// createPlaced creates s placed on an edge in one log entry when this
// origin leads, no older session waits for capacity (so a new create never
// overtakes them), and the cached view has room. It returns nil, nil when
// it did not try; the caller then creates the session pending and waits
// for the placer. A returned session may be pending when the FSM found the
// decision stale.
func (p *placer) createPlaced(ctx context.Context, s registry.Session) (*registry.Session, error) {
	st := p.o.reg.State()
	if !p.o.reg.IsLeader() || st.PendingCount() > 0 {
		return nil, nil
	}
	in := &p.inline
	in.mu.Lock()
	if err := p.refreshInline(st); err != nil {
		in.mu.Unlock()
		p.o.log.Error("placement snapshot", "err", err)
		return nil, nil
	}
	start := time.Now()
	d, err := placement.Place(in.snap, requestFor(&s))
	p.latency.Observe(time.Since(start).Seconds())
	if err == nil {
		err = in.snap.Apply(d)
	}
	if err != nil {
		// No room (or a view to rebuild): the placer's path records the
		// reason, honours fail_fast and keeps the order.
		in.snap = nil
		in.mu.Unlock()
		return nil, nil
	}
	in.inflight[s.ID] = d
	in.mu.Unlock()

	v, err := p.o.reg.Apply(ctx, &registry.CreatePlacedSession{Session: s, Reservation: toReservation(d)})
	in.mu.Lock()
	delete(in.inflight, s.ID)
	if err != nil {
		in.snap = nil // the decision never landed: drop it from the view
	}
	in.mu.Unlock()
	if err != nil {
		return nil, err
	}
	ses := v.(*registry.Session)
	if ses.State == registry.StatePlaced {
		p.decisions.WithLabelValues("placed").Inc()
	} else {
		p.decisions.WithLabelValues("stale").Inc()
		in.mu.Lock()
		in.snap = nil
		in.mu.Unlock()
	}
	return ses, nil
}

// refreshInline rebuilds the inline snapshot when it is missing, or when
// capacity changed and it is older than inlineRefresh. Caller holds
// p.inline.mu.
func (p *placer) refreshInline(st *registry.State) error {
	in := &p.inline
	capIdx := st.CapacityIndex()
	age := time.Since(in.built)
	if in.snap != nil && age < inlineMaxAge && (capIdx == in.capIdx || age < inlineRefresh) {
		return nil
	}
	if in.inflight == nil {
		in.inflight = map[string]placement.Decision{}
	}
	// Decisions whose entry the view has not applied yet are not in its
	// reservations: add them, judged in the same view so none is counted
	// twice or missed.
	var pending []placement.Decision
	snap := p.o.buildSnapshot(func(v *registry.View) {
		for id, d := range in.inflight {
			if _, ok := v.Session(id); !ok {
				pending = append(pending, d)
			}
		}
	})
	if err := snap.Prepare(); err != nil {
		in.snap = nil
		return err
	}
	for _, d := range pending {
		for i := range snap.Nodes {
			if snap.Nodes[i].ID == d.NodeID {
				d.Revision = snap.Nodes[i].Revision
				// A refusal here means the node can no longer take it;
				// the FSM will refuse the entry the same way.
				_ = snap.Apply(d)
				break
			}
		}
	}
	in.snap, in.capIdx, in.built = snap, capIdx, time.Now()
	return nil
}

// snapshot builds the placement engine's view of the edges: capacity and
// reservations from the registry, live load and coordinates from gossip.
// Quotas are enforced when sessions are created, so none are set here.
func (o *Origin) snapshot() *placement.Snapshot { return o.buildSnapshot(nil) }

// buildSnapshot is snapshot, also calling inView (when set) inside the
// registry view the reservations were read from.
func (o *Origin) buildSnapshot(inView func(v *registry.View)) *placement.Snapshot {
	snap := &placement.Snapshot{}
	o.reg.State().View(func(v *registry.View) {
		if inView != nil {
			inView(v)
		}
		v.Nodes(func(n *registry.Node, use *registry.NodeUsage) {
			if n.Role != registry.RoleEdge {
				return
			}
			pn := placement.Node{
				ID: n.ID, Region: n.Region, Zone: n.Zone, Labels: n.Labels,
				Location: placement.Location{Lat: n.Lat, Lon: n.Lon, Known: n.HasLocation},
				State:    placementState(n.State), Draining: n.Draining,
				NICMbps: n.NICMbps, Revision: n.ResIndex,
			}
			for _, g := range n.GPUs {
				pg := placement.GPU{Index: int(g.Index), UUID: g.UUID, Model: g.Model, MemoryMB: g.MemoryMB}
				if use != nil {
					pg.ReservedMB, pg.Sessions = use.GPUMemoryMB[g.Index], int(use.GPUSessions[g.Index])
				}
				pn.GPUs = append(pn.GPUs, pg)
			}
			if use != nil {
				pn.ReservedEgressMbps = use.EgressMbps
			}
			snap.Nodes = append(snap.Nodes, pn)
		})
	})
	for i := range snap.Nodes {
		n := &snap.Nodes[i]
		if m, ok := o.pool.Member(n.ID); ok {
			n.Coordinate = m.Coord
			if !m.LoadAt.IsZero() {
				n.Load = placement.Load{EgressMbps: int64(m.Load.EgressBps / 1e6), Age: m.LoadAge()}
			}
		}
	}
	return snap
}

func placementState(s registry.NodeState) placement.NodeState {
	switch s {
	case registry.NodeAlive:
		return placement.StateAlive
	case registry.NodeSuspect:
		return placement.StateSuspect
	case registry.NodeDead:
		return placement.StateDead
	case registry.NodeLeft:
		return placement.StateLeft
	}
	return placement.StateUnknown
}

// capacityCollector reports reserved against total capacity per edge at
// scrape time, straight from the registry.
type capacityCollector struct{ o *Origin }

var (
	descCapEgress = prometheus.NewDesc("strata_placement_capacity_egress_mbps", "NIC egress capacity of an edge.", []string{"node", "region"}, nil)
	descResEgress = prometheus.NewDesc("strata_placement_reserved_egress_mbps", "Egress reserved by placed sessions on an edge.", []string{"node", "region"}, nil)
	descCapGPU    = prometheus.NewDesc("strata_placement_capacity_gpu_memory_mb", "GPU memory of an edge.", []string{"node", "region"}, nil)
	descResGPU    = prometheus.NewDesc("strata_placement_reserved_gpu_memory_mb", "GPU memory reserved by placed sessions on an edge.", []string{"node", "region"}, nil)

	// Region totals over alive, non-draining edges: what placement can
	// still use there, unlike a sum of the per-edge series.
	descRegionCapEgress = prometheus.NewDesc("strata_placement_region_capacity_egress_mbps", "NIC egress capacity of a region's placeable (alive, not draining) edges.", []string{"region"}, nil)
	descRegionResEgress = prometheus.NewDesc("strata_placement_region_reserved_egress_mbps", "Egress reserved on a region's placeable edges.", []string{"region"}, nil)
	descRegionCapGPU    = prometheus.NewDesc("strata_placement_region_capacity_gpu_memory_mb", "GPU memory of a region's placeable edges.", []string{"region"}, nil)
	descRegionResGPU    = prometheus.NewDesc("strata_placement_region_reserved_gpu_memory_mb", "GPU memory reserved on a region's placeable edges.", []string{"region"}, nil)
)

func (c *capacityCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- descCapEgress
	ch <- descResEgress
	ch <- descCapGPU
	ch <- descResGPU
	ch <- descRegionCapEgress
	ch <- descRegionResEgress
	ch <- descRegionCapGPU
	ch <- descRegionResGPU
}

func (c *capacityCollector) Collect(ch chan<- prometheus.Metric) {
	if c.o.reg == nil {
		return
	}
	type totals struct{ capEgress, resEgress, capGPU, resGPU int64 }
	regions := map[string]*totals{}
	c.o.reg.State().View(func(v *registry.View) {
		v.Nodes(func(n *registry.Node, use *registry.NodeUsage) {
			if n.Role != registry.RoleEdge {
				return
			}
			var capGPU, resGPU, resEgress int64
			for _, g := range n.GPUs {
				capGPU += g.MemoryMB
			}
			if use != nil {
				resEgress = use.EgressMbps
				for _, mb := range use.GPUMemoryMB {
					resGPU += mb
				}
			}
			ch <- prometheus.MustNewConstMetric(descCapEgress, prometheus.GaugeValue, float64(n.NICMbps), n.ID, n.Region)
			ch <- prometheus.MustNewConstMetric(descResEgress, prometheus.GaugeValue, float64(resEgress), n.ID, n.Region)
			ch <- prometheus.MustNewConstMetric(descCapGPU, prometheus.GaugeValue, float64(capGPU), n.ID, n.Region)
			ch <- prometheus.MustNewConstMetric(descResGPU, prometheus.GaugeValue, float64(resGPU), n.ID, n.Region)
			if n.State != registry.NodeAlive || n.Draining {
				return
			}
			r := regions[n.Region]
			if r == nil {
				r = &totals{}
				regions[n.Region] = r
			}
			r.capEgress += n.NICMbps
			r.resEgress += resEgress
			r.capGPU += capGPU
			r.resGPU += resGPU
		})
	})
	for region, r := range regions {
		ch <- prometheus.MustNewConstMetric(descRegionCapEgress, prometheus.GaugeValue, float64(r.capEgress), region)
		ch <- prometheus.MustNewConstMetric(descRegionResEgress, prometheus.GaugeValue, float64(r.resEgress), region)
		ch <- prometheus.MustNewConstMetric(descRegionCapGPU, prometheus.GaugeValue, float64(r.capGPU), region)
		ch <- prometheus.MustNewConstMetric(descRegionResGPU, prometheus.GaugeValue, float64(r.resGPU), region)
	}
}
