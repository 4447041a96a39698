package edge

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"path/filepath"
	"sync"
	"time"

	"github.com/strata-edge/strata/api"
	"github.com/strata-edge/strata/edge/runtime"
	"github.com/strata-edge/strata/edge/runtime/kubernetes"
	"github.com/strata-edge/strata/transport/media"
)

// RuntimeConfig turns on the session runtime: with Driver "process" (the
// default of `strata edge`) or StateDir set, the edge runs the sessions
// placed on it with the process driver; with Driver "none" it reports
// them failed; a zero config (an embedded edge in tests) only logs its
// assignments and warns once that they will not start.
type RuntimeConfig struct {
	// Driver is "process" or "none"; empty means process when StateDir
	// is set, else none.
	Driver string `yaml:"driver"`
	// StateDir keeps a PID file per instance; after a restart the edge
	// adopts the instances listed there and stops the orphans. Default
	// with Driver process: <data_dir>/runtime.
	StateDir string `yaml:"state_dir"`
	// StopGrace is how long a stopping instance has between SIGTERM and
	// SIGKILL (default 10 s).
	StopGrace time.Duration `yaml:"stop_grace"`
	// IdleMinute is the length of the minute an app's idle_minutes
	// counts (default 1m). Only tests shorten it.
	IdleMinute time.Duration `yaml:"idle_minute"`

	// User runs instances (name, name:group, uid or uid:gid). Empty: nobody
	// when the edge runs as root, else the edge's own user.
	User string `yaml:"user"`
	// AllowRoot permits instances to run as root; without it an edge
	// refuses to.
	AllowRoot bool `yaml:"allow_root"`
	// MaxOpenFiles and MaxProcesses are each instance's limits (defaults
	// 65536 and 4096, never above the edge's own hard limits).
	MaxOpenFiles uint64 `yaml:"max_open_files"`
	MaxProcesses uint64 `yaml:"max_processes"`
	// Cgroups is auto (default), required or off; CgroupParent the cgroup
	// holding the instances' (default "strata").
	Cgroups      string `yaml:"cgroups"`
	CgroupParent string `yaml:"cgroup_parent"`

	// Drivers are the runtimes the edge runs sessions with and
	// advertises to placement: process, docker, kubernetes (default:
	// process).
	Drivers []string `yaml:"drivers"`
	// Docker configures the docker driver.
	Docker DockerConfig `yaml:"docker"`
	// Kubernetes configures the kubernetes driver.
	Kubernetes KubernetesConfig `yaml:"kubernetes"`
}

// KubernetesConfig is the kubernetes driver's part of the edge
// configuration (see kubernetes.Config). The empty defaults come from the
// environment a DaemonSet gives its Pods through the downward API.
type KubernetesConfig struct {
	// Kubeconfig is a kubeconfig file; empty: the in-cluster config.
	Kubeconfig string `yaml:"kubeconfig"`
	// Namespace holds the instances' Pods; empty: $POD_NAMESPACE, else
	// default.
	Namespace string `yaml:"namespace"`
	// Node is the edge's own Kubernetes node; empty: $NODE_NAME.
	Node string `yaml:"node"`
	// OwnerPod is the edge's own Pod, owner of the instances' Pods;
	// empty: $POD_NAME, and no owner reference without it.
	OwnerPod string `yaml:"owner_pod"`
	// GPUs is cdi (default) or resource.
	GPUs string `yaml:"gpus"`
	// Network is host (default) or pod.
	Network string `yaml:"network"`
	// OrphanGrace is how old an unowned Pod with Strata labels must be
	// before it is deleted (default 5m).
	OrphanGrace time.Duration `yaml:"orphan_grace"`
	// SweepInterval is how often orphans are looked for (default half
	// the grace, within 1s..1m).
	SweepInterval time.Duration `yaml:"sweep_interval"`
}

// driverConfig is the kubernetes driver's configuration for node, the
// empty settings filled from the Pod's environment (getenv).
func (c KubernetesConfig) driverConfig(node string, getenv func(string) string) kubernetes.Config {
	or := func(v, env string) string {
		if v != "" {
			return v
		}
		return getenv(env)
	}
	return kubernetes.Config{
		NodeID: node, NodeName: or(c.Node, "NODE_NAME"), Namespace: or(c.Namespace, "POD_NAMESPACE"),
		Kubeconfig: c.Kubeconfig, OwnerPod: or(c.OwnerPod, "POD_NAME"), GPUs: c.GPUs, Network: c.Network,
		OrphanGrace: c.OrphanGrace, SweepInterval: c.SweepInterval,
	}
}

