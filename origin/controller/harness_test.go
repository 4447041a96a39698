package controller

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/strata-edge/strata/registry"
	"github.com/strata-edge/strata/registry/gossip"
)

// harness is an in-memory world for the controllers: a registry.Memory
// that applies every command through the real FSM (quota and capacity
// checks included), a fake gossip pool, a settable clock, and a record of
// the commands applied and the placement kicks asked for. It implements
// every dependency interface of the package, so a test wires a controller
// to it directly and asserts on the registry state that results.
type harness struct {
	t   *testing.T
	mem *registry.Memory

	leader atomic.Bool
	kicks  atomic.Int64
	// listed counts reads of the whole pool: one per reconciler pass.
	listed atomic.Int64

	mu      sync.Mutex
	now     time.Time
	members map[string]gossip.Member
	applied []registry.Command
	// before, when set, runs ahead of each command's apply (outside mu):
	// a test interleaves a concurrent change there, making a decision
	// stale.
	before func(c registry.Command)
	events chan gossip.Event
}

var (
	_ Store      = (*harness)(nil)
	_ Leadership = (*harness)(nil)
	_ Live       = (*harness)(nil)
	_ Membership = (*harness)(nil)
	_ Kicker     = (*harness)(nil)
)

// epoch is the harness clock's start.
var epoch = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func newHarness(t *testing.T) *harness {
	t.Helper()
	h := &harness{t: t, mem: registry.NewMemory(), now: epoch, members: map[string]gossip.Member{}, events: make(chan gossip.Event, 16)}
	h.leader.Store(true)
	h.must(
		&registry.CreateTenant{Tenant: registry.Tenant{ID: "ten1", Name: "one", Meta: registry.Meta{CreatedAt: epoch}}},
	)
	return h
}

// --- the dependency interfaces -----------------------------------------------

func (h *harness) State() *registry.State { return h.mem.State() }

func (h *harness) Apply(ctx context.Context, c registry.Command) (any, error) {
	h.mu.Lock()
	h.applied = append(h.applied, c)
	before := h.before
	h.mu.Unlock()
	if before != nil {
		before(c)
	}
	return h.mem.Apply(ctx, c)
}

func (h *harness) IsLeader() bool { return h.leader.Load() }

func (h *harness) Kick() { h.kicks.Add(1) }

func (h *harness) Member(id string) (gossip.Member, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	m, ok := h.members[id]
	return m, ok
}

func (h *harness) Members() []gossip.Member {
	h.listed.Add(1)
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]gossip.Member, 0, len(h.members))
	for _, m := range h.members {
		out = append(out, m)
	}
	return out
}

func (h *harness) Events() <-chan gossip.Event { return h.events }

// Now is the harness clock.
func (h *harness) Now() time.Time {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.now
}

// --- fixtures and probes -------------------------------------------------------

// advance moves the clock on.
func (h *harness) advance(d time.Duration) {
	h.mu.Lock()
	h.now = h.now.Add(d)
	h.mu.Unlock()
}

// must applies commands that a test's setup needs to succeed, bypassing
// the record and the before hook.
func (h *harness) must(cmds ...registry.Command) {
	h.t.Helper()
	for _, c := range cmds {
		if _, err := h.mem.Apply(context.Background(), c); err != nil {
			h.t.Fatalf("setup %T: %v", c, err)
		}
	}
}

// app adds an app of tenant ten1 needing egress Mbit/s and no GPU, with
// the given restart and idle policies.
func (h *harness) app(id string, egress int64, restart, idle string) {
	h.t.Helper()
	h.must(&registry.CreateApp{App: registry.App{ID: id, TenantID: "ten1", Name: id, EgressMbps: egress,
		RestartPolicy: restart, IdlePolicy: idle, Meta: registry.Meta{CreatedAt: epoch}}})
}

// edge registers an alive edge with a NIC of nic Mbit/s and shows it
// alive in gossip.
func (h *harness) edge(id string, nic int64) {
	h.t.Helper()
	h.must(&registry.UpsertNode{Node: registry.Node{ID: id, Role: registry.RoleEdge, Region: "eu", NICMbps: nic, Meta: registry.Meta{CreatedAt: epoch}}})
	h.gossip(id, gossip.StateAlive, false)
}

