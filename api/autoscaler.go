package api

import (
	"context"
	"time"
)

// Autoscaler is GET /v1/autoscaler: the configured pools with their
// current and desired sizes, and the newest decisions.
type Autoscaler struct {
	Enabled   bool             `json:"enabled"`
	DryRun    bool             `json:"dry_run"`
	Pools     []AutoscalerPool `json:"pools"`
	Decisions []ScaleDecision  `json:"decisions"`
}

// AutoscalerPool is one pool's configuration and standing.
type AutoscalerPool struct {
	Name          string   `json:"name"`
	Region        string   `json:"region"`
	Class         string   `json:"class,omitempty"`
	Min           int      `json:"min"`
	Max           int      `json:"max"`
	Buffer        int      `json:"buffer"`
	BufferPercent float64  `json:"buffer_percent,omitempty"`
	Nodes         int      `json:"nodes"`
	Draining      []string `json:"draining"`
	// Current and Desired are from the pool's last decision (0 before
	// its first).
	Current         int64   `json:"current"`
	Desired         int64   `json:"desired"`
	LeadTimeSeconds float64 `json:"lead_time_seconds"`
	LastReason      string  `json:"last_reason,omitempty"`
}

// ScaleDecision is one recorded round of the autoscaler for a pool.
type ScaleDecision struct {
	ID      string    `json:"id"`
	Pool    string    `json:"pool"`
	At      time.Time `json:"at"`
	Current int64     `json:"current"`
	Desired int64     `json:"desired"`
	Add     int64     `json:"add"`
	Drain   []string  `json:"drain"`
	Undrain []string  `json:"undrain"`
	Remove  []string  `json:"remove"`
	Reason  string    `json:"reason"`
	// Inputs is the JSON the policy saw: demand, metrics_ok and nodes.
	Inputs string `json:"inputs"`
	DryRun bool   `json:"dry_run"`
	// Status is planned, done or failed.
	Status string `json:"status"`
	Error  string `json:"error,omitempty"`
}

// Autoscaler reads the autoscaler's standing (admin keys). limit bounds
// the decisions returned, newest first; 0 means the server's default.
func (c *Client) Autoscaler(ctx context.Context, limit int) (*Autoscaler, error) {
	q := ListOptions{Limit: limit}.query()
	return get[Autoscaler](ctx, c, "/v1/autoscaler", q)
}
