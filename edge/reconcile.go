package edge

import (
	"context"
	"log/slog"
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

// LogReconciler only logs what it is asked to run; it stands in until the
// session runtime exists.
type LogReconciler struct{ Log *slog.Logger }

var _ Reconciler = LogReconciler{}

// Reconcile logs the desired sessions.
func (r LogReconciler) Reconcile(_ context.Context, sessions []api.Session) error {
	log := r.Log
	if log == nil {
		log = slog.Default()
	}
	ids := make([]string, len(sessions))
	for i, s := range sessions {
		ids[i] = s.ID + ":" + string(s.State)
	}
	log.Info("assignments changed", "component", "edge", "sessions", ids)
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
