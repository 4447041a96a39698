package registry

import (
	"context"
	"sort"
	"sync"

	"github.com/google/btree"

	"github.com/strata-edge/strata/placement"
)

// State is the registry's replicated data: the FSM applies commands to it
// and the API reads from it. Stored objects are immutable (see model.go), so
// readers get pointers they may keep.
type State struct {
	mu    sync.RWMutex
	index uint64 // last applied Raft index
	// changed is closed and replaced after every apply, waking blocking
	// queries.
	changed chan struct{}
	data    tables
	// Derived from data; rebuilt on restore, kept up to date by commands.
	nodeUse   map[string]*NodeUsage
	tenantUse map[string]*TenantUsage
	// pending orders sessions waiting for placement by the index that made
	// them pending, so the placer reads only what changed since its last
	// round instead of scanning every session.
	pending *btree.BTreeG[*Session]
	// capIndex is the Raft index of the last change that can free or add
	// capacity (node changes, released reservations).
	capIndex uint64
	// byNode holds the sessions with a reservation on each node, and
	// nodeSesIndex the Raft index of the last change to any of them: an
	// edge following its assignments reads and waits on its own sessions
	// only, instead of scanning every session under the lock and waking
	// on every write.
	byNode       map[string]map[string]*Session
	nodeSesIndex map[string]uint64
}

// tables are the stored objects by ID.
type tables struct {
	tenants     map[string]*Tenant
	keys        map[string]*APIKey
	apps        map[string]*App
	sessions    map[string]*Session
	nodes       map[string]*Node
	signingKeys map[string]*SigningKey
	cas         map[string]*ClusterCA
	joinTokens  map[string]*JoinToken
	// scaleDecisions are the autoscaler's recent decisions.
	scaleDecisions map[string]*ScaleDecision
}

func newTables() tables {
	return tables{
		tenants:        map[string]*Tenant{},
		keys:           map[string]*APIKey{},
		apps:           map[string]*App{},
		sessions:       map[string]*Session{},
		nodes:          map[string]*Node{},
		signingKeys:    map[string]*SigningKey{},
		cas:            map[string]*ClusterCA{},
		joinTokens:     map[string]*JoinToken{},
		scaleDecisions: map[string]*ScaleDecision{},
	}
}

// clone copies the maps (not the immutable objects) for a snapshot.
func (t *tables) clone() tables {
	return tables{
		tenants:        cloneMap(t.tenants),
		keys:           cloneMap(t.keys),
		apps:           cloneMap(t.apps),
		sessions:       cloneMap(t.sessions),
		nodes:          cloneMap(t.nodes),
		signingKeys:    cloneMap(t.signingKeys),
		cas:            cloneMap(t.cas),
		joinTokens:     cloneMap(t.joinTokens),
		scaleDecisions: cloneMap(t.scaleDecisions),
	}
}

func cloneMap[V any](m map[string]*V) map[string]*V {
	c := make(map[string]*V, len(m))
	for k, v := range m {
		c[k] = v
	}
	return c
}

// NodeUsage is the capacity reserved on a node by placed sessions.
type NodeUsage struct {
	// GPUMemoryMB is reserved memory per GPU index.
	GPUMemoryMB map[int64]int64
	// GPUSessions is the number of sessions per GPU index.
	GPUSessions map[int64]int64
	EgressMbps  int64
	Sessions    int64
}

// TenantUsage is what a tenant holds now, checked against its quota.
type TenantUsage struct {
	Sessions   int64 `json:"sessions"`
	GPUs       int64 `json:"gpus"`
	EgressMbps int64 `json:"egress_mbps"`
}

// NewState returns an empty state.
func NewState() *State {
	s := &State{changed: make(chan struct{})}
	s.reset(newTables(), 0)
	return s
}

// reset replaces all data and rebuilds the derived usage. Caller holds mu.
func (s *State) reset(t tables, index uint64) {
	s.data = t
	s.index = index
	s.nodeUse = map[string]*NodeUsage{}
	s.tenantUse = map[string]*TenantUsage{}
	s.pending = btree.NewG(32, pendingLess)
	s.capIndex = index
	s.byNode = map[string]map[string]*Session{}
	s.nodeSesIndex = map[string]uint64{}
	for _, ses := range t.sessions {
		s.account(ses, 1)
		s.indexByNode(nil, ses, index)
		if ses.State == StatePending {
			s.pending.ReplaceOrInsert(ses)
		}
	}
}

