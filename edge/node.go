package edge

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/strata-edge/strata/api"
	"github.com/strata-edge/strata/edge/gpu"
	"github.com/strata-edge/strata/internal/fsperm"
	"github.com/strata-edge/strata/internal/metricsrv"
	"github.com/strata-edge/strata/internal/netutil"
	"github.com/strata-edge/strata/internal/pki"
	"github.com/strata-edge/strata/registry/gossip"
	"github.com/strata-edge/strata/transport/media"
)

// Deps are the edge's injected collaborators; zero values mean the
// production ones.
type Deps struct {
	Logger     *slog.Logger
	Registerer prometheus.Registerer // nil: gossip metrics are not registered
	// Reconciler runs the sessions placed here; nil logs them only.
	Reconciler Reconciler
	// Load reports media load (egress, viewers, sessions); nil reports zero
	// until the media plane is wired in.
	Load LoadSource
	// GPUSource replaces discovery by Config.GPUs (tests, custom probes).
	GPUSource gpu.Source
	// NICProbe reads the link speed when Config.NICMbps is 0.
	NICProbe gpu.NICProbe
	// CPUStatFile replaces /proc/stat.
	CPUStatFile string
	// Identity is the edge's cluster certificate (see Enroll): it
	// authenticates the edge to origins and to other edges.
	Identity *pki.Holder
}

// discoverTimeout bounds GPU discovery at start.
const discoverTimeout = 30 * time.Second

// Edge is a running edge node. Lock order: lifeMu before metaMu.
type Edge struct {
	cfg     Config
	log     *slog.Logger
	api     *api.Client
	pool    *gossip.Pool
	sampler *gpu.Sampler
	rec     Reconciler
	runner  *Runner // the session runtime when the edge made it; closed with the edge
	loadSrc LoadSource
	cpu     cpuMeter
	reg     api.NodeRegistration
	media   *mediaServer // nil without Config.Media
	// id is the edge's certificate; renewer renews it through the origins.
	id      *pki.Holder
	renewer *pki.Renewer
	// metricsSrv serves /metrics on metrics.addr; nil without it. Closed
	// last, so a scrape can see the edge leave.
	metricsSrv *metricsrv.Server

	metaMu sync.Mutex
	meta   gossip.Meta

	lifeMu sync.Mutex // guards closed; held across Drain's meta update so it never races Close
	closed bool

	// Two stages so Close stops in order: the control plane (assignments,
	// registration, seeding) first, then load publishing and sampling.
	ctrlCtx    context.Context
	ctrlCancel context.CancelFunc
	ctrlWG     sync.WaitGroup
	dataCtx    context.Context
	dataCancel context.CancelFunc
	dataWG     sync.WaitGroup

	closeOnce sync.Once
	closeErr  error
}

