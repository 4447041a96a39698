// Package kubernetes runs session instances as Pods on the edge's own
// Kubernetes node (the edge runs one per node, as a DaemonSet). Every
// Pod carries Strata's labels (runtime.Label*) and, when the edge knows
// its own Pod, an owner reference to it, so a restarted edge adopts its
// Pods, removes the orphans, and the cluster collects the Pods of an
// edge Pod that is gone. Exits are seen on a watch of the Pods.
package kubernetes

import (
	"fmt"
	"log/slog"
	"time"

	k8s "k8s.io/client-go/kubernetes"

	"github.com/strata-edge/strata/edge/runtime"
)

// Config configures the kubernetes driver. A zero field means its
// default.
type Config struct {
	// NodeID is the edge's ID, written on every Pod's labels. Required.
	NodeID string
	// NodeName is the Kubernetes node the Pods are pinned to (the
	// edge's own). Required.
	NodeName string
	// Namespace holds the Pods (default "default").
	Namespace string
	// Kubeconfig is a kubeconfig file; empty: the in-cluster config.
	Kubeconfig string
	// OwnerPod, when set, is the edge's own Pod (in Namespace): every
	// instance Pod names it as owner.
	OwnerPod string
	// GPUs is how reserved GPUs reach a Pod: cdi (default: a CDI
	// annotation naming exactly the reserved devices) or resource (an
	// nvidia.com/gpu limit; the device plugin then picks which).
	GPUs string
	// Network is host (default: the Pod shares the node's network, so
	// an instance reaches its edge's publish URL as a process would) or
	// pod.
	Network string
	// OrphanGrace is how old a Pod with Strata labels that no instance
	// of this driver owns must be before it is deleted (default 5m).
	OrphanGrace time.Duration
	// SweepInterval is how often orphans are looked for (default half
	// the grace, at least a second and at most a minute).
	SweepInterval time.Duration
	// LogBytes bounds each instance's captured output (default 64 KiB).
	LogBytes int
}

// GPU modes (Config.GPUs) and network modes (Config.Network).
const (
	GPUsCDI      = "cdi"
	GPUsResource = "resource"
	NetworkHost  = "host"
	NetworkPod   = "pod"
)

func (c *Config) setDefaults() {
	if c.Namespace == "" {
		c.Namespace = "default"
	}
	if c.GPUs == "" {
		c.GPUs = GPUsCDI
	}
	if c.Network == "" {
		c.Network = NetworkHost
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
		return fmt.Errorf("%w: runtime.kubernetes: node id required", runtime.ErrInvalidSpec)
	case c.NodeName == "":
		return fmt.Errorf("%w: runtime.kubernetes.node: required (default $NODE_NAME)", runtime.ErrInvalidSpec)
	case c.GPUs != "" && c.GPUs != GPUsCDI && c.GPUs != GPUsResource:
		return fmt.Errorf("%w: runtime.kubernetes.gpus: %q: want cdi or resource", runtime.ErrInvalidSpec, c.GPUs)
	case c.Network != "" && c.Network != NetworkHost && c.Network != NetworkPod:
		return fmt.Errorf("%w: runtime.kubernetes.network: %q: want host or pod", runtime.ErrInvalidSpec, c.Network)
	}
	return nil
}

// Deps are the driver's collaborators.
type Deps struct {
	// Logger receives instance output, one record per line; nil is
	// slog.Default().
	Logger *slog.Logger
	// Client is the API client; nil: one made from Kubeconfig or the
	// in-cluster config. Tests pass a fake.
	Client k8s.Interface
}
