package registry

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/go-hclog"
	"github.com/hashicorp/raft"
	raftboltdb "github.com/hashicorp/raft-boltdb/v2"
	raftwal "github.com/hashicorp/raft-wal"
	"github.com/hashicorp/raft-wal/metadb"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/strata-edge/strata/internal/fsperm"
	"github.com/strata-edge/strata/internal/logging"
)

// Config configures one origin's Raft member.
type Config struct {
	// NodeID is this server's stable Raft ID.
	NodeID string
	// DataDir holds the log store, snapshots and stable state.
	DataDir string
	// Bind is the TCP address Raft listens on; Advertise is the address
	// peers dial (defaults to the bound address).
	Bind      string
	Advertise string
	// LogStore is "wal" (raft-wal, default) or "boltdb" (raft-boltdb/v2).
	// Both fsync every append.
	LogStore string
	// Profile picks timeout defaults: "lan" (fast failover) or "wan".
	Profile string
	// Timeouts; zero takes the profile's value.
	HeartbeatTimeout   time.Duration
	ElectionTimeout    time.Duration
	LeaderLeaseTimeout time.Duration
	CommitTimeout      time.Duration
	// Snapshot policy; zero takes the default.
	SnapshotThreshold uint64
	SnapshotInterval  time.Duration
	TrailingLogs      uint64
	// Bootstrap makes this server the first voter of a new cluster when it
	// has no Raft state yet.
	Bootstrap bool
}

// Deps are a Registry's collaborators.
type Deps struct {
	// OnLeader runs each time this server becomes leader, after its log is
	// applied; ctx ends when leadership is lost or the registry closes.
	OnLeader func(ctx context.Context)
	// WrapStream lets tests interpose on Raft's network (partitions).
	WrapStream func(raft.StreamLayer) raft.StreamLayer
	// TLS, when set, runs Raft over mutual TLS: ServerTLS for accepted
	// connections, ClientTLS for dialed ones. Both must refuse peers that
	// are not origins of this cluster. Nil is plaintext (benchmarks).
	ServerTLS, ClientTLS *tls.Config
	Logger               *slog.Logger          // nil discards
	Metrics              prometheus.Registerer // nil: a private registry
}

// Profile timeouts. LAN aims at sub-second unplanned failover: followers
// notice a silent leader after 1–2 heartbeat timeouts and elect at once.
// 300 ms rather than lower because a leader steps down when it has not
// heard from a quorum within the lease: on a busy host, shorter leases
// made leaders flap under load.
var profiles = map[string]struct{ heartbeat, election, lease, commit time.Duration }{
	"lan": {heartbeat: 300 * time.Millisecond, election: 300 * time.Millisecond, lease: 300 * time.Millisecond, commit: 5 * time.Millisecond},
	"wan": {heartbeat: 1000 * time.Millisecond, election: 1000 * time.Millisecond, lease: 500 * time.Millisecond, commit: 20 * time.Millisecond},
}

// Validate checks the configuration, naming the bad key.
func (c *Config) Validate() error {
	switch {
	case c.NodeID == "":
		return fmt.Errorf("%w: node_id is required", ErrInvalid)
	case c.DataDir == "":
		return fmt.Errorf("%w: data_dir is required", ErrInvalid)
	case c.Bind == "":
		return fmt.Errorf("%w: raft.bind is required", ErrInvalid)
	}
	switch c.LogStore {
	case "", "wal", "boltdb":
	default:
		return fmt.Errorf("%w: raft.log_store %q: want wal or boltdb", ErrInvalid, c.LogStore)
	}
	if _, ok := profiles[c.profile()]; !ok {
		return fmt.Errorf("%w: raft.profile %q: want lan or wan", ErrInvalid, c.Profile)
	}
	return nil
}

func (c *Config) profile() string {
	if c.Profile == "" {
		return "lan"
	}
	return c.Profile
}