// account adds (sign=1) or removes (sign=-1) a session's holdings to the
// tenant and node usage.
func (s *State) account(ses *Session, sign int64) {
	if ses.State.Terminal() {
		return
	}
	tu := s.tenantUse[ses.TenantID]
	if tu == nil {
		tu = &TenantUsage{}
		s.tenantUse[ses.TenantID] = tu
	}
	// Checked sums: the FSM admits no usage that overflows, and a state
	// restored from elsewhere saturates rather than wrapping negative.
	tu.Sessions = placement.AddUsage(tu.Sessions, sign)
	tu.GPUs = placement.AddUsage(tu.GPUs, sign*ses.GPUs)
	tu.EgressMbps = placement.AddUsage(tu.EgressMbps, sign*ses.EgressMbps)
	r := ses.Reservation
	if r == nil {
		return
	}
	nu := s.nodeUse[r.NodeID]
	if nu == nil {
		nu = &NodeUsage{GPUMemoryMB: map[int64]int64{}, GPUSessions: map[int64]int64{}}
		s.nodeUse[r.NodeID] = nu
	}
	nu.EgressMbps = placement.AddUsage(nu.EgressMbps, sign*r.EgressMbps)
	nu.Sessions = placement.AddUsage(nu.Sessions, sign)
	for _, g := range r.GPUs {
		nu.GPUMemoryMB[g.Index] = placement.AddUsage(nu.GPUMemoryMB[g.Index], sign*g.MemoryMB)
		nu.GPUSessions[g.Index] = placement.AddUsage(nu.GPUSessions[g.Index], sign)
	}
}

// putSession stores next in place of prev (either may be nil), keeping
// usage consistent.
func (s *State) putSession(prev, next *Session) {
	idx := s.index + 1 // the entry being applied
	if next != nil {
		idx = next.ModifyIndex
	}
	s.indexByNode(prev, next, idx)
	if prev != nil {
		s.account(prev, -1)
		if prev.State == StatePending {
			s.pending.Delete(prev)
		}
	}
	if next != nil && next.State == StatePending {
		s.pending.ReplaceOrInsert(next)
	}
	if next != nil {
		s.account(next, 1)
		s.data.sessions[next.ID] = next
	} else if prev != nil {
		delete(s.data.sessions, prev.ID)
	}
}

// indexByNode moves a session between the per-node sets as its
// reservation changes, and records idx as the change index of every node
// it was or is on.
func (s *State) indexByNode(prev, next *Session, idx uint64) {
	if prev != nil && prev.Reservation != nil {
		id := prev.Reservation.NodeID
		delete(s.byNode[id], prev.ID)
		if len(s.byNode[id]) == 0 {
			delete(s.byNode, id)
		}
		s.nodeSesIndex[id] = max(s.nodeSesIndex[id], idx)
	}
	if next != nil && next.Reservation != nil {
		id := next.Reservation.NodeID
		m := s.byNode[id]
		if m == nil {
			m = map[string]*Session{}
			s.byNode[id] = m
		}
		m[next.ID] = next
		s.nodeSesIndex[id] = max(s.nodeSesIndex[id], idx)
	}
}

// WaitNodeSessions blocks until a session reserved on node (or one that
// just left it) changed after index after, or ctx ends, and returns the
// last applied index either way. It is WaitIndex for the per-node
// session lists edges follow: writes elsewhere do not wake them.
func (s *State) WaitNodeSessions(ctx context.Context, node string, after uint64) uint64 {
	for {
		s.mu.RLock()
		idx, nidx, ch := s.index, s.nodeSesIndex[node], s.changed
		s.mu.RUnlock()
		if nidx > after || after == 0 {
			return idx
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return idx
		}
	}
}

// notify wakes blocking queries. Caller holds mu for writing.
func (s *State) notify() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// Index returns the last applied Raft index.
func (s *State) Index() uint64 {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.index
}

