package edge

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/strata-edge/strata/api"
)

// Reconciler makes the instances on this edge match the sessions the
// registry places on it. It receives the full desired set on every change
// (level-triggered), so it must be idempotent; an error makes the edge
// hand it the same set again after a backoff.
type Reconciler interface {
	Reconcile(ctx context.Context, sessions []api.Session) error
}

// LogReconciler stands in for the session runtime on an edge that runs
// none (runtime.driver none, or an embedded edge without a state dir): it
// logs the sessions assigned here when that set changes, and warns once,
// at the first assignment, that they will not start here. The zero value
// is ready; it must not be copied after first use.
type LogReconciler struct {
	Log *slog.Logger

	mu     sync.Mutex
	last   string // the set last logged, to log changes only
	warned bool
}

var _ Reconciler = (*LogReconciler)(nil)

// Reconcile logs the desired sessions if they changed.
func (r *LogReconciler) Reconcile(_ context.Context, sessions []api.Session) error {
	log := r.Log
	if log == nil {
		log = slog.Default()
	}
	ids := make([]string, len(sessions))
	for i, s := range sessions {
		ids[i] = s.ID + ":" + string(s.State)
	}
	slices.Sort(ids)
	key := strings.Join(ids, ",")
	r.mu.Lock()
	changed, warn := key != r.last, !r.warned && len(ids) > 0
	r.last = key
	r.warned = r.warned || warn
	r.mu.Unlock()
	if warn {
		log.Warn("sessions are placed on this edge but it runs none: they stay placed and never start; " +
			"run the edge with the process runtime (runtime.driver process, the default of strata edge) " +
			"or keep GPU sessions off it (--gpus none)")
	}
	if changed {
		log.Info("assignments changed", "sessions", ids)
	}
	return nil
}

// follow runs blocking queries for this node's sessions against any origin
// and hands every change to the reconciler, in index order, until ctx ends.
// An index that goes backwards (an origin restored from an older snapshot,
// or a lagging replica after failover) restarts from zero so nothing is
// missed; errors back off and retry, and a failed reconcile is retried
// with the then-current set.
func (e *Edge) follow(ctx context.Context) {
	var index uint64 // last index handed to the reconciler; 0: none yet
	bo := newBackoff(100*time.Millisecond, 5*time.Second)
	for ctx.Err() == nil {
		sessions, idx, err := assignments(ctx, e.api, e.cfg.NodeID, index, e.cfg.AssignmentWait)
		if err != nil {
			if ctx.Err() != nil {
				return
			}
			e.log.Warn("assignment query failed; retrying", "err", err, "retry_in", bo.peek())
			bo.wait(ctx)
			continue
		}
		switch {
		case idx == 0:
			// No index from the origin: it cannot block, so poll.
			e.log.Warn("origin answered without X-Strata-Index; polling", "retry_in", bo.peek())
			if err := e.rec.Reconcile(ctx, sessions); err != nil && ctx.Err() == nil {
				e.log.Warn("reconcile failed; retrying", "err", err)
			}
			bo.wait(ctx)
			continue
		case idx < index:
			e.log.Info("registry index went backwards; re-reading assignments", "from", index, "to", idx)
			index = 0
			continue
		case idx == index:
			continue // wait elapsed without a change
		}
		if err := e.rec.Reconcile(ctx, sessions); err != nil {
			if ctx.Err() != nil {
				return
			}
			e.log.Warn("reconcile failed; retrying", "err", err, "index", idx)
			bo.wait(ctx) // index not advanced: the next query answers at once
			continue
		}
		index = idx
		bo.reset()
	}
}

// backoff is exponential with a cap; wait returns early when ctx ends.
type backoff struct {
	min, max, next time.Duration
}

func newBackoff(lo, hi time.Duration) *backoff { return &backoff{min: lo, max: hi, next: lo} }

func (b *backoff) peek() time.Duration { return b.next }
func (b *backoff) reset()              { b.next = b.min }

func (b *backoff) wait(ctx context.Context) {
	t := time.NewTimer(b.next)
	defer t.Stop()
	b.next = min(2*b.next, b.max)
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// refusingReconciler stands in for a runtime this edge cannot run (the
// default one failed to start) or was told not to (runtime.driver none):
// it reports each session placed here failed, once per placement, with
// why and what to change, so the control plane applies the app's restart
// policy (and its backoff) instead of the session staying placed.
type refusingReconciler struct {
	node, why string
	api       *api.Client
	log       *slog.Logger

	mu       sync.Mutex
	reported map[string]uint64 // session → the ModifyIndex reported failed
}

var _ Reconciler = (*refusingReconciler)(nil)

// Reconcile reports the sessions newly placed here failed.
func (r *refusingReconciler) Reconcile(ctx context.Context, sessions []api.Session) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.reported == nil {
		r.reported = map[string]uint64{}
	}
	here := map[string]bool{}
	for _, s := range sessions {
		if s.State != api.StatePlaced || s.Reservation == nil || s.Reservation.NodeID != r.node {
			continue
		}
		here[s.ID] = true
		if r.reported[s.ID] == s.ModifyIndex {
			continue
		}
		_, err := r.api.Sessions().ReportState(ctx, s.ID, api.SessionStateReport{NodeID: r.node, State: api.StateFailed, Reason: r.why})
		if st := api.StatusOf(err); err != nil && (st < 400 || st >= 500 || st == http.StatusTooManyRequests) {
			return fmt.Errorf("report session %s failed: %w", s.ID, err) // the follower retries
		}
		r.reported[s.ID] = s.ModifyIndex
		r.log.Warn("session placed on this edge, which runs none: reported failed", "session", s.ID)
	}
	for id := range r.reported {
		if !here[id] {
			delete(r.reported, id)
		}
	}
	return nil
}
