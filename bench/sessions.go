package bench

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/strata-edge/strata/api"
	"github.com/strata-edge/strata/edge"
	"github.com/strata-edge/strata/internal/containerimage"
	"github.com/strata-edge/strata/internal/testcluster"
)

// SessionsOptions configure the sessions benchmark.
type SessionsOptions struct {
	// Count is the number of sessions timed from create to first frame
	// (default 100).
	Count int
	// Concurrency is how many of them start at once (default 8).
	Concurrency int
	// Origins in the local cluster (default 1: a start does not wait for
	// replication then; 3 measures with a quorum round per write).
	Origins int
	// Edges with the media plane and the process runtime (default 4).
	Edges int
	// Replace is how many sessions run while edges are killed one by one
	// (default min(Count, 20)).
	Replace int
	// Command is the instance every session runs (e.g. `strata
	// testsrc`); it gets the session environment. Required.
	Command []string
	// Runtime is process (default) or docker. With docker the timed
	// starts run Command's binary (static) in a container image the
	// bench imports through DOCKER_HOST, and the same number of process
	// starts is timed on the same cluster for comparison; the edge-loss
	// phase is not run.
	Runtime string
	// ViewerStall is how long a viewer waits for a frame before it routes
	// again, as a player's stall timeout (default 1 s).
	ViewerStall time.Duration
	// GossipProfile of the cluster (default lan: realistic failure
	// detection, which dominates re-placement).
	GossipProfile string
	// Dir for the cluster's data and instance state; a temporary
	// directory when empty.
	Dir      string
	Progress *Progress
}

// SessionsResult is what `strata bench sessions --json` prints.
type SessionsResult struct {
	Sessions      int     `json:"sessions"`
	Concurrency   int     `json:"concurrency"`
	Origins       int     `json:"origins"`
	Edges         int     `json:"edges"`
	Runtime       string  `json:"runtime"`
	GossipProfile string  `json:"gossip_profile"`
	ViewerStallMs float64 `json:"viewer_stall_ms"`
	// StartP50Ms, StartP99Ms: POST /v1/sessions → first video frame at a
	// MoQ subscriber routed by POST /v1/sessions/{id}/viewers; includes
	// placement, the edge starting the instance process, its MoQ publish
	// and the subscription.
	StartP50Ms  float64 `json:"start_p50_ms"`
	StartP99Ms  float64 `json:"start_p99_ms"`
	StartMaxMs  float64 `json:"start_max_ms"`
	StartErrors int     `json:"start_errors"`
	// ProcessStart*: with runtime docker, the same starts with the
	// process runtime in the same run.
	ProcessStartP50Ms  float64 `json:"process_start_p50_ms,omitempty"`
	ProcessStartP99Ms  float64 `json:"process_start_p99_ms,omitempty"`
	ProcessStartErrors int     `json:"process_start_errors,omitempty"`
	// ReplaceAfterEdgeLoss*: an edge killed (no goodbye) → the first
	// frame of each of its sessions at its viewer, which routes again
	// when its stream stops, from the edge the session was re-placed on.
	// Includes gossip failure detection and, when the viewer was playing
	// through an edge that kept relaying nothing, its stall timeout.
	Replaced                   int     `json:"replaced"`
	EdgeKills                  int     `json:"edge_kills"`
	ReplaceAfterEdgeLossP50Ms  float64 `json:"replace_after_edge_loss_p50_ms"`
	ReplaceAfterEdgeLossP99Ms  float64 `json:"replace_after_edge_loss_p99_ms"`
	ReplaceAfterEdgeLossErrors int     `json:"replace_after_edge_loss_errors"`
	ReplaceAfterEdgeLossMaxMs  float64 `json:"replace_after_edge_loss_max_ms"`
	// ReplaceRunning*: the control plane's part, edge killed → the
	// session reported running (first keyframe) on another edge.
	ReplaceRunningP50Ms float64 `json:"replace_running_p50_ms"`
	ReplaceRunningP99Ms float64 `json:"replace_running_p99_ms"`
}

// sessionTimeout bounds one measurement (a start, or a re-placement).
const sessionTimeout = 60 * time.Second

