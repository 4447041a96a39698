// Package origin is an origin node: the Raft registry member, its REST API
// on fasthttp, and the leader's housekeeping (bootstrap keys, origin
// membership) before it runs the leader controllers of origin/controller.
// Writes received by a follower are forwarded to the leader.
//
// Lifecycle, the contract every Strata component follows:
//
//   - New(cfg, deps) applies the config's defaults, calls cfg.Validate and
//     starts the component: when it returns without error the component
//     serves (listeners bound, its goroutines running). There is no Start.
//     deps are the collaborators (logger, metrics registry, interfaces).
//   - A component that is a loop its caller owns starts nothing in New and
//     has Run(ctx) error instead, returning when ctx ends (the leader
//     controllers of origin/controller).
//   - Close(ctx) error stops a component. ctx bounds the graceful part
//     (for an origin: leadership transfer, then the gossip leave); a ctx
//     already done skips it and stops at once, as a crash would. Close is
//     safe to call more than once.
//
// Operations that are not lifecycle (an edge's Drain, a relay's Listen)
// stay methods of their own.
package origin

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/hashicorp/raft"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/valyala/fasthttp"
	"google.golang.org/grpc"

	"github.com/strata-edge/strata/api"
	"github.com/strata-edge/strata/internal/auth"
	"github.com/strata-edge/strata/internal/certs"
	"github.com/strata-edge/strata/internal/fsperm"
	"github.com/strata-edge/strata/internal/ids"
	"github.com/strata-edge/strata/internal/logging"
	"github.com/strata-edge/strata/internal/metricsrv"
	"github.com/strata-edge/strata/internal/pki"
	"github.com/strata-edge/strata/internal/ratelimit"
	"github.com/strata-edge/strata/origin/controller"
	"github.com/strata-edge/strata/registry"
	"github.com/strata-edge/strata/registry/gossip"
)

// Deps are an origin's collaborators, for tests and embedding.
type Deps struct {
	Logger *slog.Logger
	// WrapRaftStream lets tests partition Raft traffic.
	WrapRaftStream func(raft.StreamLayer) raft.StreamLayer
}

// Origin is a running origin node.
type Origin struct {
	cfg     Config
	log     *slog.Logger
	baseLog *slog.Logger // without the component field, for sub-components
	reg     *registry.Registry
	prom    *prometheus.Registry
	metrics *apiMetrics
	limiter *ratelimit.Limiter
	// authFails limits failed authentications per client address.
	authFails *ratelimit.Limiter
	peers     *peerClients
	server    *fasthttp.Server
	pool      *gossip.Pool
	// placer, lifecycle and the other leader controllers run under leader
	// while this origin leads.
	placer    *controller.Placer
	lifecycle *controller.Lifecycle
	leader    *controller.Supervisor
	// relays remembers where this origin sent viewers (any origin routes
	// viewers, not only the leader).
	relays relayMemo
	// gossipAddr is this origin's gossip address, recorded in the registry
	// so edges and other origins can find the pool.
	gossipAddr string
	ln         net.Listener
	apiAddr    string
	// adminToken is known on this node if configured or generated here.
	adminToken string
	// node is this origin's cluster certificate (nil with pki.disable);
	// renewer keeps it fresh; caCache holds the parsed registry CA.
	node    *pki.Holder
	renewer *pki.Renewer
	caCache caCache
	// public is api.tls's certificate source when it is not the cluster
	// CA (operator files, ACME); nil otherwise.
	public certs.Source
	// metricsToken guards /metrics when set; metricsSrv serves them on
	// metrics.addr.
	metricsToken string
	metricsSrv   *metricsrv.Server
	// keda serves the KEDA external scaler on kedaAddr, when configured.
	keda     *grpc.Server
	kedaAddr string

	// opened is closed when New has finished wiring the node; leader work
	// started by Raft during New waits for it.
	opened chan struct{}
	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	once   sync.Once
}

