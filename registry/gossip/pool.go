package gossip

import (
	"context"
	"errors"
	"fmt"
	"log"
	"log/slog"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/hashicorp/memberlist"
	"github.com/hashicorp/serf/coordinate"
	"github.com/prometheus/client_golang/prometheus"
)

// Pool is this node's membership in the gossip pool.
type Pool struct {
	cfg     Config
	reg     prometheus.Registerer // nil: metrics are not registered
	id      string
	log     *slog.Logger
	m       *metrics
	ml      *memberlist.Memberlist
	keyring *memberlist.Keyring
	queue   *memberlist.TransmitLimitedQueue
	coords  *coordinate.Client

	metaBytes atomic.Pointer[[]byte]
	numAlive  atomic.Int32
	metaMu    sync.Mutex // serialises UpdateMeta, leave and the start of shutdown; guards meta, leaving
	meta      Meta
	leaving   bool
	left      atomic.Bool // set by leave: stop broadcasting loads, whose newer sequence would cancel the leave notice

	mu      sync.Mutex // guards the fields below; see the package doc for lock order
	members map[string]*entry
	load    Load
	seq     uint64

	evMu     sync.Mutex
	events   chan Event
	evClosed bool

	stop chan struct{}
	// changed asks the loop to broadcast a changed load now rather than
	// at the next tick, so a change reaches peers in one gossip hop.
	changed  chan struct{}
	wg       sync.WaitGroup
	shutOnce sync.Once
	down     atomic.Bool // shutdown began: memberlist panics on a leave after it
}

// entry is a Member plus the last load message as received, kept so
// push/pull can hand the table to a joining node verbatim.
type entry struct {
	Member
	raw []byte

	// leaveSeq and leaveRaw are the member's leave notice (leave.go), if
	// one arrived; leaveFloor is the highest sequence of an earlier life,
	// below which a late notice must not touch the current one.
	leaveSeq   uint64
	leaveRaw   []byte
	leaveFloor uint64
}

// New validates cfg, binds the gossip sockets and starts the load loop. It
// does not contact anyone: call Join. Close stops it.
func New(cfg Config, deps Deps) (*Pool, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if deps.Logger == nil {
		deps.Logger = slog.Default()
	}
	metaBytes, _ := cfg.Meta.MarshalBinary() // validated above
	mlc, _ := cfg.Profile.memberlist()

	p := &Pool{
		cfg:     cfg,
		reg:     deps.Registerer,
		id:      cfg.Meta.ID,
		log:     deps.Logger.With("component", "gossip", "node", cfg.Meta.ID),
		m:       newMetrics(),
		members: make(map[string]*entry),
		seq:     uint64(time.Now().UnixMilli()), // grows across restarts, so a restarted node's loads win
		events:  make(chan Event, cfg.EventBuffer),
		stop:    make(chan struct{}),
		changed: make(chan struct{}, 1),
	}
	p.metaBytes.Store(&metaBytes)
	p.meta = cfg.Meta
	p.load = Load{GPUUtilPct: -1, CPUPct: -1}
	var err error
	if p.coords, err = coordinate.NewClient(coordinate.DefaultConfig()); err != nil {
		return nil, fmt.Errorf("gossip: vivaldi: %w", err)
	}
	p.queue = &memberlist.TransmitLimitedQueue{
		NumNodes:       func() int { return max(1, int(p.numAlive.Load())) },
		RetransmitMult: mlc.RetransmitMult,
	}
	if len(cfg.Keys) > 0 {
		p.keyring, _ = NewKeyring(cfg.Keys) // validated above
	}
	if err := p.m.register(p.reg); err != nil {
		return nil, err
	}

	stdlog := log.New(newLogWriter(p.log, p.m.badPackets), "", 0)
	nt, err := memberlist.NewNetTransport(&memberlist.NetTransportConfig{
		BindAddrs: []string{cfg.BindAddr},
		BindPort:  cfg.BindPort,
		Logger:    stdlog,
	})
	if err != nil {
		p.m.unregister(p.reg)
		return nil, fmt.Errorf("%w: bind %s:%d: %w", ErrBadConfig, cfg.BindAddr, cfg.BindPort, err)
	}
	tr := newCountingTransport(nt, p.m)

	mlc.Name = cfg.Meta.ID
	mlc.BindAddr = cfg.BindAddr
	mlc.BindPort = nt.GetAutoBindPort()
	mlc.AdvertiseAddr = cfg.AdvertiseAddr
	mlc.AdvertisePort = cfg.AdvertisePort
	if mlc.AdvertisePort == 0 {
		mlc.AdvertisePort = mlc.BindPort
	}
	mlc.Transport = tr
	mlc.Keyring = p.keyring
	mlc.GossipVerifyIncoming, mlc.GossipVerifyOutgoing = true, true
	mlc.Delegate, mlc.Events, mlc.Ping = delegate{p}, delegate{p}, delegate{p}
	mlc.Logger = stdlog
	mlc.LogOutput = nil
	// Let a node restarted under the same id on a new address rejoin once
	// its old incarnation is gone, instead of being refused forever.
	mlc.DeadNodeReclaimTime = mlc.GossipToTheDeadTime

	if p.ml, err = memberlist.Create(mlc); err != nil {
		_ = tr.Shutdown()
		p.m.unregister(p.reg)
		return nil, fmt.Errorf("gossip: start memberlist: %w", err)
	}
	p.wg.Go(p.loop)
	p.log.Info("gossip started", "addr", p.ml.LocalNode().Address(), "profile", cfg.Profile,
		"encrypted", p.keyring != nil)
	return p, nil
}