// New discovers GPUs and NIC capacity (within discoverTimeout), starts
// the gossip pool and the edge's goroutines, and returns at once: joining
// the pool, registering and following assignments continue in the
// background with retries, so an edge can start before its origins are
// reachable. Close stops it.
func New(cfg Config, deps Deps) (*Edge, error) {
	// The runtime strata edge turns on by default may be impossible here
	// (an instance user who cannot reach the state); one asked for must not.
	runtimeDefaulted := cfg.Runtime.Driver == DriverProcess && cfg.Runtime.StateDir == ""
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	base := deps.Logger
	if base == nil {
		base = slog.Default()
	}
	log := base.With("component", "edge", "node", cfg.NodeID)
	metricsToken, err := cfg.Metrics.LoadToken()
	if err != nil {
		return nil, err
	}
	reg, gatherer, err := metricsRegistry(cfg.Metrics, deps.Registerer)
	if err != nil {
		return nil, err
	}
	deps.Registerer = reg

	src := deps.GPUSource
	if src == nil {
		src = (&gpu.Discoverer{}).Source(cfg.GPUs)
	}
	dctx, cancel := context.WithTimeout(context.Background(), discoverTimeout)
	gpus, discoverErr := src(dctx)
	cancel()
	switch {
	case errors.Is(discoverErr, gpu.ErrNoNvidiaSMI):
		// Logged once here; the sampler logs only when this changes.
		log.Warn("no nvidia-smi; running without GPUs, so no GPU session is placed here (--gpus fake:1xL4:24GB declares GPUs to try without one)", "err", discoverErr)
		gpus = nil
	case discoverErr != nil:
		return nil, fmt.Errorf("gpus: %w", discoverErr)
	}
	nic, err := deps.NICProbe.NICCapacity(cfg.NICMbps, cfg.NICIface)
	if err != nil {
		return nil, fmt.Errorf("%w: nic_mbps: %w", ErrNoNIC, err)
	}
	if nic.Mbps, err = calibratedEgress(cfg.Capacity.Profile, nic.Mbps, log); err != nil {
		return nil, err
	}

	id := deps.Identity
	if id == nil {
		// The data dir holds the node key: private however it was made.
		if err := fsperm.MkdirAll(cfg.DataDir); err != nil {
			return nil, fmt.Errorf("data_dir: %w", err)
		}
		if id, err = enroll(cfg, log); err != nil {
			return nil, err
		}
	}
	origins := api.New("", cfg.Join...).WithTLS(id.ClientConfig(pki.RolesOf(pki.RoleOrigin)))
	// Metrics listen first so the registration can name their address.
	msrv, err := listenMetrics(cfg.Metrics, gatherer, metricsToken, id, log)
	if err != nil {
		return nil, err
	}
	var ms *mediaServer
	fail := func(err error) (*Edge, error) {
		if ms != nil {
			ms.close()
		}
		if msrv != nil {
			msrv.Close(context.Background())
		}
		return nil, err
	}
	if cfg.Media.Enabled() {
		if ms, err = startMedia(cfg.Media, cfg.NodeID, cfg.Region, id, origins, base.With("node", cfg.NodeID), deps.Registerer); err != nil {
			return fail(err)
		}
		a := ms.addrs()
		cfg.Advertise.QUIC = cmp.Or(cfg.Advertise.QUIC, a.QUIC)
		cfg.Advertise.WHIP = cmp.Or(cfg.Advertise.WHIP, a.WHIP)
		cfg.Advertise.WebRTC = cmp.Or(cfg.Advertise.WebRTC, a.WebRTC)
		if deps.Load == nil {
			deps.Load = ms.load
		}
	}

	meta := gossip.Meta{
		ID: cfg.NodeID, Role: gossip.RoleEdge, Region: cfg.Region, Zone: cfg.Zone,
		Lat: cfg.Lat, Lon: cfg.Lon,
		Addrs: gossip.Addrs{API: cfg.Advertise.API, QUIC: cfg.Advertise.QUIC,
			WebRTC: cfg.Advertise.WebRTC, WHIP: cfg.Advertise.WHIP},
		NICMbps: uint64(nic.Mbps), GPUCount: uint32(len(gpus)), GPUDigest: gpu.Digest(gpus),
	}
	gcfg := poolConfig(cfg, meta)
	pool, err := gossip.New(gcfg, gossip.Deps{Logger: base, Registerer: deps.Registerer}) // gossip adds its own component
	if err != nil {
		return fail(fmt.Errorf("gossip: %w", err))
	}

	e := &Edge{
		cfg: cfg, log: log, api: origins, pool: pool, media: ms, id: id, metricsSrv: msrv,
		sampler: gpu.NewSampler(src, cfg.LoadInterval, base.With("node", cfg.NodeID), nil),
		rec:     deps.Reconciler, loadSrc: deps.Load, cpu: cpuMeter{file: deps.CPUStatFile}, meta: meta,
	}
	e.sampler.Prime(gpus, discoverErr)
	if e.rec == nil && cfg.Runtime.Enabled() {
		var hub *media.Hub
		if ms != nil {
			hub = ms.relay.Hub()
		}
		err := e.startRunner(cfg, origins, hub, base)
		switch {
		case err != nil && !runtimeDefaulted:
			// Asked for explicitly: a failed start unwinds at once,
			// nothing was announced yet.
			stopNow, cancel := context.WithCancel(context.Background())
			cancel()
			_ = pool.Close(stopNow)
			return fail(fmt.Errorf("runtime: %w", err))
		case err != nil:
			// The default runtime cannot run here: the edge still
			// serves media, says so once, and fails what is placed here
			// with the reason rather than leave it placed.
			why := fmt.Sprintf("edge %s cannot run sessions: %v; fix that, set --runtime-state-dir, or start the edge with --runtime none", cfg.NodeID, err)
			log.Error("this edge cannot run sessions; sessions placed here fail", "err", err,
				"fix", "set --runtime-state-dir (runtime.state_dir) to a directory the instance user can pass through, or --runtime none")
			e.rec = &refusingReconciler{node: cfg.NodeID, why: why, api: origins, log: log}
		default:
			e.rec = e.runner
		}
	}
	if e.rec == nil && cfg.Runtime.Driver == DriverNone {
		e.rec = &refusingReconciler{node: cfg.NodeID, api: origins, log: log,
			why: fmt.Sprintf("edge %s runs no sessions (--runtime none): start it with --runtime process, or keep GPU sessions off it (--gpus none)", cfg.NodeID)}
	}
	if e.rec == nil {
		e.rec = &LogReconciler{Log: log}
	}
	addrs := addrMap(cfg.Advertise, pool.Addr())
	if msrv != nil {
		addrs["metrics"] = metricsrv.AdvertiseAddr(cfg.Advertise.Metrics, msrv.Addr(), pool.Addr())
	}
	e.reg = registration(cfg, addrs, gpus, nic.Mbps)
	if e.runner != nil {
		e.reg.Runtimes = e.runner.Runtimes()
	}
	log.Info("edge starting", "gpus", len(gpus), "nic_mbps", nic.Mbps, "nic_iface", nic.Iface,
		"gossip", pool.Addr(), "origins", cfg.Join)

	e.ctrlCtx, e.ctrlCancel = context.WithCancel(context.Background())
	e.dataCtx, e.dataCancel = context.WithCancel(context.Background())
	e.dataWG.Go(func() { _ = e.sampler.Run(e.dataCtx) })
	e.dataWG.Go(func() { e.publishLoad(e.dataCtx) })
	if ms != nil {
		src := newSourceReporter(ms.hub, reportSource(origins), cfg.NodeID, log)
		e.dataWG.Go(func() { src.run(e.dataCtx) })
	}
	e.renewer = pki.NewRenewer(pki.RenewerConfig{Holder: id, Renew: pki.APIRenewer(origins), Dir: e.pkiDir(), Logger: log})
	e.ctrlWG.Go(func() { e.joinPool(e.ctrlCtx) })
	e.ctrlWG.Go(func() { e.registerLoop(e.ctrlCtx) })
	e.ctrlWG.Go(func() { e.follow(e.ctrlCtx) })
	return e, nil
}