// Registry is one origin's view of the replicated registry: its Raft
// member, the FSM's State, and the leader-only operations.
type Registry struct {
	cfg       Config
	deps      Deps
	raft      *raft.Raft
	state     *State
	transport *raft.NetworkTransport
	closers   []func() error
	log       *slog.Logger
	metrics   *metrics
	// ready is true while this server is leader and has applied everything
	// committed before it took over (so lease/consistent reads are safe).
	ready   atomic.Bool
	stop    chan struct{}
	wg      sync.WaitGroup
	closeMu sync.Mutex
	closed  bool
}

// New starts the Raft member; Close stops it. With Bootstrap set and no
// prior state it forms a single-voter cluster.
func New(cfg Config, deps Deps) (*Registry, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if deps.Logger == nil {
		deps.Logger = logging.Discard()
	}
	if deps.Metrics == nil {
		deps.Metrics = prometheus.NewRegistry()
	}
	r := &Registry{cfg: cfg, deps: deps, state: NewState(), log: deps.Logger.With("component", "registry"), stop: make(chan struct{})}
	if err := r.open(); err != nil {
		r.closeAll()
		return nil, err
	}
	return r, nil
}

func (r *Registry) open() error {
	cfg := &r.cfg
	if err := fsperm.MkdirAll(cfg.DataDir); err != nil {
		return fmt.Errorf("data_dir: %w", err)
	}
	m, err := newMetrics(r.deps.Metrics, r)
	if err != nil {
		return err
	}
	r.metrics = m
	logs, stable, err := openLogStore(cfg.LogStore, filepath.Join(cfg.DataDir, "raft"))
	if err != nil {
		return err
	}
	r.closers = append(r.closers, logs.Close)
	hlog := hclog.New(&hclog.LoggerOptions{Name: "raft", Output: logging.WriterLeveled(r.deps.Logger.With("component", "raft"), raftLevel), Level: hclog.Info})
	snaps, err := openSnapshots(filepath.Join(cfg.DataDir, "snapshots"), hlog)
	if err != nil {
		return err
	}
	// Files an older version left with wider modes are narrowed too.
	if err := fsperm.Restrict(cfg.DataDir); err != nil {
		return fmt.Errorf("data_dir: %w", err)
	}
	ln, err := net.Listen("tcp", cfg.Bind)
	if err != nil {
		return fmt.Errorf("raft.bind %s: %w", cfg.Bind, err)
	}
	adv := cfg.Advertise
	if adv == "" {
		adv = ln.Addr().String()
	}
	advAddr, err := net.ResolveTCPAddr("tcp", adv)
	if err != nil {
		ln.Close()
		return fmt.Errorf("raft.advertise %s: %w", adv, err)
	}
	var stream raft.StreamLayer = &tcpStream{ln: ln, adv: advAddr, server: r.deps.ServerTLS, client: r.deps.ClientTLS}
	if r.deps.WrapStream != nil {
		stream = r.deps.WrapStream(stream)
	}
	r.transport = raft.NewNetworkTransportWithConfig(&raft.NetworkTransportConfig{
		Stream: stream, MaxPool: 5, Timeout: 2 * time.Second, Logger: hlog,
	})
	r.closers = append(r.closers, r.transport.Close)

	p := profiles[cfg.profile()]
	rc := raft.DefaultConfig()
	rc.LocalID = raft.ServerID(cfg.NodeID)
	rc.Logger = hlog
	rc.HeartbeatTimeout = pick(cfg.HeartbeatTimeout, p.heartbeat)
	rc.ElectionTimeout = pick(cfg.ElectionTimeout, p.election)
	rc.LeaderLeaseTimeout = pick(cfg.LeaderLeaseTimeout, p.lease)
	rc.CommitTimeout = pick(cfg.CommitTimeout, p.commit)
	if rc.LeaderLeaseTimeout > rc.HeartbeatTimeout {
		rc.LeaderLeaseTimeout = rc.HeartbeatTimeout
	}
	// BatchApplyCh stays off: with it, futures still buffered when Raft
	// shuts down are never answered and their callers hang. The leader
	// loop group-commits concurrent applies without it.
	rc.BatchApplyCh = false
	rc.MaxAppendEntries = 1024
	rc.SnapshotThreshold = pickU(cfg.SnapshotThreshold, 16384)
	rc.SnapshotInterval = pick(cfg.SnapshotInterval, 60*time.Second)
	rc.TrailingLogs = pickU(cfg.TrailingLogs, 10240)
	notify := make(chan bool, 16)
	rc.NotifyCh = notify

	f := &fsm{state: r.state, observe: m.observeApply}
	if cfg.Bootstrap {
		has, err := raft.HasExistingState(logs, stable, snaps)
		if err != nil {
			return fmt.Errorf("read raft state: %w", err)
		}
		if !has {
			conf := raft.Configuration{Servers: []raft.Server{{ID: rc.LocalID, Address: r.transport.LocalAddr(), Suffrage: raft.Voter}}}
			if err := raft.BootstrapCluster(rc, logs, stable, snaps, r.transport, conf); err != nil {
				return fmt.Errorf("bootstrap: %w", err)
			}
		}
	}
	// Followers are fed from memory: without the cache the leader reads
	// every entry back from the WAL (a pread each) to replicate it.
	cached, err := raft.NewLogCache(8192, logs)
	if err != nil {
		return fmt.Errorf("raft log cache: %w", err)
	}
	ra, err := raft.NewRaft(rc, f, cached, stable, snaps, r.transport)
	if err != nil {
		return fmt.Errorf("start raft: %w", err)
	}
	r.raft = ra
	r.wg.Add(1)
	go r.watchLeadership(notify)
	return nil
}