// WaitIndex blocks until the state has applied an index greater than after,
// or ctx ends. It returns the current index either way: blocking queries
// answer with whatever is there when their wait runs out.
func (s *State) WaitIndex(ctx context.Context, after uint64) uint64 {
	for {
		s.mu.RLock()
		idx, ch := s.index, s.changed
		s.mu.RUnlock()
		if idx > after {
			return idx
		}
		select {
		case <-ch:
		case <-ctx.Done():
			return idx
		}
	}
}

// --- reads ------------------------------------------------------------------

// Tenant returns a tenant by ID.
func (s *State) Tenant(id string) (*Tenant, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	t, ok := s.data.tenants[id]
	return t, ok
}

// Tenants returns all tenants sorted by ID.
func (s *State) Tenants() []*Tenant {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return sortedValues(s.data.tenants, func(t *Tenant) string { return t.ID })
}

// TenantUsage returns what a tenant holds now.
func (s *State) TenantUsage(id string) TenantUsage {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if u := s.tenantUse[id]; u != nil {
		return *u
	}
	return TenantUsage{}
}

// APIKey returns a key by ID.
func (s *State) APIKey(id string) (*APIKey, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	k, ok := s.data.keys[id]
	return k, ok
}

// APIKeys returns the keys of a tenant ("" for keys of no tenant), sorted.
func (s *State) APIKeys(tenantID string) []*APIKey {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []*APIKey
	for _, k := range s.data.keys {
		if k.TenantID == tenantID {
			out = append(out, k)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// App returns an app by ID.
func (s *State) App(id string) (*App, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	a, ok := s.data.apps[id]
	return a, ok
}

// Apps returns a tenant's apps ("" for all), sorted by ID.
func (s *State) Apps(tenantID string) []*App {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var out []*App
	for _, a := range s.data.apps {
		if tenantID == "" || a.TenantID == tenantID {
			out = append(out, a)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// Session returns a session by ID.
func (s *State) Session(id string) (*Session, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	ses, ok := s.data.sessions[id]
	return ses, ok
}

// SessionFilter selects sessions; zero fields match everything.
type SessionFilter struct {
	TenantID string
	AppID    string
	NodeID   string
	Region   string
	State    SessionState
	// After is a pagination cursor: only IDs greater than it.
	After string
	// Limit caps the result; 0 means no cap.
	Limit int
}

func (f *SessionFilter) match(s *Session) bool {
	if f.TenantID != "" && s.TenantID != f.TenantID ||
		f.AppID != "" && s.AppID != f.AppID ||
		f.Region != "" && s.Region != f.Region ||
		f.State != 0 && s.State != f.State ||
		f.After != "" && s.ID <= f.After {
		return false
	}
	if f.NodeID != "" && (s.Reservation == nil || s.Reservation.NodeID != f.NodeID) {
		return false
	}
	return true
}

// Sessions returns matching sessions sorted by ID, and whether more match
// beyond the limit.
func (s *State) Sessions(f SessionFilter) ([]*Session, bool) {
	s.mu.RLock()
	all := s.data.sessions
	if f.NodeID != "" {
		all = s.byNode[f.NodeID] // a node filter matches only these
	}
	var out []*Session
	for _, ses := range all {
		if f.match(ses) {
			out = append(out, ses)
		}
	}
	s.mu.RUnlock()
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	if f.Limit > 0 && len(out) > f.Limit {
		return out[:f.Limit], true
	}
	return out, false
}

// CapacityIndex is the Raft index of the last change that could free or
// add capacity.
func (s *State) CapacityIndex() uint64 {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.capIndex
}

// pendingLess orders pending sessions by the index of their last change.
func pendingLess(a, b *Session) bool {
	if a.ModifyIndex != b.ModifyIndex {
		return a.ModifyIndex < b.ModifyIndex
	}
	return a.ID < b.ID
}

// PendingSessions returns the sessions waiting for placement that changed
// after index since (all of them when since is 0), oldest first, with the
// number pending in all and the capacity index: the Raft index of the last
// change that could make room. A session that found no capacity need not
// be tried again until the capacity index moves past the round that
// judged it.
func (s *State) PendingSessions(since uint64) (out []*Session, total int, capIndex uint64) {
	s.mu.RLock()
	capIndex = s.capIndex
	s.pending.AscendGreaterOrEqual(&Session{Meta: Meta{ModifyIndex: since + 1}}, func(ses *Session) bool {
		out = append(out, ses)
		return true
	})
	total = s.pending.Len()
	s.mu.RUnlock()
	// Oldest first by commit order: IDs carry the creating handler's clock,
	// which concurrent creates (and ones that tried an inline placement
	// first) commit out of.
	sort.Slice(out, func(i, j int) bool {
		if out[i].CreateIndex != out[j].CreateIndex {
			return out[i].CreateIndex < out[j].CreateIndex
		}
		return out[i].ID < out[j].ID
	})
	return out, total, capIndex
}

// PendingCount is the number of sessions waiting for placement. The
// leader places a synchronous create inline only when it is zero, so new
// sessions never overtake older pending ones.
func (s *State) PendingCount() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.pending.Len()
}

// Node returns a node by ID.
func (s *State) Node(id string) (*Node, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	n, ok := s.data.nodes[id]
	return n, ok
}

// Nodes returns all nodes sorted by ID.
func (s *State) Nodes() []*Node {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return sortedValues(s.data.nodes, func(n *Node) string { return n.ID })
}

// NodeUsage returns a copy of what is reserved on a node.
func (s *State) NodeUsage(id string) NodeUsage {
	s.mu.RLock()
	defer s.mu.RUnlock()
	u := s.nodeUse[id]
	if u == nil {
		return NodeUsage{}
	}
	c := NodeUsage{EgressMbps: u.EgressMbps, Sessions: u.Sessions,
		GPUMemoryMB: make(map[int64]int64, len(u.GPUMemoryMB)), GPUSessions: make(map[int64]int64, len(u.GPUSessions))}
	for k, v := range u.GPUMemoryMB {
		c.GPUMemoryMB[k] = v
	}
	for k, v := range u.GPUSessions {
		c.GPUSessions[k] = v
	}
	return c
}

// SigningKeys returns all token signing keys sorted by ID.
func (s *State) SigningKeys() []*SigningKey {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return sortedValues(s.data.signingKeys, func(k *SigningKey) string { return k.ID })
}

// ActiveSigningKey returns the key new tokens are signed with.
func (s *State) ActiveSigningKey() (*SigningKey, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	var best *SigningKey
	for _, k := range s.data.signingKeys {
		if k.Active && (best == nil || k.CreateIndex > best.CreateIndex) {
			best = k
		}
	}
	return best, best != nil
}

// View runs fn with a consistent read-only view of the tables, for callers
// (such as placement) that need several tables at one index.
func (s *State) View(fn func(v *View)) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	fn(&View{s: s})
}

// View is a read-only window onto the state, valid only inside State.View.
type View struct{ s *State }

// Index is the Raft index the view reflects.
func (v *View) Index() uint64 { return v.s.index }

// Nodes calls fn for every node, in no particular order.
func (v *View) Nodes(fn func(n *Node, use *NodeUsage)) {
	for id, n := range v.s.data.nodes {
		fn(n, v.s.nodeUse[id])
	}
}

// Session returns a session by ID.
func (v *View) Session(id string) (*Session, bool) {
	ses, ok := v.s.data.sessions[id]
	return ses, ok
}

// Tenant returns a tenant and its usage.
func (v *View) Tenant(id string) (*Tenant, TenantUsage, bool) {
	t, ok := v.s.data.tenants[id]
	var u TenantUsage
	if tu := v.s.tenantUse[id]; tu != nil {
		u = *tu
	}
	return t, u, ok
}

func sortedValues[V any](m map[string]*V, id func(*V) string) []*V {
	out := make([]*V, 0, len(m))
	for _, v := range m {
		out = append(out, v)
	}
	sort.Slice(out, func(i, j int) bool { return id(out[i]) < id(out[j]) })
	return out
}

// CheckQuota reports whether the tenant may add ses now. The FSM checks
// again when the session is created; this early check lets the API refuse
// without writing to the log.
func (s *State) CheckQuota(tenantID string, ses *Session) error {
	s.mu.RLock()
	defer s.mu.RUnlock()
	t, ok := s.data.tenants[tenantID]
	if !ok {
		return ErrNotFound
	}
	return checkQuota(t, s.tenantUse[tenantID], ses)
}
