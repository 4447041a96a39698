package docker

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/api/types/mount"
	"github.com/moby/moby/client"

	"github.com/strata-edge/strata/edge/runtime"
)

// Driver runs instances as containers. Goroutines: one event watcher,
// one orphan sweeper, and per instance one log follower; Close ends them.
type Driver struct {
	cfg    Config
	deps   Deps
	cli    *client.Client
	log    *slog.Logger
	podman bool // the engine is Podman: CDI names go in Devices
	cdi    bool // the engine takes CDI device names

	ctx    context.Context // the driver's life; ended by Close
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu      sync.Mutex
	closed  bool
	adopted bool                 // Adopt ran: the sweeper may judge orphans
	inst    map[string]*instance // by instance ID, from before create to removal
	images  map[string]time.Time // images seen on the engine, and when
}

var _ runtime.Driver = (*Driver)(nil)

// New connects to the engine (the client negotiates the API version), learns how
// it takes GPUs, and starts the event watcher and the orphan sweeper.
// ctx bounds only the connection check.
func New(ctx context.Context, cfg Config, deps Deps) (*Driver, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	opts := []client.Opt{client.FromEnv}
	if cfg.Host != "" {
		opts = append(opts, client.WithHost(cfg.Host))
	}
	cli, err := client.New(opts...)
	if err != nil {
		return nil, fmt.Errorf("docker: %w", err)
	}
	v, err := cli.ServerVersion(ctx, client.ServerVersionOptions{})
	if err != nil {
		_ = cli.Close()
		return nil, fmt.Errorf("docker: engine at %s: %w", cli.DaemonHost(), err)
	}
	log := deps.Logger
	if log == nil {
		log = slog.Default()
	}
	d := &Driver{cfg: cfg, deps: deps, cli: cli, log: log.With("component", "runtime", "driver", "docker"), inst: map[string]*instance{}, images: map[string]time.Time{}}
	d.podman = strings.Contains(strings.ToLower(v.Platform.Name), "podman")
	for _, c := range v.Components {
		d.podman = d.podman || strings.Contains(strings.ToLower(c.Name), "podman")
	}
	d.cdi = d.podman
	if !d.podman {
		if info, err := cli.Info(ctx, client.InfoOptions{}); err == nil && len(info.Info.CDISpecDirs) > 0 {
			d.cdi = true
		}
	}
	d.ctx, d.cancel = context.WithCancel(context.Background())
	d.wg.Go(d.watchEvents)
	d.wg.Go(d.sweepLoop)
	d.log.Info("container engine connected", "host", cli.DaemonHost(), "version", v.Version, "api", cli.ClientVersion(),
		"podman", d.podman, "cdi", d.cdi, "network", cfg.Network)
	return d, nil
}

// Name implements runtime.Driver.
func (*Driver) Name() string { return "docker" }

// Close ends the watcher, the sweeper and the log followers; containers
// keep running for the next driver to adopt.
func (d *Driver) Close(context.Context) error {
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return nil
	}
	d.closed = true
	d.mu.Unlock()
	d.cancel()
	d.wg.Wait()
	return d.cli.Close()
}

// containerName is the engine's name of an instance's container.
func containerName(id string) string { return "strata-" + id }

// volumeName is the engine's name of a session's volume.
func volumeName(session string) string { return "strata-" + session }