func pick(v, def time.Duration) time.Duration {
	if v > 0 {
		return v
	}
	return def
}

func pickU(v, def uint64) uint64 {
	if v > 0 {
		return v
	}
	return def
}

// walStore closes the WAL and then its metadata database.
type walStore struct {
	*raftwal.WAL
	meta *metadb.BoltMetaDB
}

func (w walStore) Close() error {
	err := w.WAL.Close()
	if merr := w.meta.Close(); err == nil {
		err = merr
	}
	return err
}

type logStore interface {
	raft.LogStore
	Close() error
}

func openLogStore(kind, dir string) (logStore, raft.StableStore, error) {
	if err := fsperm.MkdirAll(dir); err != nil {
		return nil, nil, fmt.Errorf("raft dir: %w", err)
	}
	switch kind {
	case "", "wal":
		// raft-wal does not close its metadata database on Close, so we own
		// it: otherwise a restart in the same process blocks on its lock.
		meta := &metadb.BoltMetaDB{}
		w, err := raftwal.Open(dir, raftwal.WithMetaStore(meta), raftwal.WithSegmentFiler(walSegmentFiler(dir)))
		if err != nil {
			meta.Close()
			return nil, nil, fmt.Errorf("open raft-wal: %w", err)
		}
		return walStore{w, meta}, w, nil
	case "boltdb":
		b, err := raftboltdb.New(raftboltdb.Options{Path: filepath.Join(dir, "raft.db")})
		if err != nil {
			return nil, nil, fmt.Errorf("open raft-boltdb: %w", err)
		}
		return b, b, nil
	}
	return nil, nil, fmt.Errorf("%w: raft.log_store %q", ErrInvalid, kind)
}

// watchLeadership tracks leadership changes: on gaining it, it waits for
// the log to be applied (a barrier) before serving lease and consistent
// reads and running OnLeader.
func (r *Registry) watchLeadership(notify <-chan bool) {
	defer r.wg.Done()
	stopLeading := func() {}
	defer func() { stopLeading() }()
	for {
		select {
		case <-r.stop:
			return
		case leader := <-notify:
			stopLeading()
			stopLeading = func() {}
			r.ready.Store(false)
			if !leader {
				r.log.Info("lost leadership")
				continue
			}
			if err := r.raft.Barrier(10 * time.Second).Error(); err != nil {
				r.log.Warn("barrier after election failed", "err", err)
				continue
			}
			r.ready.Store(true)
			r.log.Info("became leader", "term", r.raft.CurrentTerm(), "index", r.state.Index())
			if r.deps.OnLeader != nil {
				ctx, cancel := context.WithCancel(context.Background())
				stopLeading = cancel
				r.wg.Add(1)
				go func() {
					defer r.wg.Done()
					r.deps.OnLeader(ctx)
				}()
			}
		}
	}
}

