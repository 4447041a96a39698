package controller

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/strata-edge/strata/placement"
	"github.com/strata-edge/strata/registry"
)

// Leadership says whether this origin leads the registry now.
type Leadership interface {
	IsLeader() bool
}

var _ Leadership = (*registry.Registry)(nil)

// PlacerDeps are what the placer works with.
type PlacerDeps struct {
	Store Store
	// Leader gates the inline create path: only the leader decides.
	Leader Leadership
	// Live is gossip's live load and coordinates; nil means none.
	Live Live
	// Metrics receives the placement metrics; nil registers nothing.
	Metrics prometheus.Registerer
	Log     *slog.Logger
	// Now is the clock for timestamps and the inline view's age; nil
	// means time.Now.
	Now func() time.Time
}

// Placer runs on the Raft leader. Each round it builds one placement
// snapshot from the registry (authoritative reservations) and gossip
// (advisory live load), places every pending session oldest first, and
// commits the decisions through Raft concurrently so they batch into few
// log writes. The FSM re-checks capacity, so a decision made on a view
// that went stale is refused, never overbooked; the session simply stays
// pending for the next round.
type Placer struct {
	store  Store
	leader Leadership
	live   Live
	log    *slog.Logger
	now    func() time.Time
	kick   chan struct{}

	// round is held for a whole round, so rounds never overlap (a new
	// term may start while the last one's round ends) and seen/seenCap
	// have one writer at a time.
	round sync.Mutex
	// seen is the registry index up to which pending sessions have been
	// judged at capacity index seenCap; sessions unchanged since and
	// without room are not tried again until capacity changes.
	seen, seenCap uint64
	// backingOff are pending sessions whose restart backoff had not
	// passed when a round saw them, by the time it passes; a round after
	// that time tries them whether or not they changed since.
	backingOff map[string]time.Time

	mu        sync.Mutex
	completed uint64 // rounds finished
	started   uint64 // rounds begun
	changed   chan struct{}
	// reasons remembers the last no-capacity reason written per session,
	// so a waiting session costs no log write per round.
	reasons map[string]string

	inline inlineState

	decisions *prometheus.CounterVec
	latency   prometheus.Histogram
}

// NewPlacer returns a placer and registers its metrics.
func NewPlacer(d PlacerDeps) (*Placer, error) {
	if d.Store == nil || d.Leader == nil {
		return nil, errors.New("placer: Store and Leader are required")
	}
	p := &Placer{
		store: d.Store, leader: d.Leader, live: d.Live, log: logger(d.Log, "placer"), now: clock(d.Now),
		kick: make(chan struct{}, 1), changed: make(chan struct{}), reasons: map[string]string{}, backingOff: map[string]time.Time{},
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
	if d.Metrics == nil {
		return p, nil
	}
	// Read from the replicated state at scrape time, so every origin (not
	// only the leader, nor a former leader's last round) reports it.
	pending := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "strata_placement_pending_sessions",
		Help: "Sessions waiting for capacity.",
	}, func() float64 { return float64(d.Store.State().PendingCount()) })
	for _, c := range []prometheus.Collector{p.decisions, p.latency, pending} {
		if err := d.Metrics.Register(c); err != nil {
			return nil, fmt.Errorf("placer metrics: %w", err)
		}
	}
	return p, nil
}

// Kick asks for a round soon (on the leader; elsewhere it is kept for
// the next term).
func (p *Placer) Kick() {
	select {
	case p.kick <- struct{}{}:
	default:
	}
}

// Snapshot is the placement view now: registry reservations plus gossip.
func (p *Placer) Snapshot() *placement.Snapshot { return Snapshot(p.store.State(), p.live, nil) }

// Run places pending sessions until ctx (leadership) ends.
func (p *Placer) Run(ctx context.Context) error {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	due := time.NewTimer(time.Hour)
	defer due.Stop()
	for {
		// A round wakes again when the first backoff it saw ends.
		if next := p.placeRound(ctx); !next.IsZero() {
			due.Reset(max(next.Sub(p.now()), time.Millisecond))
		}
		select {
		case <-ctx.Done():
			return nil
		case <-due.C:
		case <-p.kick:
			// Coalesce bursts of kicks into one round.
			select {
			case <-ctx.Done():
				return nil
			case <-time.After(2 * time.Millisecond):
			}
		case <-t.C:
		}
	}
}

