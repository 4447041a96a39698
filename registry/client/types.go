package client

import (
	"context"
	"net/url"

	"github.com/strata-edge/strata/registry"
)

// List is a page of results.
type List[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"next_cursor,omitempty"`
}

// Tenant is a tenant as the API shows it.
type Tenant struct {
	registry.Tenant
	Usage registry.TenantUsage `json:"usage"`
}

// CreatedKey carries the secret token, shown once.
type CreatedKey struct {
	ID       string `json:"id"`
	TenantID string `json:"tenant_id"`
	Name     string `json:"name"`
	Token    string `json:"token"`
}

// CreateTenant creates a tenant (admin).
func (c *Client) CreateTenant(ctx context.Context, name string, q registry.Quota) (*Tenant, error) {
	var t Tenant
	err := c.Do(ctx, "POST", "/v1/tenants", map[string]any{"name": name, "quota": q}, &t)
	return &t, err
}

// CreateKey creates an API key for a tenant.
func (c *Client) CreateKey(ctx context.Context, tenantID, name string) (*CreatedKey, error) {
	var k CreatedKey
	err := c.Do(ctx, "POST", "/v1/tenants/"+url.PathEscape(tenantID)+"/keys", map[string]any{"name": name}, &k)
	return &k, err
}

// AppSpec is the body of an app creation.
type AppSpec struct {
	TenantID      string            `json:"tenant_id,omitempty"`
	Name          string            `json:"name"`
	Runtime       string            `json:"runtime,omitempty"`
	Command       []string          `json:"command,omitempty"`
	Image         string            `json:"image,omitempty"`
	Env           map[string]string `json:"env,omitempty"`
	GPUs          int64             `json:"gpus,omitempty"`
	GPUModel      string            `json:"gpu_model,omitempty"`
	GPUMemoryMB   int64             `json:"gpu_memory_mb,omitempty"`
	EgressMbps    int64             `json:"egress_mbps,omitempty"`
	IdlePolicy    string            `json:"idle_policy,omitempty"`
	IdleMinutes   int64             `json:"idle_minutes,omitempty"`
	RestartPolicy string            `json:"restart_policy,omitempty"`
}

// CreateApp creates an app.
func (c *Client) CreateApp(ctx context.Context, spec AppSpec) (*registry.App, error) {
	var a registry.App
	err := c.Do(ctx, "POST", "/v1/apps", spec, &a)
	return &a, err
}

// SessionSpec is the body of a session creation.
type SessionSpec struct {
	TenantID   string            `json:"tenant_id,omitempty"`
	AppID      string            `json:"app_id"`
	Region     string            `json:"region,omitempty"`
	Lat        *float64          `json:"lat,omitempty"`
	Lon        *float64          `json:"lon,omitempty"`
	Labels     map[string]string `json:"labels,omitempty"`
	GPUs       *int64            `json:"gpus,omitempty"`
	EgressMbps *int64            `json:"egress_mbps,omitempty"`
	FailFast   bool              `json:"fail_fast,omitempty"`
	Async      bool              `json:"async,omitempty"`
}

// Session is a session as the API shows it (states as names).
type Session struct {
	ID          string                `json:"id"`
	TenantID    string                `json:"tenant_id"`
	AppID       string                `json:"app_id"`
	State       string                `json:"state"`
	Reason      string                `json:"reason,omitempty"`
	Region      string                `json:"region,omitempty"`
	GPUs        int64                 `json:"gpus"`
	EgressMbps  int64                 `json:"egress_mbps"`
	Reservation *registry.Reservation `json:"reservation,omitempty"`
	CreateIndex uint64                `json:"create_index"`
	ModifyIndex uint64                `json:"modify_index"`
}

// CreateSession creates a session.
func (c *Client) CreateSession(ctx context.Context, spec SessionSpec) (*Session, error) {
	var s Session
	err := c.Do(ctx, "POST", "/v1/sessions", spec, &s)
	return &s, err
}

// GetSession reads a session at the given consistency ("" = stale).
func (c *Client) GetSession(ctx context.Context, id, consistency string) (*Session, error) {
	var s Session
	path := "/v1/sessions/" + url.PathEscape(id)
	if consistency != "" {
		path += "?consistency=" + url.QueryEscape(consistency)
	}
	err := c.Do(ctx, "GET", path, nil, &s)
	return &s, err
}

// TerminateSession ends a session.
func (c *Client) TerminateSession(ctx context.Context, id string) (*Session, error) {
	var s Session
	err := c.Do(ctx, "DELETE", "/v1/sessions/"+url.PathEscape(id), nil, &s)
	return &s, err
}

// ClusterStatus reads the Raft status of the addressed origin.
func (c *Client) ClusterStatus(ctx context.Context) (*registry.Status, error) {
	var s registry.Status
	err := c.Do(ctx, "GET", "/v1/cluster", nil, &s)
	return &s, err
}