// DockerConfig is the docker driver's part of the edge configuration
// (see docker.Config).
type DockerConfig struct {
	// Host is the engine's address; empty: DOCKER_HOST, else the
	// engine's default socket.
	Host string `yaml:"host"`
	// Network is the containers' network mode (default host).
	Network string `yaml:"network"`
	// GPUs is auto (default), cdi or nvidia.
	GPUs string `yaml:"gpus"`
	// OrphanGrace is how old an unowned container with Strata labels
	// must be before it is removed (default 5m).
	OrphanGrace time.Duration `yaml:"orphan_grace"`
	// SweepInterval is how often orphans are looked for (default half
	// the grace, within 1s..1m).
	SweepInterval time.Duration `yaml:"sweep_interval"`
}

// drivers are the configured runtime names, process when none.
func (c RuntimeConfig) drivers() []string {
	if len(c.Drivers) == 0 {
		return []string{string(api.RuntimeProcess)}
	}
	return c.Drivers
}

// processConfig is the process driver's configuration.
func (c RuntimeConfig) processConfig() runtime.ProcessConfig {
	return runtime.ProcessConfig{
		StateDir: c.StateDir, User: c.User, AllowRoot: c.AllowRoot,
		MaxOpenFiles: c.MaxOpenFiles, MaxProcesses: c.MaxProcesses,
		Cgroups: c.Cgroups, CgroupParent: c.CgroupParent,
	}
}

// Runtime drivers an edge config names.
const (
	DriverProcess = "process"
	DriverNone    = "none"
)

// Enabled reports whether the edge runs sessions.
func (c RuntimeConfig) Enabled() bool { return c.Driver != DriverNone && c.StateDir != "" }

// setDefaults puts the process driver's state beside the edge's other
// state, so an edge runs its sessions without being told where.
func (c *RuntimeConfig) setDefaults(dataDir string) {
	if c.Driver == DriverProcess && c.StateDir == "" && dataDir != "" {
		c.StateDir = filepath.Join(dataDir, "runtime")
	}
}

// defaultStopGrace is RuntimeConfig.StopGrace's default.
const defaultStopGrace = 10 * time.Second

// errRestarting means an assigned session's instance is still stopping;
// Reconcile fails with it so the follower retries and starts it afresh.
var errRestarting = errors.New("edge: instance of an earlier placement still stopping")

// idleCheckEvery bounds how often a running session's viewers are counted.
const idleCheckEvery = time.Second

// Runner is the Reconciler that runs sessions through a runtime driver.
// Desired: the sessions assigned here in placed, starting or running.
// Actual: the driver's instances. It starts what is missing, stops what
// is no longer assigned, reports starting before a start, failed when an
// instance exits on its own, and running when the session's video track
// in this edge's hub receives its first group (a keyframe).
//
// Restarting a failed session is the control plane's job (the app's
// restart_policy), not the edge's: a session that failed here is not
// started again while its stale assignment lingers, only when the
// control plane places it anew (placed, at a later index).
//
// Goroutines: one per instance (exit and first-keyframe watch) and one
// per stop in progress, all ended by Close.
type Runner struct {
	node string
	api  *api.Client
	// drivers by runtime name; order is drvOrder (adoption, Close).
	drivers  map[string]runtime.Driver
	drvOrder []runtime.Driver
	hub      *media.Hub // nil: no media plane, sessions never report running
	grace    time.Duration
	// idleMinute is what one of an app's idle_minutes lasts.
	idleMinute time.Duration
	log        *slog.Logger

	ctx    context.Context // the runner's life; ended by Close
	cancel context.CancelFunc
	wg     sync.WaitGroup
	starts sync.WaitGroup // driver starts in flight (outside mu)

	mu      sync.Mutex
	adopted bool
	closed  bool
	inst    map[string]*managed // by session ID
	// failed holds the sessions that failed here, with the index of the
	// assignment that failed: not started again until the control plane
	// places them anew (restart_policy), i.e. until they come back placed
	// at a later index.
	failed map[string]uint64
}

// managed is one instance the runner owns.
type managed struct {
	in     runtime.Instance
	tenant string
	// index is the ModifyIndex of the assignment it was started for (0
	// when adopted).
	index uint64
	// idleAfter, when set, is how long the session may run without a
	// viewer before the edge reports it idle (the app's idle policy).
	idleAfter time.Duration
	stopping  bool
}

var _ Reconciler = (*Runner)(nil)

