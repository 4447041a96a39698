package controller

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/strata-edge/strata/api"
	"github.com/strata-edge/strata/registry"
)

// Kicker asks the placer for a round soon.
type Kicker interface {
	Kick()
}

var _ Kicker = (*Placer)(nil)

// LifecycleDeps are what the lifecycle controller works with.
type LifecycleDeps struct {
	Store Store
	// Placement is kicked when sessions go back to pending or capacity is
	// freed.
	Placement Kicker
	Log       *slog.Logger
	// Now is the clock for timestamps; nil means time.Now.
	Now func() time.Time
	// RestartBackoff and RestartBackoffMax shape the delay before a
	// failed session's next placement (see RestartDelay); zero means
	// DefaultRestartBackoff and DefaultRestartBackoffMax.
	RestartBackoff, RestartBackoffMax time.Duration
	// Rand draws the backoff's jitter in [0, 1); nil means math/rand.
	Rand func() float64
}

// Lifecycle applies the apps' policies to a session's life after
// placement: what an instance's exit means (restart_policy), what an idle
// session becomes (idle_policy), and what becomes of the sessions of an
// edge that died or left. Edge reports reach it through the API on the
// leader; lost nodes through NodeLost, released by Run in the background
// so a node with many sessions never stalls node reconciliation.
type Lifecycle struct {
	store Store
	place Kicker
	log   *slog.Logger
	now   func() time.Time
	rand  func() float64

	backoff, backoffMax time.Duration

	mu sync.Mutex
	// lost are nodes whose sessions wait to be released, with the state
	// they were lost in.
	lost map[string]registry.NodeState
	wake chan struct{}
}

// NewLifecycle returns the lifecycle controller.
func NewLifecycle(d LifecycleDeps) (*Lifecycle, error) {
	if d.Store == nil || d.Placement == nil {
		return nil, errors.New("lifecycle: Store and Placement are required")
	}
	l := &Lifecycle{
		store: d.Store, place: d.Placement, log: logger(d.Log, "lifecycle"), now: clock(d.Now), rand: d.Rand,
		backoff: cmp.Or(d.RestartBackoff, DefaultRestartBackoff), backoffMax: cmp.Or(d.RestartBackoffMax, DefaultRestartBackoffMax),
		lost: map[string]registry.NodeState{}, wake: make(chan struct{}, 1),
	}
	if l.rand == nil {
		l.rand = defaultRand
	}
	return l, nil
}

// ErrNoIdlePolicy means a session's app says nothing happens to it when
// idle.
var ErrNoIdlePolicy = errors.New("the app has no idle policy")

// maxPlacements bounds restarts after instance failures: a session whose
// instance keeps failing is placed at most this many times in all, then
// fails for good instead of looping.
const maxPlacements = 10

// AfterExit decides, per the app's restart policy, what becomes of a
// session whose instance ended on its own: never → failed; on-failure →
// terminated after a clean exit (code 0), placed again otherwise; always
// → placed again. Placing again goes through pending, so the placer may
// pick another edge.
func (l *Lifecycle) AfterExit(s *registry.Session, exitCode *int, reason string) (registry.SessionState, string) {
	// An app without a restart policy restarts on failure.
	policy := api.RestartOnFailure
	if a, ok := l.store.State().App(s.AppID); ok && a.RestartPolicy != "" {
		policy = api.RestartPolicy(a.RestartPolicy)
	}
	clean := exitCode != nil && *exitCode == 0
	switch {
	case policy == api.RestartNever:
		return registry.StateFailed, reason
	case policy == api.RestartOnFailure && clean:
		return registry.StateTerminated, "instance exited with status 0"
	case s.Placements >= maxPlacements:
		return registry.StateFailed, fmt.Sprintf("%s; not restarted after %d placements", reason, s.Placements)
	}
	return registry.StatePending, truncate("restarting (restart_policy "+string(policy)+") after: "+reason, 256)
}

