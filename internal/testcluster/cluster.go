// Package testcluster runs a real multi-origin Strata cluster inside one
// process, on random loopback ports with real TCP, for tests and
// benchmarks. Nodes can be killed (no leadership transfer), stopped
// gracefully, restarted on the same ports and data, and isolated from Raft
// traffic.
package testcluster

import (
	"cmp"
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/hashicorp/raft"

	"github.com/strata-edge/strata/api"
	"github.com/strata-edge/strata/internal/auth"
	"github.com/strata-edge/strata/internal/logging"
	"github.com/strata-edge/strata/internal/netutil"
	"github.com/strata-edge/strata/internal/pki"
	"github.com/strata-edge/strata/internal/poll"
	"github.com/strata-edge/strata/origin"
	"github.com/strata-edge/strata/registry/gossip"
)

// Options shape a cluster.
type Options struct {
	// Origins is the number of origin nodes (default 3).
	Origins int
	// Dir holds every node's data (required).
	Dir string
	// LogStore is "wal" (default) or "boltdb".
	LogStore string
	// RateLimit per API key; 0 disables it (the default for tests).
	RateLimit float64
	// GossipProfile is lan, wan or local (default local: fast timers).
	GossipProfile string
	// RaftProfile is lan (default) or wan: wan's longer leader lease keeps
	// a leader through the scheduling stalls of very bursty tests.
	RaftProfile string
	// Plaintext runs the cluster without certificates (pki.disable), to
	// measure what TLS costs; edges cannot join such a cluster.
	Plaintext bool
	// CertValidity is the life of node certificates (default: origin's);
	// short ones make certificates rotate during a test.
	CertValidity time.Duration
	// RestartBackoff is the origins' restart.backoff, RestartBackoffMax
	// their restart.max_backoff; zero: 20 ms and 200 ms, so tests whose
	// sessions fail and restart do not wait out the production backoff.
	RestartBackoff, RestartBackoffMax time.Duration
	Logger                            *slog.Logger
	// Configure, when set, adjusts each origin's configuration last.
	Configure func(c *origin.Config)
}

// Cluster is a running in-process cluster.
type Cluster struct {
	Nodes      []*Node
	AdminToken string
	// GossipKey is the pool's encryption key, for edges joining in tests.
	GossipKey string
	// CA is the cluster CA clients trust (nil when Plaintext).
	CA    *x509.Certificate
	opts  Options
	edges edgeFleet
}

// Node is one origin of the cluster.
type Node struct {
	ID     string
	cfg    origin.Config
	part   *partition
	deps   origin.Deps
	mu     sync.Mutex
	origin *origin.Origin
}

// Origin returns the running origin, or nil when the node is down.
func (n *Node) Origin() *origin.Origin {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.origin
}

// APIAddr is the node's API address (stable across restarts).
func (n *Node) APIAddr() string { return n.cfg.API.Addr }

