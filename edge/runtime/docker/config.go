// Package docker runs session instances as containers through the
// Docker Engine API (Docker, or Podman's compatible service). Every
// container carries Strata's labels (runtime.Label*), so a restarted
// edge adopts its own containers and removes the orphans; exits are
// noticed from the engine's event stream.
package docker

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/strata-edge/strata/edge/runtime"
)

// Config configures the docker driver. A zero field means its default.
type Config struct {
	// NodeID is the edge's ID, written on every container's labels.
	// Required.
	NodeID string
	// Host is the engine's address (unix:///run/docker.sock,
	// tcp://host:2375); empty: DOCKER_HOST, else the engine's default
	// socket.
	Host string
	// Network is the containers' network mode (default "host", so an
	// instance reaches its edge's publish URL as a process would).
	Network string
	// GPUs is how reserved GPUs reach a container: auto (default: CDI
	// names where the engine takes them, else NVIDIA DeviceRequests),
	// cdi or nvidia.
	GPUs string
	// OrphanGrace is how old a container with Strata labels that no
	// instance of this driver owns must be before it is removed (default
	// 5 minutes): younger ones may be starting.
	OrphanGrace time.Duration
	// SweepInterval is how often orphans are looked for (default half
	// the grace, at least a second and at most a minute).
	SweepInterval time.Duration
	// LogBytes bounds each instance's captured output (default 64 KiB).
	LogBytes int
}

// GPU modes (Config.GPUs).
const (
	GPUsAuto   = "auto"
	GPUsCDI    = "cdi"
	GPUsNVIDIA = "nvidia"
)

func (c *Config) setDefaults() {
	if c.Network == "" {
		c.Network = "host"
	}
	if c.GPUs == "" {
		c.GPUs = GPUsAuto
	}
	if c.OrphanGrace <= 0 {
		c.OrphanGrace = 5 * time.Minute
	}
	if c.SweepInterval <= 0 {
		c.SweepInterval = min(time.Minute, max(c.OrphanGrace/2, time.Second))
	}
	if c.LogBytes <= 0 {
		c.LogBytes = 64 << 10
	}
}

// Validate reports the first invalid setting, naming its key.
func (c *Config) Validate() error {
	switch {
	case c.NodeID == "":
		return fmt.Errorf("%w: runtime.docker: node id required", runtime.ErrInvalidSpec)
	case c.GPUs != "" && c.GPUs != GPUsAuto && c.GPUs != GPUsCDI && c.GPUs != GPUsNVIDIA:
		return fmt.Errorf("%w: runtime.docker.gpus: %q: want auto, cdi or nvidia", runtime.ErrInvalidSpec, c.GPUs)
	}
	return nil
}

// Deps are the driver's collaborators.
type Deps struct {
	// Logger receives instance output, one record per line; nil is
	// slog.Default().
	Logger *slog.Logger
	// SessionEnded reports whether a session is over for good
	// (terminated, failed or gone), so its volume can be removed; nil
	// keeps every volume.
	SessionEnded func(ctx context.Context, session string) (bool, error)
}