// gossip sets what the fake pool says of a node.
func (h *harness) gossip(id string, st gossip.State, draining bool) {
	h.mu.Lock()
	h.members[id] = gossip.Member{Meta: gossip.Meta{ID: id, Role: gossip.RoleEdge, Draining: draining}, State: st}
	h.mu.Unlock()
}

// forget removes a node from the fake pool, as if never seen.
func (h *harness) forget(id string) {
	h.mu.Lock()
	delete(h.members, id)
	h.mu.Unlock()
}

// newSession is an unsaved session of app, sized like the app.
func (h *harness) newSession(id, app string) registry.Session {
	h.t.Helper()
	a, ok := h.State().App(app)
	if !ok {
		h.t.Fatalf("no app %s", app)
	}
	return registry.Session{ID: id, TenantID: a.TenantID, AppID: a.ID, EgressMbps: a.EgressMbps, Meta: registry.Meta{CreatedAt: epoch}}
}

// pending creates a pending session of app.
func (h *harness) pending(id, app string) {
	h.t.Helper()
	h.must(&registry.CreateSession{Session: h.newSession(id, app)})
}

// running creates a session of app and runs it on node.
func (h *harness) running(id, app, node string) {
	h.t.Helper()
	h.pending(id, app)
	s := h.session(id)
	h.must(
		&registry.PlaceSession{ID: id, Reservation: registry.Reservation{NodeID: node, EgressMbps: s.EgressMbps}, ExpectResIndex: h.node(node).ResIndex},
		&registry.SetSessionState{ID: id, State: registry.StateRunning, ExpectState: registry.StatePlaced},
	)
}

// lostEdgeFixture sets up two edges and, on e1, two running sessions:
// ses1 of app1 (default restart policy) and ses2 of once (never
// restarted).
func (h *harness) lostEdgeFixture() {
	h.t.Helper()
	h.app("app1", 10, "", "")
	h.app("once", 10, "never", "")
	h.edge("e1", 100)
	h.edge("e2", 100)
	h.running("ses1", "app1", "e1")
	h.running("ses2", "once", "e1")
}

// session returns a session that must exist.
func (h *harness) session(id string) *registry.Session {
	h.t.Helper()
	s, ok := h.State().Session(id)
	if !ok {
		h.t.Fatalf("no session %s", id)
	}
	return s
}

// node returns a node that must exist.
func (h *harness) node(id string) *registry.Node {
	h.t.Helper()
	n, ok := h.State().Node(id)
	if !ok {
		h.t.Fatalf("no node %s", id)
	}
	return n
}

// wantState fails unless session id is in state want (and, when node is
// set, reserved there).
func (h *harness) wantState(id string, want registry.SessionState, node string) {
	h.t.Helper()
	s := h.session(id)
	if s.State != want {
		h.t.Fatalf("session %s is %s (%s), want %s", id, s.State, s.Reason, want)
	}
	if node != "" && (s.Reservation == nil || s.Reservation.NodeID != node) {
		h.t.Fatalf("session %s reservation %+v, want on %s", id, s.Reservation, node)
	}
}

// commands returns the commands applied through the harness since the
// last call, by type name.
func (h *harness) commands() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []string
	for _, c := range h.applied {
		out = append(out, fmt.Sprintf("%T", c))
	}
	h.applied = nil
	return out
}

// placer returns a placer on the harness.
func (h *harness) placer() *Placer {
	h.t.Helper()
	p, err := NewPlacer(PlacerDeps{Store: h, Leader: h, Live: h, Now: h.Now})
	if err != nil {
		h.t.Fatal(err)
	}
	return p
}

// lifecycle returns a lifecycle controller on the harness, kicking the
// harness.
func (h *harness) lifecycle() *Lifecycle {
	h.t.Helper()
	l, err := NewLifecycle(LifecycleDeps{Store: h, Placement: h, Now: h.Now})
	if err != nil {
		h.t.Fatal(err)
	}
	return l
}

// run runs a controller until the test ends, failing the test if it
// returns an error.
func (h *harness) run(c Controller) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	h.t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			h.t.Errorf("%T.Run: %v", c, err)
		}
	})
}