// RunnerConfig configures a Runner. A zero field means its default.
type RunnerConfig struct {
	// NodeID is the edge whose assigned sessions the runner runs. Required.
	NodeID string
	// StopGrace is how long a stopping instance has between SIGTERM and
	// SIGKILL (default 10 s).
	StopGrace time.Duration
	// IdleMinute is what one of an app's idle_minutes lasts (default 1m).
	IdleMinute time.Duration
}

func (c *RunnerConfig) setDefaults() {
	if c.StopGrace <= 0 {
		c.StopGrace = defaultStopGrace
	}
	if c.IdleMinute <= 0 {
		c.IdleMinute = time.Minute
	}
}

// Validate reports the first invalid setting, naming its key.
func (c *RunnerConfig) Validate() error {
	if c.NodeID == "" {
		return fmt.Errorf("%w: node_id: required", ErrInvalid)
	}
	return nil
}

// RunnerDeps are a Runner's collaborators.
type RunnerDeps struct {
	// API reads apps and publisher tokens and takes session reports.
	API *api.Client
	// Driver runs the instances; the runner closes it.
	Driver runtime.Driver
	// Drivers are more drivers, one per runtime name (Driver may be nil
	// when they are given); the runner closes them too.
	Drivers []runtime.Driver
	// Hub is the edge's track hub; nil: sessions never report running.
	Hub    *media.Hub
	Logger *slog.Logger // nil is slog.Default()
}