// New starts an origin: Raft member, API listener and, when joining, the
// join handshake (retried in the background until it succeeds). Close
// stops it.
func New(cfg Config, deps Deps) (*Origin, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	log := deps.Logger
	if log == nil {
		log = logging.Discard()
	}
	log = log.With("node", cfg.NodeID)
	o := &Origin{cfg: cfg, log: log.With("component", "origin"), baseLog: log, prom: newPromRegistry(), peers: newPeerClients(), opened: make(chan struct{})}
	o.ctx, o.cancel = context.WithCancel(context.Background())
	o.limiter = ratelimit.New(cfg.API.RateLimit, cfg.API.RateBurst)
	o.authFails = ratelimit.New(cfg.API.AuthFailRate, cfg.API.AuthFailBurst)
	m, err := newAPIMetrics(o.prom)
	if err != nil {
		return nil, err
	}
	o.metrics = m
	if err := fsperm.MkdirAll(cfg.DataDir); err != nil {
		return nil, fmt.Errorf("data_dir: %w", err)
	}
	if err := fsperm.Restrict(cfg.DataDir); err != nil {
		return nil, fmt.Errorf("data_dir: %w", err)
	}
	if err := o.loadAdminToken(); err != nil {
		return nil, err
	}
	if o.metricsToken, err = cfg.Metrics.LoadToken(); err != nil {
		return nil, err
	}
	ln, err := net.Listen("tcp", cfg.API.Addr)
	if err != nil {
		return nil, fmt.Errorf("api.addr %s: %w", cfg.API.Addr, err)
	}
	o.ln = ln
	o.apiAddr = cfg.API.Advertise
	if o.apiAddr == "" {
		o.apiAddr = ln.Addr().String()
	}
	hosts := certHosts(o.apiAddr, cfg.API.Addr, cfg.Raft.Addr, cfg.Raft.Advertise)
	if err := o.openPKI(hosts); err != nil {
		ln.Close()
		return nil, err
	}
	// Metrics listen before the registry starts, so that this node's
	// registration (join, registerSelf) can name their address.
	if err := o.listenMetrics(); err != nil {
		ln.Close()
		return nil, err
	}
	closeEarly := func() {
		ln.Close()
		if o.metricsSrv != nil {
			o.metricsSrv.Close(context.Background())
		}
	}
	rdeps := registry.Deps{OnLeader: o.onLeader, WrapStream: deps.WrapRaftStream, Logger: log, Metrics: o.prom}
	if o.node != nil {
		onlyOrigins := pki.RolesOf(pki.RoleOrigin)
		rdeps.ServerTLS, rdeps.ClientTLS = o.node.ServerConfig(onlyOrigins), o.node.ClientConfig(onlyOrigins)
		o.peers.tls = o.node.ClientConfig(onlyOrigins)
		apiTLS, err := o.apiTLS(hosts)
		if err != nil {
			closeEarly()
			return nil, err
		}
		ln = tls.NewListener(ln, apiTLS)
		o.ln = ln
	}
	o.reg, err = registry.New(cfg.registryConfig(), rdeps)
	if err != nil {
		closeEarly()
		return nil, err
	}
	// A failed start unwinds at once: nothing was announced to hand off.
	stopNow, cancel := context.WithCancel(context.Background())
	cancel()
	if err := o.openGossip(); err != nil {
		closeEarly()
		o.reg.Close(stopNow)
		return nil, err
	}
	if err := o.openControllers(); err != nil {
		closeEarly()
		o.reg.Close(stopNow)
		_ = o.pool.Close(stopNow)
		return nil, err
	}
	if err := o.listenKEDA(); err != nil {
		closeEarly()
		o.reg.Close(stopNow)
		_ = o.pool.Close(stopNow)
		return nil, err
	}
	o.server = &fasthttp.Server{
		Handler:            o.limitURI(o.newRouter().Handler),
		Name:               "strata",
		ReadBufferSize:     api.MaxHeaderBytes,
		MaxRequestBodySize: max(cfg.API.MaxBodyBytes*4, 1<<20),
		ReadTimeout:        90 * time.Second,
		WriteTimeout:       90 * time.Second,
		IdleTimeout:        120 * time.Second,
		ErrorHandler: func(ctx *fasthttp.RequestCtx, err error) {
			if errors.Is(err, fasthttp.ErrBodyTooLarge) {
				o.writeError(ctx, api.Errorf(413, api.CodeTooLarge, "request body exceeds %d bytes", cfg.API.MaxBodyBytes))
				return
			}
			var small *fasthttp.ErrSmallBuffer
			if errors.As(err, &small) {
				o.writeError(ctx, api.Errorf(431, api.CodeTooLarge,
					"request line and headers exceed %d bytes", api.MaxHeaderBytes))
				return
			}
			o.writeError(ctx, api.Errorf(400, api.CodeBadRequest, "cannot parse request: %v", err))
		},
		Logger: slogPrintf{o.log},
	}
	o.wg.Add(1)
	go func() {
		defer o.wg.Done()
		if err := o.server.Serve(ln); err != nil {
			o.log.Error("api server stopped", "err", err)
		}
	}()
	if len(cfg.Join) > 0 {
		o.wg.Add(1)
		go o.joinLoop()
	}
	if o.public != nil {
		o.public.Start() // ACME validates against the listener, now serving
	}
	if o.node != nil {
		o.renewer = pki.NewRenewer(pki.RenewerConfig{Holder: o.node, Renew: o.renewOwn(hosts), Dir: o.pkiDir(), Logger: o.log})
	}
	o.wg.Add(1)
	go o.gossipJoinLoop()
	close(o.opened)
	o.log.Info("origin started", "api", o.apiAddr, "raft", o.reg.RaftAddr(), "bootstrap", cfg.Bootstrap)
	return o, nil
}