// Start implements runtime.Driver: it makes sure the image is there (per
// the pull policy), creates the session's volume if the app has one, and
// creates and starts the container with the session's environment, its
// GPUs, limits and labels.
func (d *Driver) Start(ctx context.Context, spec runtime.Spec) (runtime.Instance, error) {
	if spec.Image == "" {
		return nil, fmt.Errorf("%w: session %s: no image", runtime.ErrInvalidSpec, spec.SessionID)
	}
	if spec.SessionID == "" || strings.ContainsAny(spec.SessionID, `/\ `) {
		return nil, fmt.Errorf("%w: session id %q", runtime.ErrInvalidSpec, spec.SessionID)
	}
	if err := d.ensureImage(ctx, spec.Image, spec.PullPolicy); err != nil {
		return nil, fmt.Errorf("session %s: %w", spec.SessionID, err)
	}
	id := runtime.NewInstanceID(spec.SessionID)
	labels := spec.Labels(d.cfg.NodeID, id)
	hc := d.hostConfig(spec)
	if spec.Volume != "" {
		if err := d.ensureVolume(ctx, spec); err != nil {
			return nil, fmt.Errorf("session %s: %w", spec.SessionID, err)
		}
		hc.Mounts = []mount.Mount{{Type: mount.TypeVolume, Source: volumeName(spec.SessionID), Target: spec.Volume}}
	}
	cc := &container.Config{Image: spec.Image, Env: envList(spec.ContainerEnv()), Labels: labels}
	if len(spec.Command) > 0 {
		cc.Entrypoint = spec.Command
	}
	if len(spec.Args) > 0 {
		cc.Cmd = spec.Args
	}
	in := d.newInstance(id, spec.SessionID)
	d.mu.Lock()
	if d.closed {
		d.mu.Unlock()
		return nil, runtime.ErrClosed
	}
	d.inst[id] = in // before create: the sweeper must not take it for an orphan
	d.mu.Unlock()
	created, err := d.cli.ContainerCreate(ctx, client.ContainerCreateOptions{Config: cc, HostConfig: hc, Name: containerName(id)})
	if err != nil {
		d.forget(id)
		return nil, fmt.Errorf("session %s: create container: %w", spec.SessionID, err)
	}
	in.setContainer(created.ID)
	for _, w := range created.Warnings {
		in.log.Warn("engine warning", "warning", w)
	}
	if _, err := d.cli.ContainerStart(ctx, created.ID, client.ContainerStartOptions{}); err != nil {
		d.remove(created.ID)
		d.forget(id)
		return nil, fmt.Errorf("session %s: start container: %w", spec.SessionID, err)
	}
	in.log.Info("instance started", "container", shortID(created.ID), "image", spec.Image, "gpus", len(spec.GPUs))
	d.follow(in)
	// An exit is seen by the event watcher (connected since New), or,
	// while it reconnects, by its look at every instance afterwards.
	return in, nil
}

// hostConfig maps the spec's limits, GPUs and network onto the engine's.
func (d *Driver) hostConfig(spec runtime.Spec) *container.HostConfig {
	hc := &container.HostConfig{
		NetworkMode: container.NetworkMode(d.cfg.Network),
		// no_new_privs, as for process instances: setuid binaries in the
		// image cannot gain privileges.
		SecurityOpt: []string{"no-new-privileges"},
	}
	hc.Resources.NanoCPUs = spec.CPUMillis * 1_000_000
	hc.Resources.Memory = spec.MemoryMB << 20
	if spec.ShmMB > 0 {
		hc.ShmSize = spec.ShmMB << 20
	}
	gpuResources(&hc.Resources, spec.GPUs, d.gpuMode())
	return hc
}

// gpuMode resolves auto against what the engine takes.
func (d *Driver) gpuMode() gpuMode {
	switch {
	case d.cfg.GPUs == GPUsNVIDIA || d.cfg.GPUs == GPUsAuto && !d.cdi:
		return gpuNVIDIA
	case d.podman:
		return gpuCDIDevices
	default:
		return gpuCDIRequests
	}
}

// envList is env as KEY=VALUE entries.
func envList(env map[string]string) []string {
	out := make([]string, 0, len(env))
	for k, v := range env {
		out = append(out, k+"="+v)
	}
	return out
}

// forget drops an instance from the driver's set.
func (d *Driver) forget(id string) {
	d.mu.Lock()
	delete(d.inst, id)
	d.mu.Unlock()
}

// remove deletes a container, logging a failure (a gone container is no
// failure). It runs on the driver's context, not a start's.
func (d *Driver) remove(cid string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := d.cli.ContainerRemove(ctx, cid, client.ContainerRemoveOptions{Force: true})
	if err != nil && !cerrdefs.IsNotFound(err) {
		d.log.Warn("container not removed", "container", shortID(cid), "err", err)
	}
}

func shortID(cid string) string { return cid[:min(12, len(cid))] }

// isNotFound reports an engine's 404.
func isNotFound(err error) bool { return cerrdefs.IsNotFound(err) }