// NewRunner returns a Runner that reads apps and publisher tokens through
// deps.API and reports session states back. It starts nothing: Reconcile
// drives it, Close stops it.
func NewRunner(cfg RunnerConfig, deps RunnerDeps) (*Runner, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	drivers := map[string]runtime.Driver{}
	var order []runtime.Driver
	for _, d := range append([]runtime.Driver{deps.Driver}, deps.Drivers...) {
		if d == nil {
			continue
		}
		if _, dup := drivers[d.Name()]; dup {
			return nil, fmt.Errorf("%w: runtime %q given twice", ErrInvalid, d.Name())
		}
		drivers[d.Name()] = d
		order = append(order, d)
	}
	if deps.API == nil || len(order) == 0 {
		return nil, fmt.Errorf("%w: runner needs an API client and a runtime driver", ErrInvalid)
	}
	log := deps.Logger
	if log == nil {
		log = slog.Default()
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Runner{
		node: cfg.NodeID, api: deps.API, drivers: drivers, drvOrder: order, hub: deps.Hub, grace: cfg.StopGrace, idleMinute: cfg.IdleMinute,
		log: log.With("component", "runtime", "node", cfg.NodeID),
		ctx: ctx, cancel: cancel, inst: map[string]*managed{}, failed: map[string]uint64{},
	}, nil
}

// SetIdleMinute shortens the minute of apps' idle_minutes (tests); call
// it before the first Reconcile. Zero or less keeps one minute.
func (r *Runner) SetIdleMinute(d time.Duration) {
	if d > 0 {
		r.mu.Lock()
		r.idleMinute = d
		r.mu.Unlock()
	}
}

// Reconcile implements Reconciler.
func (r *Runner) Reconcile(ctx context.Context, sessions []api.Session) error {
	if err := r.adopt(ctx); err != nil {
		return err
	}
	desired := map[string]api.Session{}
	for _, s := range sessions {
		if s.State.Live() && s.Reservation != nil && s.Reservation.NodeID == r.node {
			desired[s.ID] = s
		}
	}
	r.mu.Lock()
	var errs []error
	for id, m := range r.inst {
		s, ok := desired[id]
		switch {
		case !ok && !m.stopping:
			r.stopLocked(id, m, "no longer assigned", r.grace)
		case ok && !m.stopping && m.index != 0 && s.State == api.StatePlaced && s.ModifyIndex > m.index:
			// Placed anew (woken, or restarted by the control plane)
			// while the instance of an earlier placement still runs:
			// this edge missed the release in between. Start afresh.
			r.stopLocked(id, m, "placed anew", r.grace)
			fallthrough
		case ok && m.stopping:
			// Started again once the stop is through: the error makes
			// the follower hand the same set again after a backoff.
			errs = append(errs, fmt.Errorf("session %s: %w", id, errRestarting))
		}
	}
	for id := range r.failed {
		if _, ok := desired[id]; !ok {
			delete(r.failed, id) // its assignment is gone; a new placement may run it again
		}
	}
	var start []api.Session
	for id, s := range desired {
		at, failed := r.failed[id]
		if _, ok := r.inst[id]; !ok && (!failed || s.State == api.StatePlaced && s.ModifyIndex > at) {
			start = append(start, s)
		}
	}
	r.mu.Unlock()

	// Starts run side by side (a container start takes the engine
	// hundreds of milliseconds); Reconcile returns once all are through,
	// so the next one sees them in r.inst.
	var (
		wg   sync.WaitGroup
		emu  sync.Mutex
		slot = make(chan struct{}, maxParallelStarts)
	)
	for _, s := range start {
		wg.Go(func() {
			slot <- struct{}{}
			defer func() { <-slot }()
			if err := r.start(ctx, s); err != nil {
				emu.Lock()
				errs = append(errs, fmt.Errorf("session %s: %w", s.ID, err))
				emu.Unlock()
			}
		})
	}
	wg.Wait()
	return errors.Join(errs...)
}

// maxParallelStarts bounds the instance starts one Reconcile runs at once.
const maxParallelStarts = 8

// adopt takes over, once, the instances an earlier edge process left; the
// first Reconcile then stops those no longer assigned.
func (r *Runner) adopt(ctx context.Context) error {
	r.mu.Lock()
	done := r.adopted
	r.mu.Unlock()
	if done {
		return nil
	}
	var ins []runtime.Instance
	for _, d := range r.drvOrder {
		got, err := d.Adopt(ctx)
		if err != nil {
			return fmt.Errorf("adopt %s instances: %w", d.Name(), err)
		}
		ins = append(ins, got...)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.adopted = true
	for _, in := range ins {
		if _, dup := r.inst[in.SessionID()]; dup {
			m := &managed{in: in}
			r.stopLocked(in.SessionID(), m, "duplicate instance", r.grace)
			continue
		}
		m := &managed{in: in}
		r.inst[in.SessionID()] = m
		r.watch(in.SessionID(), m)
	}
	return nil
}

// start prepares and starts one session's instance. Errors that a retry
// may cure (origins unreachable) are returned; a session that cannot run
// (wrong runtime, no command, exec failure) is reported failed instead.
func (r *Runner) start(ctx context.Context, s api.Session) error {
	app, err := r.api.Apps().Get(ctx, s.AppID, "")
	if err != nil {
		return fmt.Errorf("read app %s: %w", s.AppID, err)
	}
	name := string(app.Runtime)
	if name == "" {
		name = string(api.RuntimeProcess)
	}
	drv, ok := r.drivers[name]
	if !ok {
		r.mu.Lock()
		r.failLocked(s.ID, s.ModifyIndex, fmt.Sprintf("runtime %q is not available on edge %s", name, r.node), nil)
		r.mu.Unlock()
		return nil
	}
	pub, err := r.api.Sessions().Publisher(ctx, s.ID)
	if err != nil {
		return fmt.Errorf("publisher token: %w", err)
	}
	if s.State == api.StatePlaced {
		if err := r.report(ctx, s.ID, api.StateStarting, "", nil); err != nil {
			return err
		}
	}
	spec := runtime.Spec{
		SessionID: s.ID, TenantID: s.TenantID, AppID: s.AppID,
		Command: app.Command, Args: app.Args, Image: app.Image, Env: app.Env,
		PullPolicy: string(app.PullPolicy), Volume: app.Volume, ShmMB: app.ShmMB, Generation: s.Placements,
		PublishURL: pub.MoQURL, PublishToken: pub.Token,
		// Input travels on the session's own MoQ broadcast (its input
		// track), so the input endpoint is the MoQ endpoint.
		InputURL:  pub.MoQURL,
		WHIPURL:   pub.WHIPURL,
		CPUMillis: app.CPUMillis, MemoryMB: app.MemoryMB,
	}
	if spec.PublishURL == "" {
		spec.PublishURL = pub.WHIPURL
	}
	for _, g := range s.Reservation.GPUs {
		spec.GPUs = append(spec.GPUs, runtime.GPU{Index: int(g.Index), UUID: g.UUID})
	}
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return ErrClosed
	}
	// Close waits for starts in flight before it stops the instances, so
	// it cannot miss one that lands after it began.
	r.starts.Add(1)
	r.mu.Unlock()
	defer r.starts.Done()
	in, err := drv.Start(ctx, spec)
	r.mu.Lock()
	if err != nil {
		r.log.Warn("instance failed to start", "session", s.ID, "err", err)
		// The session's reason: what failed where, and what to look at.
		r.failLocked(s.ID, s.ModifyIndex, fmt.Sprintf("edge %s could not start the app's command (check its --command and the edge's log): %v", r.node, err), nil)
		r.mu.Unlock()
		return nil
	}
	m := &managed{in: in, tenant: s.TenantID, index: s.ModifyIndex}
	if (app.IdlePolicy == api.IdleHibernate || app.IdlePolicy == api.IdleTerminate) && app.IdleMinutes > 0 {
		m.idleAfter = time.Duration(app.IdleMinutes) * r.idleMinute
	}
	r.inst[s.ID] = m
	r.watch(s.ID, m)
	r.mu.Unlock()
	return nil
}

// watch starts the instance's goroutine: it reports running at the first
// keyframe and failed on an exit the runner did not ask for. r.mu held.
func (r *Runner) watch(session string, m *managed) {
	r.wg.Go(func() {
		ctx, cancel := context.WithCancel(r.ctx)
		var kf sync.WaitGroup
		defer func() { cancel(); kf.Wait() }()
		if r.hub != nil && m.tenant != "" {
			kf.Go(func() {
				ns := media.Namespace{Tenant: m.tenant, Session: session}
				if r.firstKeyframe(ctx, ns) {
					r.reportRetry(ctx, session, api.StateRunning, "", nil)
					if m.idleAfter > 0 {
						r.watchIdle(ctx, session, ns, m.idleAfter)
					}
				}
			})
		}
		select {
		case <-r.ctx.Done():
			return
		case <-m.in.Done():
		}
		reason, code := "instance exited with status 0", new(int)
		if err := m.in.Err(); err != nil {
			reason = err.Error()
			var ee *runtime.ExitError
			if errors.As(err, &ee) && !ee.Unknown && ee.Code >= 0 {
				*code = ee.Code
			} else {
				code = nil // killed by a signal, or unknown
			}
		}
		r.mu.Lock()
		defer r.mu.Unlock()
		if r.inst[session] == m {
			delete(r.inst, session)
		}
		if !m.stopping {
			r.log.Warn("instance exited unexpectedly", "session", session, "reason", reason)
			r.failLocked(session, m.index, reason, code)
		}
	})
}

// watchIdle reports the session idle once its broadcast has had no
// subscriber for after, then returns; the origin applies the app's idle
// policy (hibernate or terminate), which unassigns the session. Every
// viewer of the session counts here, also those of other edges: they
// relay from this one, the ingest edge.
func (r *Runner) watchIdle(ctx context.Context, session string, ns media.Namespace, after time.Duration) {
	t := time.NewTicker(min(max(after/10, 10*time.Millisecond), idleCheckEvery))
	defer t.Stop()
	since := time.Now()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			if r.viewers(ns) > 0 {
				since = now
				continue
			}
			if idle := now.Sub(since); idle >= after {
				r.log.Info("session idle", "session", session, "idle", idle)
				rep := api.SessionIdleReport{NodeID: r.node, IdleSeconds: int64(idle / time.Second)}
				r.retry(ctx, session, "idle", rep, func() error {
					_, err := r.api.Sessions().ReportIdle(ctx, session, rep)
					return err
				})
				return
			}
		}
	}
}

