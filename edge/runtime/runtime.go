// Package runtime runs session instances on an edge. A Driver turns a
// Spec (what to run, and the session's publish endpoint, token and GPUs)
// into an Instance; the edge's reconciler starts and stops instances to
// match the sessions placed on it.
//
// The process driver (the default) runs an app's command as a local
// process group, sandboxed (package sandbox): an unprivileged user,
// no_new_privs, rlimits, a private working directory, only the session's
// environment and, where the kernel allows, a cgroup with the app's CPU
// and memory limits. Container drivers (docker, kubernetes) fit the same
// interface: Start maps the Spec's environment and GPUs onto the
// container, Adopt lists the containers labelled by an earlier edge
// process, and Instance.Stop maps onto the runtime's graceful stop.
package runtime

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"time"
)

// GPU is one GPU reserved for a session.
type GPU struct {
	Index int
	UUID  string
}

// Spec is everything a driver needs to start one session's instance.
type Spec struct {
	SessionID string
	TenantID  string
	AppID     string
	// Command and Image are the app's; a driver uses the one it runs.
	// Args follow Command (or a container image's entrypoint).
	Command []string
	Args    []string
	Image   string
	// PullPolicy is when a container driver pulls Image: PullAlways,
	// PullIfMissing (empty) or PullNever.
	PullPolicy string
	// Volume, when set, is where a container driver mounts the session's
	// own volume, which outlives the instance (hibernate keeps it).
	Volume string
	// ShmMB sizes a container's /dev/shm; zero keeps the default.
	ShmMB int64
	// Generation counts the session's placements; container drivers
	// label instances with it.
	Generation int64
	// Env is the app's environment; the session variables below override
	// it, so an app cannot impersonate another session.
	Env map[string]string
	// PublishURL and PublishToken say where and how to publish media.
	PublishURL   string
	PublishToken string
	// InputURL is where the controlling user's input comes from.
	InputURL string
	// WHIPURL is the same edge's WHIP endpoint for the session, for
	// instances that publish over WebRTC instead of MoQ.
	WHIPURL string
	// GPUs are exactly the GPUs reserved for the session.
	GPUs []GPU
	// CPUMillis and MemoryMB are the app's limits (thousandths of a CPU,
	// MiB); zero is unlimited. The process driver applies them with a
	// cgroup where the kernel lets it.
	CPUMillis int64
	MemoryMB  int64
}

// Pull policies (Spec.PullPolicy), as apps name them.
const (
	PullAlways    = "always"
	PullIfMissing = "if_missing"
	PullNever     = "never"
)

// Labels container drivers put on every container, pod and volume they
// make; adoption and orphan clean-up find them by these. The keys are
// valid Docker and Kubernetes label keys alike.
const (
	LabelManaged    = "strata.io/managed" // "true"
	LabelSession    = "strata.io/session"
	LabelNode       = "strata.io/node"
	LabelApp        = "strata.io/app"
	LabelTenant     = "strata.io/tenant"
	LabelGeneration = "strata.io/generation"
	LabelInstance   = "strata.io/instance"
)

// Labels are the labels of spec's instance id on node.
func (s Spec) Labels(node, id string) map[string]string {
	return map[string]string{
		LabelManaged: "true", LabelSession: s.SessionID, LabelNode: node, LabelApp: s.AppID,
		LabelTenant: s.TenantID, LabelGeneration: strconv.FormatInt(s.Generation, 10), LabelInstance: id,
	}
}

// NewInstanceID names one start of a session: unique per start, and
// sorting by start time within a session.
func NewInstanceID(session string) string {
	return session + "." + strconv.FormatInt(time.Now().UnixNano(), 36)
}

// Environment variables every instance receives.
const (
	EnvSessionID    = "STRATA_SESSION_ID"
	EnvPublishURL   = "STRATA_PUBLISH_URL"
	EnvPublishToken = "STRATA_PUBLISH_TOKEN"
	EnvInputURL     = "STRATA_INPUT_URL"
	EnvWHIPURL      = "STRATA_WHIP_URL"
	EnvCUDADevices  = "CUDA_VISIBLE_DEVICES"
	EnvNVDevices    = "NVIDIA_VISIBLE_DEVICES"
	// EnvCUDAOrder makes CUDA number devices in PCI bus order, as
	// nvidia-smi (and so the edge's GPU discovery) does; CUDA's default,
	// fastest first, would make the indices name other GPUs on a mixed box.
	EnvCUDAOrder = "CUDA_DEVICE_ORDER"
	// EnvNVCapabilities names the driver features a container gets;
	// NVENC and NVDEC need video, rendering needs graphics.
	EnvNVCapabilities = "NVIDIA_DRIVER_CAPABILITIES"
)