// startRunner makes the session runtime: the process driver and the
// runner over it.
func (e *Edge) startRunner(cfg Config, origins *api.Client, hub *media.Hub, base *slog.Logger) error {
	drvs, err := newDrivers(cfg, origins, base.With("node", cfg.NodeID))
	if err != nil {
		return err
	}
	e.runner, err = NewRunner(RunnerConfig{NodeID: cfg.NodeID, StopGrace: cfg.Runtime.StopGrace, IdleMinute: cfg.Runtime.IdleMinute},
		RunnerDeps{API: origins, Drivers: drvs, Hub: hub, Logger: base})
	if err != nil {
		stopNow, cancel := context.WithCancel(context.Background())
		cancel()
		for _, d := range drvs {
			_ = d.Close(stopNow)
		}
		return err
	}
	return nil
}

func poolConfig(cfg Config, meta gossip.Meta) gossip.Config {
	host, port, _ := netutil.SplitHostPort(cfg.Gossip.Addr) // validated
	g := gossip.Config{
		Meta: meta, BindAddr: host, BindPort: port, Keys: cfg.Gossip.Keys, Seeds: cfg.Gossip.Seeds,
		Profile: gossip.Profile(cfg.Gossip.Profile), LoadInterval: cfg.LoadInterval,
		LeaveTimeout: cfg.LeaveTimeout,
	}
	if cfg.Gossip.Advertise != "" {
		g.AdvertiseAddr, g.AdvertisePort, _ = netutil.SplitHostPort(cfg.Gossip.Advertise)
	}
	return g
}

func addrMap(a AdvertiseConfig, gossipAddr string) map[string]string {
	m := map[string]string{"gossip": gossipAddr}
	for k, v := range map[string]string{"api": a.API, "quic": a.QUIC, "webrtc": a.WebRTC, "whip": a.WHIP} {
		if v != "" {
			m[k] = v
		}
	}
	return m
}

// ID is the node id.
func (e *Edge) ID() string { return e.cfg.NodeID }

// Pool is the edge's gossip membership (read-only use: Members, Member).
func (e *Edge) Pool() *gossip.Pool { return e.pool }

// Meta is the metadata this edge currently gossips.
func (e *Edge) Meta() gossip.Meta {
	e.metaMu.Lock()
	defer e.metaMu.Unlock()
	return e.meta
}

// MediaCertSHA256 is the SHA-256 of the edge's self-signed media
// certificate, for WebTransport's serverCertificateHashes; ok is false
// when media is off or certificate files are configured.
func (e *Edge) MediaCertSHA256() (sum [32]byte, ok bool) {
	if e.media == nil {
		return sum, false
	}
	return e.media.CertSHA256()
}

// Registration is the description the edge registers with the origins.
func (e *Edge) Registration() api.NodeRegistration { return e.reg }