// Start brings up the cluster: node 0 bootstraps, the others join through
// it; Start returns when every node is a member and a leader is ready.
func Start(opts Options) (*Cluster, error) {
	if opts.Origins == 0 {
		opts.Origins = 3
	}
	if opts.Dir == "" {
		return nil, errors.New("testcluster: Options.Dir is required")
	}
	// STRATA_TEST_LOG=1 shows the cluster's logs, to see why a test failed.
	if opts.Logger == nil && os.Getenv("STRATA_TEST_LOG") != "" {
		opts.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelInfo}))
	}
	if opts.Logger == nil {
		opts.Logger = logging.Discard()
	}
	if opts.GossipProfile == "" {
		opts.GossipProfile = string(gossip.ProfileLocal)
	}
	key, err := gossip.GenerateKey()
	if err != nil {
		return nil, err
	}
	// A fresh admin token per cluster: no credential is fixed in code.
	secret, _ := auth.NewSecret()
	c := &Cluster{AdminToken: "strata_admin_" + secret, GossipKey: key, opts: opts}
	for i := 0; i < opts.Origins; i++ {
		ports, err := netutil.FreeLoopbackAddrs(3)
		if err != nil {
			return nil, err
		}
		cfg := origin.Defaults()
		cfg.NodeID = fmt.Sprintf("origin-%d", i+1)
		cfg.DataDir = filepath.Join(opts.Dir, cfg.NodeID)
		cfg.AdminToken = c.AdminToken
		cfg.API.Addr = ports[0]
		cfg.Raft.Addr = ports[1]
		cfg.Gossip.Addr = ports[2]
		cfg.Gossip.Keys = []string{key}
		cfg.Gossip.Profile = opts.GossipProfile
		cfg.Raft.LogStore = opts.LogStore
		if opts.RaftProfile != "" {
			cfg.Raft.Profile = opts.RaftProfile
		}
		cfg.API.RateLimit = opts.RateLimit
		cfg.API.RateBurst = int(opts.RateLimit)
		cfg.PKI.Disable = opts.Plaintext
		cfg.PKI.CertValidity = opts.CertValidity
		cfg.Restart.Backoff = cmp.Or(opts.RestartBackoff, 20*time.Millisecond)
		cfg.Restart.MaxBackoff = cmp.Or(opts.RestartBackoffMax, 200*time.Millisecond)
		if i == 0 {
			cfg.Bootstrap = true
		} else {
			cfg.Join = []string{c.Nodes[0].cfg.API.Addr}
			if c.CA != nil {
				if cfg.PKI.JoinToken, err = c.originJoinToken(); err != nil {
					c.Close()
					return nil, err
				}
				cfg.PKI.CAFingerprint = pki.Fingerprint(c.CA)
			}
		}
		if opts.Configure != nil {
			opts.Configure(&cfg)
		}
		n := &Node{ID: cfg.NodeID, cfg: cfg, part: &partition{conns: map[net.Conn]struct{}{}}}
		n.deps = origin.Deps{Logger: opts.Logger, WrapRaftStream: n.part.wrap}
		c.Nodes = append(c.Nodes, n)
		if err := n.start(); err != nil {
			c.Close()
			return nil, err
		}
		if i == 0 {
			c.CA = n.Origin().CA()
			if _, err := c.WaitLeader(10 * time.Second); err != nil {
				c.Close()
				return nil, err
			}
			// The admin key must be committed before it can make the
			// other origins' join token.
			if err := c.WaitHousekeeping(10 * time.Second); err != nil {
				c.Close()
				return nil, err
			}
		}
	}
	if err := c.WaitMembers(opts.Origins, 20*time.Second); err != nil {
		c.Close()
		return nil, err
	}
	if err := c.WaitHousekeeping(10 * time.Second); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

func (n *Node) start() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.origin != nil {
		return nil
	}
	o, err := origin.New(n.cfg, n.deps)
	if err != nil {
		return fmt.Errorf("start %s: %w", n.ID, err)
	}
	n.origin = o
	return nil
}

// stop closes the node's origin; ctx bounds its graceful part.
func (n *Node) stop(ctx context.Context) error {
	n.mu.Lock()
	o := n.origin
	n.origin = nil
	n.mu.Unlock()
	if o == nil {
		return nil
	}
	return o.Close(ctx)
}

// atOnce is a context already done: a Close with it skips every graceful
// step (leadership transfer, gossip leave), as a crash would.
func atOnce() context.Context {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	return ctx
}

// Kill stops node i at once, without handing off leadership.
func (c *Cluster) Kill(i int) error { return c.Nodes[i].stop(atOnce()) }

// Stop stops node i gracefully (a leader transfers leadership first).
func (c *Cluster) Stop(i int) error { return c.Nodes[i].stop(context.Background()) }

// Restart starts a stopped node again on the same ports and data.
func (c *Cluster) Restart(i int) error {
	n := c.Nodes[i]
	n.cfg.Bootstrap = false
	if i == 0 && len(c.Nodes) > 1 {
		n.cfg.Join = []string{c.Nodes[1].cfg.API.Addr}
	}
	return n.start()
}

// Isolate cuts (or restores) node i's Raft traffic in both directions.
func (c *Cluster) Isolate(i int, isolated bool) { c.Nodes[i].part.set(isolated) }

// Client returns an API client over every node, using the admin token
// and trusting the cluster CA.
func (c *Cluster) Client() *api.Client {
	addrs := make([]string, len(c.Nodes))
	for i, n := range c.Nodes {
		addrs[i] = n.cfg.API.Addr
	}
	return c.Trust(api.New(c.AdminToken, addrs...))
}

// NodeClient returns an admin client for node i only.
func (c *Cluster) NodeClient(i int) *api.Client {
	return c.Trust(api.New(c.AdminToken, c.Nodes[i].cfg.API.Addr))
}

// Trust makes cl speak HTTPS trusting the cluster CA, unless the
// cluster is plaintext.
func (c *Cluster) Trust(cl *api.Client) *api.Client {
	if c.CA == nil {
		return cl
	}
	return cl.WithTLS(pki.TrustConfig(c.CA))
}

