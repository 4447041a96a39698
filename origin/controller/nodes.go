package controller

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/strata-edge/strata/registry"
	"github.com/strata-edge/strata/registry/gossip"
)

// Membership is gossip's view of every node, and a stream of its changes.
type Membership interface {
	Members() []gossip.Member
	// Events delivers membership changes; it is closed when the pool
	// shuts down.
	Events() <-chan gossip.Event
}

var _ Membership = (*gossip.Pool)(nil)

// LostNodes is told about nodes that died or left while holding sessions.
type LostNodes interface {
	NodeLost(nodeID string, state registry.NodeState)
}

var _ LostNodes = (*Lifecycle)(nil)

// NodesDeps are what the node reconciler works with.
type NodesDeps struct {
	Store   Store
	Members Membership
	// Lost releases the sessions of nodes that died or left.
	Lost LostNodes
	// Self is this origin's node ID: alive by definition while it leads.
	Self string
	Log  *slog.Logger
	// Now is the clock for timestamps and the absent grace; nil means
	// time.Now.
	Now func() time.Time
}

// Nodes reconciles gossip into the registry on the leader: each node's
// liveness (alive, suspect, dead, left) and drain flag, and the sessions
// of nodes lost. Level-triggered: it compares whole states each pass, so
// missed events cost nothing.
type Nodes struct {
	store   Store
	members Membership
	lost    LostNodes
	self    string
	log     *slog.Logger
	now     func() time.Time
}

// NewNodes returns the node reconciler.
func NewNodes(d NodesDeps) (*Nodes, error) {
	if d.Store == nil || d.Members == nil || d.Lost == nil {
		return nil, errors.New("nodes: Store, Members and Lost are required")
	}
	return &Nodes{store: d.Store, members: d.Members, lost: d.Lost, self: d.Self, log: logger(d.Log, "nodes"), now: clock(d.Now)}, nil
}

// absentGrace is how long a leader waits before declaring a registered
// node that it never saw in gossip dead (it may still be joining).
const absentGrace = 10 * time.Second

// reconcileEvery is the pass interval when gossip reports no change.
const reconcileEvery = 250 * time.Millisecond

// Run reconciles until ctx ends, or the gossip pool shuts down.
func (n *Nodes) Run(ctx context.Context) error {
	since := n.now()
	t := time.NewTicker(reconcileEvery)
	defer t.Stop()
	events := n.members.Events()
	for {
		n.reconcile(ctx, n.now().Sub(since) > absentGrace)
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		case _, ok := <-events:
			if !ok {
				return nil // the pool is shutting down
			}
		}
	}
}

// reconcile is one pass. judgeAbsent lets it declare dead an alive edge
// gossip has never shown.
func (n *Nodes) reconcile(ctx context.Context, judgeAbsent bool) {
	members := map[string]gossip.Member{}
	for _, m := range n.members.Members() {
		members[m.Meta.ID] = m
	}
	now := n.now().UTC()
	st := n.store.State()
	for _, node := range st.Nodes() {
		if node.ID == n.self || ctx.Err() != nil {
			continue // the leader is alive by definition while it leads
		}
		m, ok := members[node.ID]
		want, reason := node.State, node.Reason
		draining := node.Draining
		switch {
		case ok:
			want = gossipState(m.State)
			draining = draining || m.Meta.Draining
			reason = "gossip: " + m.State.String()
		case node.Role == registry.RoleEdge && judgeAbsent && node.State == registry.NodeAlive:
			want, reason = registry.NodeDead, "not seen in gossip"
		}
		lost := want == registry.NodeDead || want == registry.NodeLeft
		if want == node.State && draining == node.Draining {
			if lost && holdsSessions(st, node.ID) {
				n.lost.NodeLost(node.ID, want)
			}
			continue
		}
		if _, err := n.store.Apply(ctx, &registry.SetNodeState{ID: node.ID, State: want, Draining: draining, Reason: reason, At: now}); err != nil {
			n.log.Warn("record node state", "node", node.ID, "state", want, "err", err)
			continue
		}
		n.log.Info("node state", "node", node.ID, "role", node.Role, "state", want, "draining", draining)
		if lost {
			n.lost.NodeLost(node.ID, want)
		}
	}
}

// holdsSessions reports whether a session still holds capacity on node.
func holdsSessions(st *registry.State, nodeID string) bool {
	l, _ := st.Sessions(registry.SessionFilter{NodeID: nodeID, Limit: 1})
	for _, s := range l {
		if holdsCapacity(s.State) {
			return true
		}
	}
	return false
}

// gossipState maps a gossip liveness to the registry's node state.
func gossipState(s gossip.State) registry.NodeState {
	switch s {
	case gossip.StateSuspect:
		return registry.NodeSuspect
	case gossip.StateDead:
		return registry.NodeDead
	case gossip.StateLeft:
		return registry.NodeLeft
	}
	return registry.NodeAlive
}