// Report records what the session's edge observed of its instance:
// starting, running or failed. A failure goes through AfterExit first.
// The session must still be in the state the caller saw (s.State), so a
// report on a stale view is refused with registry.ErrConflict.
func (l *Lifecycle) Report(ctx context.Context, s *registry.Session, st registry.SessionState, exitCode *int, reason string) (*registry.Session, error) {
	now := l.now().UTC()
	var retryAt time.Time
	if st == registry.StateFailed {
		// The instance ended on its own: the app's restart policy says
		// whether the session fails, ends or is placed again, and the
		// backoff when it is placed again.
		st, reason = l.AfterExit(s, exitCode, reason)
		if st == registry.StatePending {
			delay := RestartDelay(s.Placements, l.backoff, l.backoffMax, l.rand())
			retryAt = now.Add(delay)
			reason = truncate(fmt.Sprintf("%s; next attempt in %s", reason, delay.Round(time.Millisecond)), 512)
		}
	}
	v, err := l.store.Apply(ctx, &registry.SetSessionState{
		ID: s.ID, State: st, ExpectState: s.State, Reason: reason, At: now, RetryAt: retryAt,
	})
	if err != nil {
		return nil, err
	}
	if st == registry.StatePending {
		l.log.Info("restarting session", "session", s.ID, "reason", reason, "retry_at", retryAt)
		l.place.Kick()
	}
	return v.(*registry.Session), nil
}

// Idle applies the app's idle policy to a running session that had no
// viewer for idle: hibernate or terminate. It fails with ErrNoIdlePolicy
// when the app has none.
func (l *Lifecycle) Idle(ctx context.Context, s *registry.Session, idle time.Duration) (*registry.Session, error) {
	policy := api.IdleNone
	if a, ok := l.store.State().App(s.AppID); ok {
		policy = api.IdlePolicy(a.IdlePolicy)
	}
	var next registry.SessionState
	switch policy {
	case api.IdleHibernate:
		next = registry.StateHibernated
	case api.IdleTerminate:
		next = registry.StateTerminated
	default:
		return nil, fmt.Errorf("session %s: %w", s.ID, ErrNoIdlePolicy)
	}
	v, err := l.store.Apply(ctx, &registry.SetSessionState{
		ID: s.ID, State: next, ExpectState: registry.StateRunning, At: l.now().UTC(),
		Reason: fmt.Sprintf("idle: no viewers for %s", idle),
	})
	if err != nil {
		return nil, err
	}
	l.log.Info("idle session", "session", s.ID, "now", next, "idle_seconds", int64(idle/time.Second))
	l.place.Kick()
	return v.(*registry.Session), nil
}

// NodeLost queues the release of the sessions of a node that died or
// left; Run releases them.
func (l *Lifecycle) NodeLost(nodeID string, state registry.NodeState) {
	l.mu.Lock()
	l.lost[nodeID] = state
	l.mu.Unlock()
	select {
	case l.wake <- struct{}{}:
	default:
	}
}

// Run releases the sessions of lost nodes until ctx ends.
func (l *Lifecycle) Run(ctx context.Context) error {
	for {
		l.releaseLost(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-l.wake:
		}
	}
}

// releaseLost releases the sessions of every node queued by NodeLost.
func (l *Lifecycle) releaseLost(ctx context.Context) {
	for ctx.Err() == nil {
		l.mu.Lock()
		var id string
		var state registry.NodeState
		for id, state = range l.lost {
			break
		}
		delete(l.lost, id)
		l.mu.Unlock()
		if id == "" {
			return
		}
		l.releaseNode(ctx, id, state)
	}
}

// releaseNode releases the sessions of a dead or departed node: back to
// pending (to be placed again) unless the app says never restart, in which
// case they fail. The placer picks pending sessions up.
func (l *Lifecycle) releaseNode(ctx context.Context, nodeID string, state registry.NodeState) {
	st := l.store.State()
	if n, ok := st.Node(nodeID); ok {
		if n.State != registry.NodeDead && n.State != registry.NodeLeft {
			return // back since it was reported lost: its sessions stay
		}
		state = n.State
	}
	sessions, _ := st.Sessions(registry.SessionFilter{NodeID: nodeID})
	now := l.now().UTC()
	for _, s := range sessions {
		if !holdsCapacity(s.State) {
			continue
		}
		next, reason := registry.StatePending, fmt.Sprintf("node %s %s; waiting to be placed again", nodeID, state)
		if a, ok := st.App(s.AppID); ok && api.RestartPolicy(a.RestartPolicy) == api.RestartNever {
			next, reason = registry.StateFailed, fmt.Sprintf("node %s %s", nodeID, state)
		}
		if _, err := l.store.Apply(ctx, &registry.SetSessionState{ID: s.ID, State: next, ExpectState: s.State, Reason: reason, At: now}); err != nil {
			l.log.Warn("release session of lost node", "session", s.ID, "node", nodeID, "err", err)
			continue
		}
		l.log.Info("session released from lost node", "session", s.ID, "node", nodeID, "now", next)
	}
	l.place.Kick()
}

// holdsCapacity reports whether a session in state s holds its edge.
func holdsCapacity(s registry.SessionState) bool {
	return s == registry.StatePlaced || s == registry.StateStarting || s == registry.StateRunning
}