// State is the local copy of the replicated data (a stale read).
func (r *Registry) State() *State { return r.state }

// ID is this server's Raft ID.
func (r *Registry) ID() string { return r.cfg.NodeID }

// RaftAddr is the address peers dial.
func (r *Registry) RaftAddr() string { return string(r.transport.LocalAddr()) }

// IsLeader reports whether this server leads and is ready to serve.
func (r *Registry) IsLeader() bool {
	return r.raft.State() == raft.Leader && r.ready.Load()
}

// Leader returns the current leader's ID and Raft address, if known.
func (r *Registry) Leader() (id, addr string) {
	a, i := r.raft.LeaderWithID()
	return string(i), string(a)
}

// Apply replicates c and returns the FSM's result. It must run on the
// leader; elsewhere it returns ErrNotLeader so the caller can forward.
func (r *Registry) Apply(ctx context.Context, c Command) (any, error) {
	if r.raft.State() != raft.Leader {
		return nil, ErrNotLeader
	}
	// A command the leader's state already refuses is not proposed.
	if err := r.state.Check(c); err != nil {
		return nil, err
	}
	timeout := 10 * time.Second
	if dl, ok := ctx.Deadline(); ok {
		timeout = time.Until(dl)
	}
	f := r.raft.Apply(EncodeCommand(c), timeout)
	if err := r.await(f); err != nil {
		if errors.Is(err, errStopped) {
			return nil, ErrLeadershipLost
		}
		return nil, raftErr(err)
	}
	res, ok := f.Response().(ApplyResult)
	if !ok {
		return nil, fmt.Errorf("%w: unexpected apply response", ErrCorrupt)
	}
	return res.Value, res.Err
}

// membershipErr waits for a membership or leadership change; a registry
// closing meanwhile reports that leadership was lost.
func (r *Registry) membershipErr(f raft.Future) error {
	if err := r.await(f); err != nil {
		if errors.Is(err, errStopped) {
			return ErrLeadershipLost
		}
		return raftErr(err)
	}
	return nil
}

// errStopped reports a future abandoned because the registry is closing.
var errStopped = errors.New("registry: closing")

// await waits for a Raft future, or for the registry to close. Raft
// answers a future when its work is done or leadership is lost, but not
// always when it shuts down with the future still queued (seen with
// Apply and VerifyLeader): waiting on the future alone could then block a
// caller, and the API shutdown waiting for that caller, forever.
func (r *Registry) await(f raft.Future) error {
	done := make(chan error, 1)
	go func() { done <- f.Error() }()
	select {
	case err := <-done:
		return err
	case <-r.stop:
		return errStopped
	}
}

func raftErr(err error) error {
	switch {
	case errors.Is(err, raft.ErrLeadershipLost):
		return ErrLeadershipLost
	case errors.Is(err, raft.ErrNotLeader), errors.Is(err, raft.ErrLeadershipTransferInProgress):
		return fmt.Errorf("%w: %v", ErrNotLeader, err)
	case errors.Is(err, raft.ErrEnqueueTimeout):
		return fmt.Errorf("%w: %v", ErrTimeout, err)
	case errors.Is(err, raft.ErrRaftShutdown):
		return ErrShutdown
	}
	return err
}

// ReadMode is a read's consistency level.
type ReadMode string

const (
	// ReadStale serves from the local FSM, possibly behind the leader.
	ReadStale ReadMode = "stale"
	// ReadLease serves from the leader while it holds its lease.
	ReadLease ReadMode = "lease"
	// ReadConsistent confirms leadership with a quorum round first.
	ReadConsistent ReadMode = "consistent"
)