// Registry exposes the node's registry (tests, the dev cluster).
func (o *Origin) Registry() *registry.Registry { return o.reg }

// CA is the cluster CA certificate this origin trusts (nil with
// pki.disable): clients pass it to pki.TrustConfig.
func (o *Origin) CA() *x509.Certificate {
	if o.node == nil {
		return nil
	}
	return o.node.CA()
}

// Certificate is this origin's node certificate holder (nil with
// pki.disable).
func (o *Origin) Certificate() *pki.Holder { return o.node }

// APIAddr is the address clients reach this origin's API at.
func (o *Origin) APIAddr() string { return o.apiAddr }

// AdminToken returns the admin token if this node knows it.
func (o *Origin) AdminToken() string { return o.adminToken }

// Metrics is the origin's Prometheus registry.
func (o *Origin) Metrics() *prometheus.Registry { return o.prom }

// Close shuts the origin down. ctx bounds the graceful part: a leader
// first transfers leadership so the cluster keeps taking writes without an
// election, then the origin leaves the gossip pool. A ctx already done
// skips both and stops at once, as a crash would. Safe to call more than
// once.
func (o *Origin) Close(ctx context.Context) error {
	var err error
	o.once.Do(func() {
		o.cancel()
		if o.renewer != nil {
			_ = o.renewer.Close(ctx)
		}
		if o.public != nil {
			_ = o.public.Close(ctx)
		}
		// Raft first: a leader hands off leadership, and its leader-only
		// loops (placement, node reconciliation) stop before gossip does.
		err = o.reg.Close(ctx)
		_ = o.pool.Close(ctx)
		if serr := o.server.Shutdown(); serr != nil && err == nil {
			err = serr
		}
		if o.metricsSrv != nil {
			o.metricsSrv.Close(ctx)
		}
		if o.keda != nil {
			o.keda.Stop()
		}
		o.wg.Wait()
		o.peers.close()
	})
	return err
}

// loadAdminToken takes the configured admin token, or the one in the data
// dir, or — on a bootstrap node — generates one and writes it there.
func (o *Origin) loadAdminToken() error {
	path := filepath.Join(o.cfg.DataDir, "admin-token")
	if o.cfg.AdminToken != "" {
		o.adminToken = o.cfg.AdminToken
		return nil
	}
	if b, err := os.ReadFile(path); err == nil {
		o.adminToken = string(b)
		return nil
	}
	if !o.cfg.Bootstrap {
		return nil
	}
	secret, _ := auth.NewSecret()
	o.adminToken = "strata_admin_" + secret
	if err := os.WriteFile(path, []byte(o.adminToken), 0o600); err != nil {
		return fmt.Errorf("write admin token: %w", err)
	}
	o.log.Info("generated admin token", "file", path)
	return nil
}

// onLeader runs on each new leader: it records this origin in the node
// table, makes sure the admin key and a token signing key exist, then runs
// the leader controllers until leadership ends.
func (o *Origin) onLeader(ctx context.Context) {
	select {
	case <-o.opened:
	case <-ctx.Done():
		return
	}
	if !o.leaderHousekeeping(ctx) {
		return
	}
	o.leader.Run(ctx)
}