// Sessions runs a local cluster whose edges run every session's instance
// as a process, and times session starts and re-placements after edge
// failures, as a tenant and its viewers see them.
func Sessions(ctx context.Context, o SessionsOptions) (SessionsResult, error) {
	if o.Count == 0 {
		o.Count = 100
	}
	if o.Concurrency == 0 {
		o.Concurrency = 8
	}
	if o.Origins == 0 {
		o.Origins = 1
	}
	if o.Edges == 0 {
		o.Edges = 4
	}
	if o.Replace == 0 {
		o.Replace = min(o.Count, 20)
	}
	if o.GossipProfile == "" {
		o.GossipProfile = "lan"
	}
	if o.ViewerStall == 0 {
		o.ViewerStall = time.Second
	}
	if o.Runtime == "" {
		o.Runtime = string(api.RuntimeProcess)
	}
	res := SessionsResult{Sessions: o.Count, Concurrency: o.Concurrency, Origins: o.Origins, Edges: o.Edges,
		Runtime: o.Runtime, GossipProfile: o.GossipProfile, ViewerStallMs: ms(o.ViewerStall)}
	docker := o.Runtime == string(api.RuntimeDocker)
	switch {
	case o.Runtime != string(api.RuntimeProcess) && !docker:
		return res, fmt.Errorf("bench sessions: --runtime %q: want process or docker", o.Runtime)
	case docker && os.Getenv("DOCKER_HOST") == "":
		return res, errors.New("bench sessions: --runtime docker needs DOCKER_HOST (a Docker Engine API, e.g. Podman's service)")
	case len(o.Command) == 0:
		return res, errors.New("bench sessions: no instance command")
	case o.Edges < 2:
		return res, errors.New("bench sessions: --edges must be at least 2 to re-place after an edge loss")
	case o.Count < 1 || o.Concurrency < 1 || o.Replace < 1:
		return res, errors.New("bench sessions: --count, --concurrency and --replace must be positive")
	}
	dir, cleanup, err := workDir(o.Dir, "strata-bench-sessions-")
	if err != nil {
		return res, err
	}
	defer cleanup()
	p := o.Progress
	image := ""
	if docker {
		image = fmt.Sprintf("localhost/strata-bench:%d", os.Getpid())
		p.Step("importing %s into the engine at %s (%s as /strata)", image, os.Getenv("DOCKER_HOST"), o.Command[0])
		if err := containerimage.Import(ctx, "", image, o.Command[0]); err != nil {
			return res, err
		}
		defer func() { _ = containerimage.Remove(context.WithoutCancel(ctx), "", image) }()
	}
	p.Step("starting %d origin(s) and %d edges (%s runtime, gossip profile %s)", o.Origins, o.Edges, o.Runtime, o.GossipProfile)
	c, err := testcluster.Start(testcluster.Options{Origins: o.Origins, Dir: filepath.Join(dir, "origins"), GossipProfile: o.GossipProfile})
	if err != nil {
		return res, err
	}
	defer c.Close()
	ids := make([]string, o.Edges)
	if _, err := c.StartEdges(o.Edges, func(i int) testcluster.EdgeSpec {
		ids[i] = fmt.Sprintf("edge-%02d", i)
		s := testcluster.EdgeSpec{ID: ids[i], Region: "eu", Lat: 48 + float64(i)/10, Lon: 2 + float64(i)/10,
			GPUs: "fake:4xL4:24GB", NICMbps: 100000,
			Runtime: edge.RuntimeConfig{StateDir: filepath.Join(dir, ids[i]), StopGrace: 2 * time.Second}}
		if docker {
			s.Runtime.Drivers = []string{string(api.RuntimeProcess), string(api.RuntimeDocker)}
		}
		s.Media.QUICAddr, s.Media.HTTPAddr, s.Media.WebRTCAddr = "127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0"
		return s
	}); err != nil {
		return res, err
	}
	if err := c.WaitEdges(ids, 60*time.Second); err != nil {
		return res, err
	}
	admin := c.Client()
	ten, err := admin.Tenants().Create(ctx, api.TenantCreate{Name: "bench"})
	if err != nil {
		return res, err
	}
	spec := api.AppSpec{TenantID: ten.ID, Name: "testsrc", Command: o.Command, GPUs: 1, GPUMemoryMB: 1024, EgressMbps: 5}
	if docker {
		// No GPU: the fake GPUs have no CDI devices for a container to get.
		spec.GPUs, spec.GPUMemoryMB = 0, 0
	}
	procApp, err := admin.Apps().Create(ctx, spec)
	if err != nil {
		return res, err
	}
	app := procApp
	if docker {
		spec.Name, spec.Runtime, spec.Image, spec.Command = "testsrc-docker", api.RuntimeDocker, image, nil
		spec.ContainerFields = api.ContainerFields{Args: o.Command[1:], PullPolicy: api.PullNever}
		if app, err = admin.Apps().Create(ctx, spec); err != nil {
			return res, err
		}
	}
	b := &sessionsBench{ctx: ctx, admin: admin, tenant: ten.ID, app: app.ID, stall: o.ViewerStall}

	p.Step("start: %d sessions, %d at a time (create → first frame at a viewer; each ends once timed)", o.Count, o.Concurrency)
	starts, errs := b.starts(o.Count, o.Concurrency, p)
	res.StartErrors = errs
	res.StartP50Ms, res.StartP99Ms = percentileMs(starts, 0.5), percentileMs(starts, 0.99)
	if len(starts) > 0 {
		res.StartMaxMs = ms(slices.Max(starts))
	}
	p.Step("start: p50 %.0f ms, p99 %.0f ms, max %.0f ms, %d errors", res.StartP50Ms, res.StartP99Ms, res.StartMaxMs, errs)
	if ctx.Err() != nil {
		return res, ctx.Err()
	}
	if docker {
		p.Step("start (process runtime, for comparison): %d sessions, %d at a time", o.Count, o.Concurrency)
		pb := *b
		pb.app = procApp.ID
		pstarts, perrs := pb.starts(o.Count, o.Concurrency, p)
		res.ProcessStartErrors = perrs
		res.ProcessStartP50Ms, res.ProcessStartP99Ms = percentileMs(pstarts, 0.5), percentileMs(pstarts, 0.99)
		p.Step("start (process): p50 %.0f ms, p99 %.0f ms, %d errors", res.ProcessStartP50Ms, res.ProcessStartP99Ms, perrs)
		return res, ctx.Err()
	}

	p.Step("replace: %d watched sessions; killing edges one by one until one is left", o.Replace)
	replaced, running, rerrs, kills, err := b.replace(c, o.Replace, o.Edges-1, p)
	if err != nil {
		return res, err
	}
	res.ReplaceRunningP50Ms, res.ReplaceRunningP99Ms = percentileMs(running, 0.5), percentileMs(running, 0.99)
	res.Replaced, res.ReplaceAfterEdgeLossErrors, res.EdgeKills = len(replaced), rerrs, kills
	res.ReplaceAfterEdgeLossP50Ms, res.ReplaceAfterEdgeLossP99Ms = percentileMs(replaced, 0.5), percentileMs(replaced, 0.99)
	if len(replaced) > 0 {
		res.ReplaceAfterEdgeLossMaxMs = ms(slices.Max(replaced))
	}
	p.Step("replace: %d sessions over %d edge kills: at the viewer p50 %.0f ms, p99 %.0f ms; running again p50 %.0f ms, p99 %.0f ms; %d errors",
		len(replaced), kills, res.ReplaceAfterEdgeLossP50Ms, res.ReplaceAfterEdgeLossP99Ms, res.ReplaceRunningP50Ms, res.ReplaceRunningP99Ms, rerrs)
	return res, nil
}