// joinPool joins the gossip pool through the configured seeds or, without
// any, through the origins' gossip addresses, retrying until it succeeds.
func (e *Edge) joinPool(ctx context.Context) {
	bo := newBackoff(200*time.Millisecond, 10*time.Second)
	for ctx.Err() == nil {
		seeds := e.cfg.Gossip.Seeds
		var err error
		if len(seeds) == 0 {
			seeds, err = originSeeds(ctx, e.api)
		}
		if err == nil {
			var n int
			if n, err = e.pool.Join(seeds); err == nil {
				e.log.Info("joined gossip pool", "seeds", seeds, "answered", n)
				return
			}
		}
		if ctx.Err() != nil {
			return
		}
		e.log.Warn("gossip join failed; retrying", "err", err, "retry_in", bo.peek())
		bo.wait(ctx)
	}
}

// registerLoop posts the registration until an origin accepts it. A 404
// (an origin that does not serve the route yet) and unreachable origins
// are retried with backoff like any other failure.
func (e *Edge) registerLoop(ctx context.Context) {
	bo := newBackoff(200*time.Millisecond, 30*time.Second)
	for ctx.Err() == nil {
		err := register(ctx, e.api, e.reg)
		if err == nil {
			e.log.Info("registered with the registry", "gpus", len(e.reg.GPUs), "nic_mbps", e.reg.NICMbps)
			return
		}
		if ctx.Err() != nil {
			return
		}
		if api.StatusOf(err) == http.StatusNotFound {
			e.log.Info("origin does not accept registrations yet; retrying", "retry_in", bo.peek())
		} else {
			e.log.Warn("registration failed; retrying", "err", err, "retry_in", bo.peek())
		}
		bo.wait(ctx)
	}
}

// Drain marks this edge draining in gossip so placement stops choosing
// it and waits DrainGrace for its sessions to move, or until ctx ends
// (e.g. a second signal) or the edge closes. Close follows it: that is
// where the edge leaves the pool.
func (e *Edge) Drain(ctx context.Context) error {
	e.lifeMu.Lock()
	if e.closed {
		e.lifeMu.Unlock()
		return ErrClosed
	}
	e.metaMu.Lock()
	e.meta.Draining = true
	meta := e.meta
	e.metaMu.Unlock()
	err := e.pool.UpdateMeta(meta)
	e.lifeMu.Unlock()
	if err != nil {
		// Peers still learn of the drain from the registry or the leave.
		e.log.Warn("draining flag not confirmed by gossip", "err", err)
	}
	e.log.Info("draining", "grace", e.cfg.DrainGrace)
	t := time.NewTimer(e.cfg.DrainGrace)
	select {
	case <-t.C:
	case <-ctx.Done():
		e.log.Info("drain grace cut short")
	case <-e.ctrlCtx.Done(): // closed meanwhile
	}
	t.Stop()
	return nil
}

// Close stops the edge in order: assignments, registration and seeding;
// the session runtime and the media plane; load publishing and GPU
// sampling; then the gossip member. ctx bounds the graceful part, the
// gossip leave (at most leave_timeout). A ctx already done stops the edge
// like a crash as far as peers can tell: its gossip member goes first
// and without a leave, so the pool detects a failure (and the registry
// re-places its sessions) while the rest still winds down in order. Safe
// to call more than once.
func (e *Edge) Close(ctx context.Context) error {
	e.closeOnce.Do(func() {
		leave := ctx.Err() == nil
		e.lifeMu.Lock()
		e.closed = true
		e.lifeMu.Unlock()
		if !leave {
			// Silence gossip first, so peers see the failure while the
			// rest winds down.
			e.closeErr = e.pool.Close(ctx)
		}
		e.ctrlCancel()
		e.ctrlWG.Wait()
		if e.runner != nil {
			// The runner owns the instances; it stops them before the
			// media plane they publish to goes away, with their full stop
			// grace however the edge stops: they are this process's
			// children and must not outlive it.
			if err := e.runner.Close(context.WithoutCancel(ctx)); err != nil {
				e.log.Warn("closing the session runtime", "err", err)
			}
		}
		if e.media != nil {
			// Viewers and publishers go before the load reports stop, so
			// the last report can show them leaving.
			e.media.close()
		}
		e.dataCancel()
		e.dataWG.Wait()
		if e.renewer != nil {
			_ = e.renewer.Close(ctx)
		}
		if leave {
			e.closeErr = e.pool.Close(ctx)
		}
		if e.metricsSrv != nil {
			e.metricsSrv.Close(ctx)
		}
		e.log.Info("edge stopped", "graceful", leave)
	})
	return e.closeErr
}