// ReadBarrier prepares a read at the given level: nil means the local
// State may be read now. Lease and consistent reads return ErrNotLeader
// on a follower so the caller forwards them.
func (r *Registry) ReadBarrier(mode ReadMode) error {
	switch mode {
	case ReadStale, "":
		return nil
	case ReadLease:
		if !r.IsLeader() {
			return ErrNotLeader
		}
		return nil
	case ReadConsistent:
		if !r.IsLeader() {
			return ErrNotLeader
		}
		if err := r.await(r.raft.VerifyLeader()); err != nil {
			if errors.Is(err, errStopped) {
				return ErrNotLeader
			}
			return raftErr(err)
		}
		return nil
	}
	return fmt.Errorf("%w: consistency %q: want stale, lease or consistent", ErrInvalid, mode)
}

// AddVoter adds (or promotes) a voting server. Leader only.
func (r *Registry) AddVoter(id, addr string) error {
	return r.membershipErr(r.raft.AddVoter(raft.ServerID(id), raft.ServerAddress(addr), 0, 10*time.Second))
}

// AddNonvoter adds a server that replicates the log without voting, for
// read scale in far regions. Leader only.
func (r *Registry) AddNonvoter(id, addr string) error {
	return r.membershipErr(r.raft.AddNonvoter(raft.ServerID(id), raft.ServerAddress(addr), 0, 10*time.Second))
}

// RemoveServer removes a server from the configuration. Leader only.
func (r *Registry) RemoveServer(id string) error {
	return r.membershipErr(r.raft.RemoveServer(raft.ServerID(id), 0, 10*time.Second))
}

// TransferLeadership hands leadership to the most up-to-date follower.
func (r *Registry) TransferLeadership() error {
	if r.voters() < 2 {
		return fmt.Errorf("%w: no other voter to hand leadership to", ErrConflict)
	}
	return r.membershipErr(r.raft.LeadershipTransfer())
}

// Peer is one server of the Raft configuration.
type Peer struct {
	ID       string `json:"id"`
	Address  string `json:"address"`
	Suffrage string `json:"suffrage"`
	Leader   bool   `json:"leader"`
}

// Status describes the Raft group as this server sees it.
type Status struct {
	NodeID       string `json:"node_id"`
	State        string `json:"state"`
	LeaderID     string `json:"leader_id"`
	LeaderAddr   string `json:"leader_address"`
	Term         uint64 `json:"term"`
	CommitIndex  uint64 `json:"commit_index"`
	AppliedIndex uint64 `json:"applied_index"`
	LastIndex    uint64 `json:"last_index"`
	Peers        []Peer `json:"peers"`
}

// Status reports peers, leader, term and indexes.
func (r *Registry) Status() (Status, error) {
	leaderID, leaderAddr := r.Leader()
	st := Status{
		NodeID:       r.cfg.NodeID,
		State:        r.raft.State().String(),
		LeaderID:     leaderID,
		LeaderAddr:   leaderAddr,
		Term:         r.raft.CurrentTerm(),
		CommitIndex:  r.raft.CommitIndex(),
		AppliedIndex: r.raft.AppliedIndex(),
		LastIndex:    r.raft.LastIndex(),
	}
	f := r.raft.GetConfiguration()
	if err := f.Error(); err != nil {
		return st, raftErr(err)
	}
	for _, s := range f.Configuration().Servers {
		st.Peers = append(st.Peers, Peer{
			ID: string(s.ID), Address: string(s.Address),
			Suffrage: s.Suffrage.String(), Leader: string(s.ID) == leaderID,
		})
	}
	return st, nil
}

// Snapshot forces a snapshot now (operations and tests).
func (r *Registry) Snapshot() error { return r.raft.Snapshot().Error() }

