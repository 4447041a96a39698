// Package autoscale is Strata's autoscaling policy: a metrics snapshot and
// the policy's memory in, a plan and the next memory out. It does no I/O,
// reads no clock and starts no goroutines, so every decision can be
// replayed, tested in a table and explained; the origin's leader
// controller feeds it and carries out its plans through a Provider.
package autoscale

import (
	"errors"
	"fmt"
	"math"
	"time"
)

// Defaults applied by Pool.withDefaults.
const (
	DefaultScaleDownWindow = 5 * time.Minute
	DefaultLeadTime        = 90 * time.Second
	DefaultDrainDeadline   = 15 * time.Minute
	DefaultSlotsPerNode    = 4
)

// ErrInvalidPool is wrapped by Pool.Validate.
var ErrInvalidPool = errors.New("autoscale: invalid pool")

// Pool is a set of interchangeable nodes: one region and one node class
// (a GPU model, or "" for nodes without GPUs).
type Pool struct {
	Region string `json:"region" yaml:"region"`
	Class  string `json:"class,omitempty" yaml:"class"`
	Min    int    `json:"min" yaml:"min"`
	Max    int    `json:"max" yaml:"max"`
	// Buffer is the number of free session slots to keep ready; with
	// BufferPercent set it is instead that percentage of the slots in use
	// (rounded up), as Agones' percentage buffer does.
	Buffer        int     `json:"buffer" yaml:"buffer"`
	BufferPercent float64 `json:"buffer_percent,omitempty" yaml:"buffer_percent"`
	// SlotsPerNode is the number of sessions a new node of this pool can
	// hold; the controller reads the real figure of existing nodes.
	SlotsPerNode int `json:"slots_per_node" yaml:"slots_per_node"`
	// ScaleDownWindow is how long the pool must be continuously larger
	// than it needs before anything is drained.
	ScaleDownWindow time.Duration `json:"scale_down_window" yaml:"scale_down_window"`
	// LeadTime is the request-to-ready time assumed until one is measured.
	LeadTime time.Duration `json:"lead_time" yaml:"lead_time"`
	// DrainDeadline bounds how long a drained node waits to empty before
	// it is removed anyway.
	DrainDeadline time.Duration `json:"drain_deadline" yaml:"drain_deadline"`
}

// Name identifies the pool: "region" or "region/class".
func (p Pool) Name() string {
	if p.Class == "" {
		return p.Region
	}
	return p.Region + "/" + p.Class
}

// WithDefaults returns p with zero durations and slots replaced by the
// defaults.
func (p Pool) WithDefaults() Pool {
	if p.ScaleDownWindow == 0 {
		p.ScaleDownWindow = DefaultScaleDownWindow
	}
	if p.LeadTime == 0 {
		p.LeadTime = DefaultLeadTime
	}
	if p.DrainDeadline == 0 {
		p.DrainDeadline = DefaultDrainDeadline
	}
	if p.SlotsPerNode == 0 {
		p.SlotsPerNode = DefaultSlotsPerNode
	}
	return p
}

// Validate reports the first field that makes no sense, naming it.
func (p Pool) Validate() error {
	switch {
	case p.Region == "":
		return fmt.Errorf("%w: region is required", ErrInvalidPool)
	case p.Min < 0 || p.Max < 0:
		return fmt.Errorf("%w: %s: min and max must not be negative", ErrInvalidPool, p.Name())
	case p.Max < p.Min:
		return fmt.Errorf("%w: %s: max %d is below min %d", ErrInvalidPool, p.Name(), p.Max, p.Min)
	case p.Buffer < 0:
		return fmt.Errorf("%w: %s: buffer must not be negative", ErrInvalidPool, p.Name())
	case p.BufferPercent < 0 || p.BufferPercent > 100 || math.IsNaN(p.BufferPercent):
		return fmt.Errorf("%w: %s: buffer_percent must be within 0..100", ErrInvalidPool, p.Name())
	case p.SlotsPerNode < 0:
		return fmt.Errorf("%w: %s: slots_per_node must not be negative", ErrInvalidPool, p.Name())
	case p.ScaleDownWindow < 0 || p.LeadTime < 0 || p.DrainDeadline < 0:
		return fmt.Errorf("%w: %s: durations must not be negative", ErrInvalidPool, p.Name())
	}
	return nil
}

// buffer is the free slots to keep beside inUse.
func (p Pool) buffer(inUse int) int {
	if p.BufferPercent > 0 {
		return int(math.Ceil(float64(inUse) * p.BufferPercent / 100))
	}
	return p.Buffer
}