// WaitRound waits for a full round that began after the call, so the
// caller's session has been considered. It reports false when ctx ended
// first.
func (p *Placer) WaitRound(ctx context.Context) bool {
	p.mu.Lock()
	target := p.started + 1
	p.mu.Unlock()
	p.Kick()
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

// placeRound is one round: decide on every pending session that may have
// room and whose restart backoff has passed, commit the decisions
// concurrently, and record why the others wait. It returns when the
// earliest backoff still running ends (zero: none).
func (p *Placer) placeRound(ctx context.Context) (nextDue time.Time) {
	p.round.Lock()
	defer p.round.Unlock()
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
	st := p.store.State()
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
	now := p.now().UTC()
	pending, nextDue = p.backOff(st, pending, now)
	if len(pending) == 0 {
		return nextDue
	}
	snap := Snapshot(st, p.live, nil)
	if err := snap.Prepare(); err != nil {
		p.log.Error("placement snapshot", "err", err)
		return
	}
	type commit struct {
		ses *registry.Session
		cmd *registry.PlaceSession
	}
	var commits []commit
	notes := map[string][]string{} // reason → sessions
	for _, s := range pending {
		start := time.Now()
		d, err := placeSession(snap, requestFor(st, s), s.VolumeNode)
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
	var retryMu sync.Mutex
	retry := false
	for _, c := range commits {
		wg.Go(func() {
			_, err := p.store.Apply(ctx, c.cmd)
			switch {
			case err == nil:
				p.decisions.WithLabelValues("placed").Inc()
				p.mu.Lock()
				delete(p.reasons, c.ses.ID)
				p.mu.Unlock()
			case errors.Is(err, registry.ErrStaleDecision), errors.Is(err, registry.ErrNoCapacity):
				p.decisions.WithLabelValues("stale").Inc()
				retryMu.Lock()
				retry = true
				retryMu.Unlock()
			default:
				p.decisions.WithLabelValues("error").Inc()
				if !errors.Is(err, registry.ErrInvalidTransition) {
					p.log.Warn("commit placement", "session", c.ses.ID, "err", err)
				}
			}
		})
	}
	for reason, ids := range notes {
		wg.Go(func() {
			_, _ = p.store.Apply(ctx, &registry.NotePending{Reason: reason, IDs: ids, At: now})
		})
	}
	wg.Wait()
	if retry {
		p.seen = 0 // look again at everything next round
		p.Kick()
	}
	return nextDue
}

// backOff takes the sessions still in their restart backoff out of a
// round's pending list, remembering when each may be tried, and adds the
// remembered ones whose backoff has passed (and that still wait), oldest
// first. It returns the list and the earliest backoff left (zero: none).
// Caller holds p.round.
func (p *Placer) backOff(st *registry.State, pending []*registry.Session, now time.Time) ([]*registry.Session, time.Time) {
	out := pending[:0:0]
	listed := map[string]bool{}
	for _, s := range pending {
		listed[s.ID] = true
		if s.RetryAt.After(now) {
			p.backingOff[s.ID] = s.RetryAt
			continue
		}
		delete(p.backingOff, s.ID)
		out = append(out, s)
	}
	added := false
	var next time.Time
	for id, at := range p.backingOff {
		if at.After(now) {
			if next.IsZero() || at.Before(next) {
				next = at
			}
			continue
		}
		delete(p.backingOff, id)
		if s, ok := st.Session(id); ok && !listed[id] && s.State == registry.StatePending && !s.RetryAt.After(now) {
			out, added = append(out, s), true
		}
	}
	if added {
		slices.SortFunc(out, func(a, b *registry.Session) int {
			return cmp.Or(cmp.Compare(a.CreateIndex, b.CreateIndex), cmp.Compare(a.ID, b.ID))
		})
	}
	return out, next
}

// noteWaiting returns why a session is still pending and whether that
// reason is new (needs recording).
func (p *Placer) noteWaiting(s *registry.Session, err error) (string, bool) {
	reason := waitingReason(s, err)
	p.mu.Lock()
	same := p.reasons[s.ID] == reason || s.Reason == reason
	p.reasons[s.ID] = reason
	p.mu.Unlock()
	return reason, !same
}

// outcome is the metric label of a failed decision.
func outcome(err error) string {
	switch {
	case errors.Is(err, placement.ErrNoCapacity):
		return "no_capacity"
	case errors.Is(err, placement.ErrQuotaExceeded):
		return "quota"
	}
	return "error"
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

// CreatePlaced creates s placed on an edge in one log entry when this
// origin leads, no older session waits for capacity (so a new create never
// overtakes them), and the cached view has room. It returns nil, nil when
// it did not try; the caller then creates the session pending and waits
// for the placer. A returned session may be pending when the FSM found the
// decision stale.
func (p *Placer) CreatePlaced(ctx context.Context, s registry.Session) (*registry.Session, error) {
	st := p.store.State()
	if !p.leader.IsLeader() || st.PendingCount() > 0 {
		return nil, nil
	}
	in := &p.inline
	in.mu.Lock()
	if err := p.refreshInline(st); err != nil {
		in.mu.Unlock()
		p.log.Error("placement snapshot", "err", err)
		return nil, nil
	}
	start := time.Now()
	d, err := placement.Place(in.snap, requestFor(st, &s))
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

	v, err := p.store.Apply(ctx, &registry.CreatePlacedSession{Session: s, Reservation: toReservation(d)})
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
func (p *Placer) refreshInline(st *registry.State) error {
	in := &p.inline
	capIdx := st.CapacityIndex()
	now := p.now()
	age := now.Sub(in.built)
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
	snap := Snapshot(st, p.live, func(v *registry.View) {
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
		if i, ok := snap.NodeIndex(d.NodeID); ok {
			d.Revision = snap.Nodes[i].Revision
			// A refusal here means the node can no longer take it; the
			// FSM will refuse the entry the same way.
			_ = snap.Apply(d)
		}
	}
	in.snap, in.capIdx, in.built = snap, capIdx, now
	return nil
}