// Close stops the member. ctx bounds the graceful part: a leader with
// other voters first hands leadership to a follower, so writes resume
// without an election timeout. A ctx already done skips the transfer and
// stops at once, as a crash would. Safe to call more than once.
func (r *Registry) Close(ctx context.Context) error {
	r.closeMu.Lock()
	defer r.closeMu.Unlock()
	if r.closed {
		return nil
	}
	r.closed = true
	if ctx.Err() == nil && r.raft.State() == raft.Leader && r.voters() > 1 {
		r.transferLeadership(ctx)
	}
	err := r.raft.Shutdown().Error()
	close(r.stop)
	r.wg.Wait()
	r.closeAll()
	r.metrics.unregister()
	return err
}

// transferLeadership hands leadership to a follower, waiting until ctx
// ends at most; Raft answers an abandoned transfer when it shuts down.
func (r *Registry) transferLeadership(ctx context.Context) {
	f := r.raft.LeadershipTransfer()
	done := make(chan error, 1)
	r.wg.Go(func() { done <- f.Error() })
	select {
	case err := <-done:
		if err != nil {
			r.log.Warn("leadership transfer on shutdown failed", "err", err)
		}
	case <-ctx.Done():
		r.log.Warn("leadership transfer on shutdown cut short", "err", ctx.Err())
	}
}

func (r *Registry) closeAll() {
	for i := len(r.closers) - 1; i >= 0; i-- {
		_ = r.closers[i]()
	}
	r.closers = nil
}

// tcpStream is Raft's network layer over TCP, with mutual TLS when
// configured.
type tcpStream struct {
	ln             net.Listener
	adv            net.Addr
	server, client *tls.Config
}

// handshakeTimeout bounds a Raft peer's TLS handshake, so a client that
// connects and says nothing does not hold a connection.
const handshakeTimeout = 10 * time.Second

func (t *tcpStream) Accept() (net.Conn, error) {
	c, err := t.ln.Accept()
	if err != nil || t.server == nil {
		return c, err
	}
	return &lazyHandshake{Conn: tls.Server(c, t.server)}, nil
}

func (t *tcpStream) Close() error   { return t.ln.Close() }
func (t *tcpStream) Addr() net.Addr { return t.adv }
func (t *tcpStream) Dial(addr raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	if t.client == nil {
		return net.DialTimeout("tcp", string(addr), timeout)
	}
	return tls.DialWithDialer(&net.Dialer{Timeout: timeout}, "tcp", string(addr), t.client)
}

// lazyHandshake runs the server handshake on the connection's first read,
// on the transport's per-connection goroutine rather than in Accept, which
// would let one slow client stall every other peer.
type lazyHandshake struct {
	*tls.Conn
	once sync.Once
	err  error
}

func (c *lazyHandshake) Read(b []byte) (int, error) {
	c.once.Do(func() {
		_ = c.Conn.SetDeadline(time.Now().Add(handshakeTimeout))
		if c.err = c.Conn.Handshake(); c.err == nil {
			c.err = c.Conn.SetDeadline(time.Time{})
		}
	})
	if c.err != nil {
		return 0, c.err
	}
	return c.Conn.Read(b)
}

// voters counts the voting servers in the current configuration.
func (r *Registry) voters() int {
	f := r.raft.GetConfiguration()
	if f.Error() != nil {
		return 0
	}
	n := 0
	for _, s := range f.Configuration().Servers {
		if s.Suffrage == raft.Voter {
			n++
		}
	}
	return n
}

// raftLevel logs a node's first election as info: raft warns of a
// heartbeat timeout whenever a follower starts an election, but one with
// no last leader is a node starting up, not a leader lost.
func raftLevel(l slog.Level, msg string) slog.Level {
	if l == slog.LevelWarn && strings.HasPrefix(msg, "raft: heartbeat timeout reached, starting election") &&
		(strings.HasSuffix(msg, "last-leader-id=") || strings.HasSuffix(msg, `last-leader-id=""`)) {
		return slog.LevelInfo
	}
	return l
}