// sessionsBench is the tenant side of the benchmark.
type sessionsBench struct {
	ctx         context.Context
	admin       *api.Client
	tenant, app string
	stall       time.Duration
}

// starts times n session starts, conc at a time.
func (b *sessionsBench) starts(n, conc int, p *Progress) ([]time.Duration, int) {
	var (
		mu    sync.Mutex
		out   []time.Duration
		errs  int
		next  atomic.Int64
		wg    sync.WaitGroup
		lastP time.Time
	)
	for range conc {
		wg.Go(func() {
			for b.ctx.Err() == nil && next.Add(1) <= int64(n) {
				d, err := b.startOne()
				mu.Lock()
				if err != nil {
					errs++
					if errs <= 3 {
						p.Step("start error: %v", err)
					}
				} else {
					out = append(out, d)
				}
				if done := len(out) + errs; time.Since(lastP) > 2*time.Second || done == n {
					lastP = time.Now()
					p.Step("start: %d/%d timed (%d errors)", done, n, errs)
				}
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	return out, errs
}

// startOne creates a session, watches it until the first frame, then
// terminates it.
func (b *sessionsBench) startOne() (time.Duration, error) {
	ctx, cancel := context.WithTimeout(b.ctx, sessionTimeout)
	defer cancel()
	t0 := time.Now()
	s, err := b.create(ctx)
	if err != nil {
		return 0, err
	}
	defer b.terminate(s.ID)
	frames, stop := testcluster.WatchSessionStall(ctx, b.admin, b.tenant, s.ID, b.stall)
	defer func() { cancel(); stop() }()
	select {
	case f := <-frames:
		return f.At.Sub(t0), nil
	case <-ctx.Done():
		return 0, fmt.Errorf("session %s: no frame within %s", s.ID, sessionTimeout)
	}
}

// create creates a session as a tenant's backend does, retrying while
// the origins answer "retry" (a leader election under load): the wait
// counts in the start time.
func (b *sessionsBench) create(ctx context.Context) (*api.Session, error) {
	for {
		s, err := b.admin.Sessions().Create(ctx, api.SessionSpec{TenantID: b.tenant, AppID: b.app})
		if err == nil || !testcluster.IsRetryable(err) {
			return s, err
		}
		select {
		case <-ctx.Done():
			return nil, err
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// terminate ends a timed session, retrying through a leader election.
func (b *sessionsBench) terminate(id string) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(b.ctx), sessionTimeout)
	defer cancel()
	for {
		_, err := b.admin.Sessions().Terminate(ctx, id, "")
		if err == nil || !testcluster.IsRetryable(err) || ctx.Err() != nil {
			return
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// watched is a running session and its viewer.
type watched struct {
	id     string
	frames <-chan testcluster.Frame
}

// replace starts n watched sessions, then kills the edge holding most of
// them, times each of its sessions back to a frame at its viewer, and
// repeats for maxKills edges.
func (b *sessionsBench) replace(c *testcluster.Cluster, n, maxKills int, p *Progress) (out, running []time.Duration, errs, kills int, err error) {
	ctx, cancel := context.WithCancel(b.ctx)
	var stops []func()
	defer func() {
		cancel()
		for _, s := range stops {
			s()
		}
	}()
	var ws []watched
	for range n {
		s, err := b.create(ctx)
		if err != nil {
			return nil, nil, 0, 0, err
		}
		frames, stop := testcluster.WatchSessionStall(ctx, b.admin, b.tenant, s.ID, b.stall)
		stops = append(stops, stop)
		ws = append(ws, watched{id: s.ID, frames: frames})
	}
	for _, w := range ws {
		if _, err := waitFrame(ctx, w.frames, time.Time{}, ""); err != nil {
			return nil, nil, 0, 0, fmt.Errorf("session %s: %w", w.id, err)
		}
	}
	for kills < maxKills {
		byEdge, err := b.sessionsByEdge(ctx)
		if err != nil {
			return out, running, errs, kills, err
		}
		victim := ""
		if len(byEdge) == 0 {
			return out, running, errs, kills, errors.New("bench sessions: no running session to re-place")
		}
		for id, l := range byEdge {
			if victim == "" || len(l) > len(byEdge[victim]) || len(l) == len(byEdge[victim]) && id < victim {
				victim = id
			}
		}
		killedAt := time.Now()
		if err := c.KillEdge(victim); err != nil {
			return out, running, errs, kills, err
		}
		kills++
		var mu sync.Mutex
		var wg sync.WaitGroup
		affected := 0
		wg.Go(func() {
			// The control plane's view: running again elsewhere.
			left := map[string]bool{}
			for _, id := range byEdge[victim] {
				left[id] = true
			}
			deadline := time.Now().Add(sessionTimeout)
			for len(left) > 0 && time.Now().Before(deadline) && ctx.Err() == nil {
				now, err := b.sessionsByEdge(ctx)
				at := time.Now()
				if err == nil {
					for node, ids := range now {
						for _, id := range ids {
							if left[id] && node != victim {
								delete(left, id)
								mu.Lock()
								running = append(running, at.Sub(killedAt))
								mu.Unlock()
							}
						}
					}
				}
				time.Sleep(20 * time.Millisecond)
			}
		})
		for _, w := range ws {
			if !slices.Contains(byEdge[victim], w.id) {
				continue
			}
			affected++
			wg.Go(func() {
				f, err := waitFrame(ctx, w.frames, killedAt, victim)
				mu.Lock()
				defer mu.Unlock()
				if err != nil {
					errs++
					return
				}
				out = append(out, f.At.Sub(killedAt))
			})
		}
		wg.Wait()
		p.Step("replace: killed %s with %d watched sessions; %d re-placed and playing so far (%d errors)", victim, affected, len(out), errs)
	}
	return out, running, errs, kills, nil
}

// sessionsByEdge maps each edge to the running sessions reserved there.
func (b *sessionsBench) sessionsByEdge(ctx context.Context) (map[string][]string, error) {
	ss, err := b.admin.Sessions().List(ctx, api.SessionFilter{State: api.StateRunning, TenantID: b.tenant, ListOptions: api.ListOptions{Limit: api.MaxListLimit}})
	if err != nil {
		return nil, err
	}
	out := map[string][]string{}
	for _, s := range ss {
		if s.Reservation != nil {
			out[s.Reservation.NodeID] = append(out[s.Reservation.NodeID], s.ID)
		}
	}
	return out, nil
}

// waitFrame returns the first frame received at or after since from an
// edge other than notEdge.
func waitFrame(ctx context.Context, frames <-chan testcluster.Frame, since time.Time, notEdge string) (testcluster.Frame, error) {
	t := time.NewTimer(sessionTimeout)
	defer t.Stop()
	for {
		select {
		case f := <-frames:
			if !f.At.Before(since) && (notEdge == "" || f.Edge != notEdge) {
				return f, nil
			}
		case <-t.C:
			return testcluster.Frame{}, fmt.Errorf("no frame within %s", sessionTimeout)
		case <-ctx.Done():
			return testcluster.Frame{}, ctx.Err()
		}
	}
}