// viewers counts the subscribers of the broadcast's busiest media track.
// Other tracks do not count: the instance itself subscribes to its input
// track, and players read the catalog once.
func (r *Runner) viewers(ns media.Namespace) int64 {
	b, ok := r.hub.Broadcast(ns)
	if !ok {
		return 0
	}
	var n int64
	for _, t := range b.Tracks() {
		if k := t.Info().Kind; k == media.KindVideo || k == media.KindAudio {
			n = max(n, t.Stats().Subscribers)
		}
	}
	return n
}

// firstKeyframe waits until the broadcast ns has a video track with a
// group; groups start at keyframes. It reports whether one came before
// ctx ended.
func (r *Runner) firstKeyframe(ctx context.Context, ns media.Namespace) bool {
	w := r.hub.Watch()
	defer w.Close()
	for {
		ev, err := w.Next(ctx)
		if err != nil {
			return false
		}
		if ev.Kind != media.TrackAdded || ev.Namespace != ns || ev.Remote {
			continue
		}
		b, ok := r.hub.Broadcast(ns)
		if !ok {
			continue
		}
		t, ok := b.Track(ev.Track)
		if !ok || t.Info().Kind != media.KindVideo {
			continue
		}
		sub := t.Subscribe()
		_, err = sub.NextGroup(ctx)
		sub.Close()
		if err == nil {
			return true
		}
		if ctx.Err() != nil {
			return false
		}
		// The track ended without a group; wait for the next one.
	}
}