// ID is this node's id.
func (p *Pool) ID() string { return p.id }

// Addr is this node's advertised gossip address (host:port), what others
// pass to Join.
func (p *Pool) Addr() string { return p.ml.LocalNode().Address() }

// Join contacts seeds (host:port); nil means Config.Seeds. It returns how
// many seeds answered; an error only if none did.
func (p *Pool) Join(seeds []string) (int, error) {
	if seeds == nil {
		seeds = p.cfg.Seeds
	}
	n, err := p.ml.Join(seeds)
	if err != nil {
		return n, fmt.Errorf("gossip: join %v: %w", seeds, err)
	}
	return n, nil
}

// Events delivers membership changes; it is closed by Close.
func (p *Pool) Events() <-chan Event { return p.events }

// SetLoad sets the load the next broadcast carries.
func (p *Pool) SetLoad(l Load) {
	l = clampLoad(l)
	p.mu.Lock()
	changed := materialChange(p.load, l)
	p.load = l
	p.mu.Unlock()
	if changed {
		select {
		case p.changed <- struct{}{}:
		default:
		}
	}
}

// UpdateMeta replaces this node's metadata (e.g. Draining) and gossips it.
// The id cannot change; oversized metadata is refused with ErrMetaTooLarge.
func (p *Pool) UpdateMeta(meta Meta) error {
	if meta.ID != p.id {
		return fmt.Errorf("%w: %q to %q", ErrMetaIDChange, p.id, meta.ID)
	}
	p.metaMu.Lock()
	defer p.metaMu.Unlock()
	if p.down.Load() {
		return ErrShutdown
	}
	meta.Leaving = p.leaving
	b, err := meta.MarshalBinary()
	if err != nil {
		return err
	}
	p.meta = meta
	p.metaBytes.Store(&b)
	if err := p.ml.UpdateNode(p.cfg.UpdateTimeout); err != nil {
		return fmt.Errorf("gossip: update meta: %w", err)
	}
	return nil
}

// Close leaves the pool and shuts this member down: the load loop,
// memberlist and its sockets end, Events closes and the metrics are
// unregistered. ctx bounds the graceful leave, which takes at most
// Config.LeaveTimeout and never runs past ctx's deadline, so that others
// see this node as left, not failed. A ctx already done skips the leave:
// others detect a failure, as after a crash. Safe to call more than once.
func (p *Pool) Close(ctx context.Context) error {
	if ctx.Err() == nil {
		timeout := p.cfg.LeaveTimeout
		if d, ok := ctx.Deadline(); ok {
			timeout = min(timeout, time.Until(d))
		}
		if timeout > 0 {
			if err := p.leave(timeout); err != nil && !errors.Is(err, ErrShutdown) {
				p.log.Warn("graceful leave incomplete", "err", err)
			}
		}
	}
	return p.shutdown()
}

// leave announces a graceful departure and waits up to timeout for it to
// spread; others then see this node as left, not failed.
//
// The intent goes out twice before memberlist's own leave message: as the
// Leaving metadata flag and as a leave notice in the load queue (leave.go),
// which survives memberlist replacing the metadata update and corrects a
// peer that declared this node dead before hearing of the leave. Half the
// timeout goes to spreading the intent, the rest to memberlist's leave.
// After shutdown it returns ErrShutdown.
func (p *Pool) leave(timeout time.Duration) error {
	// metaMu is held throughout so shutdown waits for a leave in progress
	// (memberlist panics on a leave after its shutdown).
	p.metaMu.Lock()
	defer p.metaMu.Unlock()
	if p.down.Load() {
		return ErrShutdown
	}
	deadline := time.Now().Add(timeout / 2)
	p.left.Store(true)
	notice := p.queueLeaveNotice()
	p.leaving = true
	b, err := p.meta.MarshalBinaryLeaving()
	if err == nil {
		p.metaBytes.Store(&b)
		// Never 0: memberlist reads a zero timeout as "wait forever".
		err = p.ml.UpdateNode(max(time.Until(deadline), time.Millisecond))
	}
	// Alone, nothing will ever carry the notice (memberlist skips its own
	// wait the same way), so do not wait for it.
	if err == nil && p.numAlive.Load() > 1 {
		t := time.NewTimer(max(time.Until(deadline), 0))
		select {
		case <-notice:
		case <-t.C:
			err = ErrLeaveUnconfirmed
		}
		t.Stop()
	}
	if err != nil {
		p.log.Warn("leave intent not confirmed; peers may report a failure until the notice reaches them", "err", err)
	}
	if err := p.ml.Leave(max(time.Until(deadline)+timeout/2, timeout/4)); err != nil {
		return fmt.Errorf("gossip: leave: %w", err)
	}
	return nil
}