// NVCapabilities is what container drivers set EnvNVCapabilities to
// unless the app sets it.
const NVCapabilities = "compute,utility,video,graphics,display"

// ContainerEnv is SessionEnv for an instance that sees only its own
// GPUs: inside a container they are numbered from 0, so the CUDA list
// counts 0..n-1, while NVIDIA_VISIBLE_DEVICES keeps the host's indices
// (a legacy NVIDIA hook reads it on the host side) or "void" for none.
func (s Spec) ContainerEnv() map[string]string {
	env := s.SessionEnv()
	idx := make([]string, len(s.GPUs))
	for i := range s.GPUs {
		idx[i] = strconv.Itoa(i)
	}
	env[EnvCUDADevices] = strings.Join(idx, ",")
	if len(s.GPUs) == 0 {
		env[EnvNVDevices] = "void"
	} else if _, ok := s.Env[EnvNVCapabilities]; !ok {
		env[EnvNVCapabilities] = NVCapabilities
	}
	return env
}

// Argv is the command line of a process instance: Command, then Args.
func (s Spec) Argv() []string {
	return append(append([]string(nil), s.Command...), s.Args...)
}

// SessionEnv is the environment of a session's instance: the app's
// variables, then the session's, which win. GPU lists are the reserved
// indices, comma-separated, and empty (not unset) when none are reserved,
// so the instance sees no GPU instead of every GPU.
func (s Spec) SessionEnv() map[string]string {
	env := make(map[string]string, len(s.Env)+8)
	for k, v := range s.Env {
		env[k] = v
	}
	idx := make([]string, len(s.GPUs))
	for i, g := range s.GPUs {
		idx[i] = strconv.Itoa(g.Index)
	}
	devs := strings.Join(idx, ",")
	env[EnvSessionID] = s.SessionID
	env[EnvPublishURL] = s.PublishURL
	env[EnvPublishToken] = s.PublishToken
	env[EnvInputURL] = s.InputURL
	env[EnvWHIPURL] = s.WHIPURL
	env[EnvCUDADevices] = devs
	env[EnvNVDevices] = devs
	env[EnvCUDAOrder] = "PCI_BUS_ID"
	return env
}

// Driver starts instances of one kind (process, docker, kubernetes).
type Driver interface {
	// Name is the runtime name apps use ("process").
	Name() string
	// Start launches an instance; ctx bounds the start only, never the
	// instance's life.
	Start(ctx context.Context, spec Spec) (Instance, error)
	// Adopt returns the instances an earlier life of this edge left
	// running (after a restart or crash), so the caller can keep the ones
	// still assigned and stop the orphans. Their logs before adoption are
	// lost and their exit status is unknown.
	Adopt(ctx context.Context) ([]Instance, error)
	// Close releases the driver's watchers; it does not stop instances.
	// ctx bounds whatever part of it is graceful.
	Close(ctx context.Context) error
}

// Instance is one running session instance.
type Instance interface {
	// ID is unique per start of a session.
	ID() string
	SessionID() string
	// Done is closed when the instance has exited.
	Done() <-chan struct{}
	// Err is why the instance exited: nil for a clean exit (status 0),
	// an *ExitError otherwise. Valid once Done is closed.
	Err() error
	// Wait waits for the exit or ctx, and returns Err.
	Wait(ctx context.Context) error
	// Stop asks the instance to exit, forces it after grace, and waits
	// for the exit or ctx. Stopping an exited instance is a no-op.
	Stop(ctx context.Context, grace time.Duration) error
	// Logs returns the newest captured output (stdout and stderr
	// interleaved), bounded.
	Logs() []byte
}

// Exit is how an instance ended, for the drivers' Instance types: Done,
// Err and Wait, set once by Finish.
type Exit struct {
	once sync.Once
	done chan struct{}
	err  error
}

// NewExit returns an Exit not yet finished.
func NewExit() *Exit { return &Exit{done: make(chan struct{})} }

// Finish records err (nil: a clean exit) and closes Done; later calls
// change nothing.
func (x *Exit) Finish(err error) {
	x.once.Do(func() {
		x.err = err
		close(x.done)
	})
}

// Done is closed when the instance has exited.
func (x *Exit) Done() <-chan struct{} { return x.done }

// Err is why the instance exited; nil before then.
func (x *Exit) Err() error {
	select {
	case <-x.done:
		return x.err
	default:
		return nil
	}
}

// Wait waits for the exit or ctx, and returns Err.
func (x *Exit) Wait(ctx context.Context) error {
	select {
	case <-x.done:
		return x.err
	case <-ctx.Done():
		return ctx.Err()
	}
}
