// Package controller holds the Raft leader's control loops: the placer,
// the node reconciler and the session lifecycle. Each is New(deps) plus
// Run(ctx) over small interfaces (the registry as a store, gossip's live
// view of the nodes), never the origin itself, so each can be tested in
// memory against a registry.Memory and a fake gossip view. A Supervisor
// runs them for each term of leadership.
package controller

import (
	"context"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/strata-edge/strata/internal/logging"
	"github.com/strata-edge/strata/registry"
)

// StateReader reads the replicated registry state (a local, stale read).
type StateReader interface {
	State() *registry.State
}

// Store is the registry as a controller sees it: the replicated state, and
// writes through the log. Apply fails with registry.ErrNotLeader off the
// leader.
type Store interface {
	StateReader
	Apply(ctx context.Context, c registry.Command) (any, error)
}

var (
	_ Store = (*registry.Registry)(nil)
	_ Store = (*registry.Memory)(nil)
)

// Controller is one leader loop: it runs until ctx ends (leadership lost
// or shutdown) and returns nil then; an error means it stopped early.
type Controller interface {
	Run(ctx context.Context) error
}

// Supervisor runs a fixed list of controllers for each term of leadership.
type Supervisor struct {
	log         *slog.Logger
	controllers []Controller
	// term is held for a whole term, so a new term's controllers start
	// only once the last term's have all returned: no controller ever
	// runs twice at once.
	term sync.Mutex
}

// NewSupervisor returns a supervisor of controllers, started in order.
func NewSupervisor(log *slog.Logger, controllers ...Controller) (*Supervisor, error) {
	for i, c := range controllers {
		if c == nil {
			return nil, fmt.Errorf("controller %d is nil", i)
		}
	}
	if log == nil {
		log = logging.Discard()
	}
	return &Supervisor{log: log.With("component", "leader"), controllers: controllers}, nil
}

// Run runs every controller until ctx ends, then waits for all of them to
// return. A controller that stops early is logged; the others go on.
func (s *Supervisor) Run(ctx context.Context) {
	s.term.Lock()
	defer s.term.Unlock()
	var wg sync.WaitGroup
	for _, c := range s.controllers {
		wg.Go(func() {
			err := c.Run(ctx)
			switch {
			case ctx.Err() != nil:
			case err != nil:
				s.log.Error("leader controller stopped", "controller", fmt.Sprintf("%T", c), "err", err)
			default:
				s.log.Warn("leader controller stopped early", "controller", fmt.Sprintf("%T", c))
			}
		})
	}
	wg.Wait()
}

// clock returns now, or time.Now when now is nil.
func clock(now func() time.Time) func() time.Time {
	if now == nil {
		return time.Now
	}
	return now
}

// logger returns log (or a discarding one) with the component field.
func logger(log *slog.Logger, component string) *slog.Logger {
	if log == nil {
		log = logging.Discard()
	}
	return log.With("component", component)
}

// truncate clips s to n bytes, marking the cut.
func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}