// shutdown stops the load loop, memberlist and its sockets, closes Events
// and unregisters metrics. Without a prior leave, others detect a failure.
// Safe to call more than once.
func (p *Pool) shutdown() error {
	var err error
	p.shutOnce.Do(func() {
		p.metaMu.Lock() // waits out an UpdateMeta or leave in progress
		p.down.Store(true)
		p.metaMu.Unlock()
		close(p.stop)
		p.wg.Wait()
		if e := p.ml.Shutdown(); e != nil {
			err = fmt.Errorf("gossip: shutdown: %w", e)
		}
		p.evMu.Lock()
		p.evClosed = true
		close(p.events)
		p.evMu.Unlock()
		p.m.unregister(p.reg)
	})
	return err
}

// Members returns every known member, sorted by id, including this node
// and dead or left members within DeadRetention.
func (p *Pool) Members() []Member {
	p.mu.Lock()
	out := make([]Member, 0, len(p.members))
	for _, e := range p.members {
		out = append(out, e.snapshot())
	}
	p.mu.Unlock()
	sort.Slice(out, func(i, j int) bool { return out[i].Meta.ID < out[j].Meta.ID })
	return out
}

// Member returns one member by id.
func (p *Pool) Member(id string) (Member, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	e, ok := p.members[id]
	if !ok {
		return Member{}, false
	}
	return e.snapshot(), true
}

// Coordinate is this node's current Vivaldi coordinate.
func (p *Pool) Coordinate() *coordinate.Coordinate { return p.coords.GetCoordinate() }

// EstimateRTT estimates the round-trip time between members a and b from
// their Vivaldi coordinates (either may be this node).
func (p *Pool) EstimateRTT(a, b string) (time.Duration, error) {
	ca, err := p.coordOf(a)
	if err != nil {
		return 0, err
	}
	cb, err := p.coordOf(b)
	if err != nil {
		return 0, err
	}
	if !ca.IsCompatibleWith(cb) {
		return 0, fmt.Errorf("%w: %s and %s have incompatible dimensions", ErrNoCoordinate, a, b)
	}
	return ca.DistanceTo(cb), nil
}

func (p *Pool) coordOf(id string) (*coordinate.Coordinate, error) {
	if id == p.id {
		return p.coords.GetCoordinate(), nil
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	e, ok := p.members[id]
	if !ok {
		return nil, fmt.Errorf("%w: %s", ErrUnknownMember, id)
	}
	if e.Coord == nil {
		return nil, fmt.Errorf("%w: %s", ErrNoCoordinate, id)
	}
	return e.Coord, nil
}

// InstallKey adds a decryption key (step 1 of rotation, on every node).
func (p *Pool) InstallKey(b64 string) error {
	return p.keyOp(b64, "install", (*memberlist.Keyring).AddKey)
}

// UseKey makes an installed key the primary (step 2, on every node).
func (p *Pool) UseKey(b64 string) error { return p.keyOp(b64, "use", (*memberlist.Keyring).UseKey) }

// RemoveKey removes a non-primary key (step 3, on every node).
func (p *Pool) RemoveKey(b64 string) error {
	return p.keyOp(b64, "remove", (*memberlist.Keyring).RemoveKey)
}

func (p *Pool) keyOp(b64, op string, f func(*memberlist.Keyring, []byte) error) error {
	if p.keyring == nil {
		return fmt.Errorf("%w: pool runs unencrypted", ErrNoKeys)
	}
	k, err := DecodeKey(b64)
	if err != nil {
		return err
	}
	if err := f(p.keyring, k); err != nil {
		return fmt.Errorf("%w: %s: %w", ErrBadKey, op, err)
	}
	return nil
}

func (e *entry) snapshot() Member {
	m := e.Member
	if m.Coord != nil {
		m.Coord = m.Coord.Clone()
	}
	return m
}

// materialChange reports whether a load differs enough to broadcast before
// the next tick: viewers or sessions changed, or egress moved by more than
// a tenth. CPU and GPU noise waits for the tick.
func materialChange(old, cur Load) bool {
	if old.Viewers != cur.Viewers || old.Sessions != cur.Sessions {
		return true
	}
	d := int64(cur.EgressBps) - int64(old.EgressBps)
	return d*10 > int64(old.EgressBps) || -d*10 > int64(old.EgressBps)
}