// originJoinToken makes a token that enrolls the other origins.
func (c *Cluster) originJoinToken() (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var t *api.CreatedJoinToken
	err := retry(ctx, func() (err error) {
		t, err = c.NodeClient(0).Cluster().CreateJoinToken(ctx, api.JoinTokenCreate{Name: "testcluster-origins", Role: api.RoleOrigin, MaxUses: 100})
		return err
	})
	if err != nil {
		return "", fmt.Errorf("testcluster: origin join token: %w", err)
	}
	return t.Token, nil
}

// Leader returns the index of the running node that leads, or -1.
func (c *Cluster) Leader() int {
	for i, n := range c.Nodes {
		if o := n.Origin(); o != nil && o.Registry().IsLeader() {
			return i
		}
	}
	return -1
}

// WaitLeader waits until some running node leads and is ready.
func (c *Cluster) WaitLeader(d time.Duration) (int, error) {
	leader := -1
	err := poll.Until(d, 5*time.Millisecond, func() error {
		if leader = c.Leader(); leader < 0 {
			return errors.New("no leader elected")
		}
		return nil
	})
	if err != nil {
		return -1, fmt.Errorf("testcluster: %w", err)
	}
	return leader, nil
}

// WaitHousekeeping waits until the leader has installed the admin key and
// a token signing key, so tests start from a quiet registry.
func (c *Cluster) WaitHousekeeping(d time.Duration) error {
	var idx uint64
	err := poll.Until(d, 10*time.Millisecond, func() error {
		if i := c.Leader(); i >= 0 {
			st := c.Nodes[i].Origin().Registry().State()
			_, admin := st.APIKey("admin")
			_, signing := st.ActiveSigningKey()
			if admin && signing {
				idx = st.Index()
				return nil
			}
		}
		return errors.New("leader housekeeping not done")
	})
	if err != nil {
		return fmt.Errorf("testcluster: %w", err)
	}
	return c.WaitApplied(idx, d)
}

// WaitMembers waits until the leader's Raft configuration has n servers.
func (c *Cluster) WaitMembers(n int, d time.Duration) error {
	err := poll.Until(d, 10*time.Millisecond, func() error {
		if i := c.Leader(); i >= 0 {
			st, err := c.Nodes[i].Origin().Registry().Status()
			if err == nil && len(st.Peers) == n {
				return nil
			}
		}
		return fmt.Errorf("%d members not reached", n)
	})
	if err != nil {
		return fmt.Errorf("testcluster: %w", err)
	}
	return nil
}

// WaitApplied waits until every running node has applied index idx.
func (c *Cluster) WaitApplied(idx uint64, d time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	for _, n := range c.Nodes {
		if o := n.Origin(); o != nil {
			if got := o.Registry().State().WaitIndex(ctx, idx-1); got < idx {
				return fmt.Errorf("testcluster: %s applied %d, want %d", n.ID, got, idx)
			}
		}
	}
	return nil
}

// Close stops every edge started through the cluster, then every node.
func (c *Cluster) Close() {
	c.closeEdges()
	for _, n := range c.Nodes {
		_ = n.stop(atOnce())
	}
}

// partition wraps a node's Raft stream layer so tests can cut it off.
type partition struct {
	mu       sync.Mutex
	isolated bool
	conns    map[net.Conn]struct{}
}

func (p *partition) wrap(s raft.StreamLayer) raft.StreamLayer { return &cuttable{StreamLayer: s, p: p} }

func (p *partition) set(isolated bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.isolated = isolated
	if isolated {
		for c := range p.conns {
			c.Close()
		}
		p.conns = map[net.Conn]struct{}{}
	}
}

// track registers a connection, or closes it if the node is isolated.
func (p *partition) track(c net.Conn) (net.Conn, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.isolated {
		c.Close()
		return nil, errIsolated
	}
	p.conns[c] = struct{}{}
	return c, nil
}

var errIsolated = errors.New("testcluster: node isolated")

type cuttable struct {
	raft.StreamLayer
	p *partition
}

func (c *cuttable) Accept() (net.Conn, error) {
	for {
		conn, err := c.StreamLayer.Accept()
		if err != nil {
			return nil, err
		}
		if tc, err := c.p.track(conn); err == nil {
			return tc, nil
		}
	}
}

func (c *cuttable) Dial(addr raft.ServerAddress, timeout time.Duration) (net.Conn, error) {
	conn, err := c.StreamLayer.Dial(addr, timeout)
	if err != nil {
		return nil, err
	}
	return c.p.track(conn)
}

// IsRetryable reports whether a client error is expected during failover.
func IsRetryable(err error) bool {
	return api.Retryable(err) || err != nil && strings.Contains(err.Error(), "timeout")
}