// failLocked marks a session failed here and reports it in the
// background. r.mu held.
func (r *Runner) failLocked(session string, index uint64, reason string, code *int) {
	r.failed[session] = index
	if r.closed {
		return
	}
	r.wg.Go(func() { r.reportRetry(r.ctx, session, api.StateFailed, truncateReason(reason), code) })
}

// stopLocked stops an instance in the background. r.mu held.
func (r *Runner) stopLocked(session string, m *managed, why string, grace time.Duration) {
	m.stopping = true
	r.log.Info("stopping instance", "session", session, "instance", m.in.ID(), "why", why)
	in := m.in
	r.wg.Go(func() {
		// Stop runs to the end even during Close: grace, then SIGKILL.
		if err := in.Stop(context.Background(), grace); err != nil {
			r.log.Warn("stop failed", "session", session, "err", err)
		}
		r.mu.Lock()
		if r.inst[session] == m {
			delete(r.inst, session)
		}
		r.mu.Unlock()
	})
}

// report sets a session's state at the origins; code is the exit status
// of a failed instance, when known.
func (r *Runner) report(ctx context.Context, session string, state api.SessionState, reason string, code *int) error {
	rep := api.SessionStateReport{NodeID: r.node, State: state, Reason: reason, ExitCode: code}
	if _, err := r.api.Sessions().ReportState(ctx, session, rep); err != nil {
		return fmt.Errorf("report %s: %w", state, err)
	}
	r.log.Info("session state reported", "session", session, "state", state, "reason", reason)
	return nil
}

// reportRetry reports until the origins answer; a 4xx answer (the
// session moved on, e.g. was terminated) is final.
func (r *Runner) reportRetry(ctx context.Context, session string, state api.SessionState, reason string, code *int) {
	rep := api.SessionStateReport{NodeID: r.node, State: state, Reason: reason, ExitCode: code}
	r.retry(ctx, session, "state", rep, func() error {
		_, err := r.api.Sessions().ReportState(ctx, session, rep)
		return err
	})
}

// retry sends a report about a session until the origins answer; a 4xx
// answer (the session moved on, e.g. was terminated) is final.
func (r *Runner) retry(ctx context.Context, session, kind string, body any, send func() error) {
	bo := newBackoff(100*time.Millisecond, 5*time.Second)
	for ctx.Err() == nil {
		err := send()
		if st := api.StatusOf(err); err == nil || st >= 400 && st < 500 && st != http.StatusTooManyRequests {
			if err != nil {
				r.log.Info("session report refused", "session", session, "report", kind, "err", err)
			} else {
				r.log.Info("session reported", "session", session, "report", kind, "body", body)
			}
			return
		}
		r.log.Warn("session report failed; retrying", "session", session, "report", kind, "err", err)
		bo.wait(ctx)
	}
}

// Close stops every instance (SIGTERM, then SIGKILL after the stop grace)
// and ends the runner's goroutines. ctx bounds the graceful part: the
// grace of the instances it stops ends at ctx's deadline, and a ctx
// already done kills them at once. An edge that crashes instead leaves
// its instances running; the next edge process adopts them from the PID
// files. Safe to call more than once.
func (r *Runner) Close(ctx context.Context) error {
	grace := r.grace
	if d, ok := ctx.Deadline(); ok {
		grace = min(grace, max(time.Until(d), 0))
	}
	if ctx.Err() != nil {
		grace = 0
	}
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	r.closed = true
	r.mu.Unlock()
	r.starts.Wait() // what they start is in r.inst afterwards
	r.mu.Lock()
	for id, m := range r.inst {
		if !m.stopping {
			r.stopLocked(id, m, "edge closing", grace)
		}
	}
	r.mu.Unlock()
	r.cancel()
	r.wg.Wait()
	var errs []error
	for _, d := range r.drvOrder {
		errs = append(errs, d.Close(ctx))
	}
	return errors.Join(errs...)
}

// Runtimes are the names of the runner's drivers, which the edge
// advertises so placement sends it only sessions it can run.
func (r *Runner) Runtimes() []api.Runtime {
	out := make([]api.Runtime, len(r.drvOrder))
	for i, d := range r.drvOrder {
		out[i] = api.Runtime(d.Name())
	}
	return out
}

func truncateReason(s string) string {
	if len(s) > 256 {
		return s[:256]
	}
	return s
}