// leaderHousekeeping runs the leader's one-off steps, each retried until
// it succeeds; it reports false when leadership ended first.
func (o *Origin) leaderHousekeeping(ctx context.Context) bool {
	st := o.reg.State()
	now := time.Now().UTC()
	steps := []func() error{
		func() error { return o.registerSelf(ctx) },
		func() error { return o.commitCA(ctx) },
		func() error {
			if _, ok := st.APIKey(adminKeyID); ok || o.adminToken == "" {
				return nil
			}
			_, err := o.reg.Apply(ctx, &registry.CreateKey{Key: registry.APIKey{
				ID: adminKeyID, Scope: registry.ScopeAdmin, Name: "admin bootstrap token",
				Hash: auth.Hash(o.adminToken), Meta: registry.Meta{CreatedAt: now},
			}})
			return err
		},
		func() error {
			if _, ok := st.ActiveSigningKey(); ok {
				return nil
			}
			_, err := o.addSigningKey(ctx)
			return err
		},
	}
	for _, step := range steps {
		for {
			err := step()
			if err == nil || errors.Is(err, registry.ErrAlreadyExists) {
				break
			}
			if ctx.Err() != nil {
				return false
			}
			o.log.Warn("leader housekeeping failed; retrying", "err", err)
			select {
			case <-ctx.Done():
				return false
			case <-time.After(200 * time.Millisecond):
			}
		}
	}
	return ctx.Err() == nil
}

func (o *Origin) registerSelf(ctx context.Context) error {
	if n, ok := o.reg.State().Node(o.cfg.NodeID); ok && n.Addrs["api"] == o.apiAddr && n.Addrs["raft"] == o.reg.RaftAddr() && n.Addrs["gossip"] == o.gossipAddr && n.Addrs["metrics"] == o.metricsAdvertise() && n.State == registry.NodeAlive {
		return nil
	}
	_, err := o.reg.Apply(ctx, &registry.UpsertNode{Node: registry.Node{
		ID: o.cfg.NodeID, Role: registry.RoleOrigin, Region: o.cfg.Region,
		Addrs: map[string]string{"api": o.apiAddr, "raft": o.reg.RaftAddr(), "gossip": o.gossipAddr, "metrics": o.metricsAdvertise()},
		State: registry.NodeAlive, Meta: registry.Meta{UpdatedAt: time.Now().UTC()},
	}})
	return err
}

func (o *Origin) addSigningKey(ctx context.Context) (*registry.SigningKey, error) {
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	now := time.Now().UTC()
	v, err := o.reg.Apply(ctx, &registry.AddSigningKey{Key: registry.SigningKey{
		ID: ids.New("sk", now), Public: pub, Private: priv, Meta: registry.Meta{CreatedAt: now},
	}})
	if err != nil {
		return nil, err
	}
	return v.(*registry.SigningKey), nil
}

// joinLoop asks the configured origins to add this node until one does.
func (o *Origin) joinLoop() {
	defer o.wg.Done()
	body, _ := json.Marshal(api.JoinRequest{ID: o.cfg.NodeID, RaftAddr: o.reg.RaftAddr(), APIAddr: o.apiAddr, GossipAddr: o.gossipAddr, MetricsAddr: o.metricsAdvertise(), Region: o.cfg.Region, Nonvoter: o.cfg.Nonvoter})
	backoff := 100 * time.Millisecond
	for {
		for _, addr := range o.cfg.Join {
			// With certificates the origin joins as itself; without
			// (pki.disable) it needs the admin token.
			token := o.adminToken
			if o.node != nil {
				token = ""
			}
			err := o.peers.post(addr, "/v1/cluster/join", token, body)
			if err == nil {
				o.log.Info("joined cluster", "via", addr)
				return
			}
			o.log.Warn("join failed", "via", addr, "err", err)
		}
		select {
		case <-o.ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(backoff*2, 5*time.Second)
	}
}

// slogPrintf adapts fasthttp's Printf logger to slog.
type slogPrintf struct{ l *slog.Logger }

func (s slogPrintf) Printf(format string, args ...any) { s.l.Warn(fmt.Sprintf(format, args...)) }
