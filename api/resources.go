package api

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// ListOptions pick a page of a list and the read's consistency. List
// methods read every page from Cursor on; Page methods read one.
type ListOptions struct {
	// Limit is the page size (1 to MaxListLimit; 0: the origin's default).
	Limit       int
	Cursor      string
	Consistency Consistency
}

func (o ListOptions) query() url.Values {
	q := url.Values{}
	if o.Limit > 0 {
		q.Set("limit", strconv.Itoa(o.Limit))
	}
	set(q, "cursor", o.Cursor)
	set(q, "consistency", string(o.Consistency))
	return q
}

// set adds a query parameter unless v is empty.
func set(q url.Values, k, v string) {
	if v != "" {
		q.Set(k, v)
	}
}

func consistency(c Consistency) url.Values {
	q := url.Values{}
	set(q, "consistency", string(c))
	return q
}

// DefaultWait is the wait of a blocking query that names none; the
// origins cap waits at MaxWait.
const (
	DefaultWait = 30 * time.Second
	MaxWait     = 60 * time.Second
)

// blocking adds a blocking query's index and wait to q and bounds ctx by
// the wait plus a margin, since the client's own timeout may be shorter
// than the wait.
func blocking(ctx context.Context, q url.Values, index uint64, wait time.Duration) (context.Context, context.CancelFunc) {
	if wait <= 0 {
		wait = DefaultWait
	}
	q.Set("index", strconv.FormatUint(index, 10))
	q.Set("wait", wait.String())
	return context.WithTimeout(ctx, min(wait, MaxWait)+10*time.Second)
}

func esc(s string) string { return url.PathEscape(s) }

// Health reads /healthz.
func (c *Client) Health(ctx context.Context) (*Health, error) {
	return get[Health](ctx, c, "/healthz", nil)
}

// Ready reads /readyz: an error (503 no_leader) until a leader is known.
func (c *Client) Ready(ctx context.Context) (*Ready, error) {
	return get[Ready](ctx, c, "/readyz", nil)
}

// --- tenants ----------------------------------------------------------------

// Tenants manages tenants; creating, changing and deleting need an admin
// key.
func (c *Client) Tenants() Tenants { return Tenants{c} }

// Tenants is the tenants resource.
type Tenants struct{ c *Client }

// Create creates a tenant.
func (t Tenants) Create(ctx context.Context, spec TenantCreate) (*Tenant, error) {
	return post[Tenant](ctx, t.c, "/v1/tenants", nil, spec)
}

// Get reads a tenant with its usage.
func (t Tenants) Get(ctx context.Context, id string, rc Consistency) (*Tenant, error) {
	return get[Tenant](ctx, t.c, "/v1/tenants/"+esc(id), consistency(rc))
}

// List reads every tenant the key may see.
func (t Tenants) List(ctx context.Context, o ListOptions) ([]Tenant, error) {
	all, _, err := collect[Tenant](ctx, t.c, "/v1/tenants", o.query())
	return all, err
}

// Page reads one page of tenants.
func (t Tenants) Page(ctx context.Context, o ListOptions) (*List[Tenant], error) {
	return onePage[Tenant](ctx, t.c, "/v1/tenants", o.query())
}

// Update changes a tenant's name, quota or labels.
func (t Tenants) Update(ctx context.Context, id string, u TenantUpdate) (*Tenant, error) {
	var v Tenant
	if _, err := t.c.call(ctx, http.MethodPatch, "/v1/tenants/"+esc(id), nil, u, &v); err != nil {
		return nil, err
	}
	return &v, nil
}

// Delete deletes a tenant with no live sessions.
func (t Tenants) Delete(ctx context.Context, id string) error {
	_, err := t.c.call(ctx, http.MethodDelete, "/v1/tenants/"+esc(id), nil, nil, nil)
	return err
}

// --- keys -------------------------------------------------------------------

// Keys manages tenants' API keys.
func (c *Client) Keys() Keys { return Keys{c} }

// Keys is the API keys resource.
type Keys struct{ c *Client }

func keysPath(tenant string) string { return "/v1/tenants/" + esc(tenant) + "/keys" }

// Create creates a key for tenant; the answer holds its token, shown once.
func (k Keys) Create(ctx context.Context, tenant string, spec KeyCreate) (*CreatedKey, error) {
	return post[CreatedKey](ctx, k.c, keysPath(tenant), nil, spec)
}

// List reads every key of tenant.
func (k Keys) List(ctx context.Context, tenant string, o ListOptions) ([]APIKey, error) {
	all, _, err := collect[APIKey](ctx, k.c, keysPath(tenant), o.query())
	return all, err
}

// Page reads one page of tenant's keys.
func (k Keys) Page(ctx context.Context, tenant string, o ListOptions) (*List[APIKey], error) {
	return onePage[APIKey](ctx, k.c, keysPath(tenant), o.query())
}

// Delete revokes a key.
func (k Keys) Delete(ctx context.Context, tenant, key string) error {
	_, err := k.c.call(ctx, http.MethodDelete, keysPath(tenant)+"/"+esc(key), nil, nil, nil)
	return err
}

// --- apps -------------------------------------------------------------------

// Apps manages apps, the templates sessions start from.
func (c *Client) Apps() Apps { return Apps{c} }

// Apps is the apps resource.
type Apps struct{ c *Client }

// AppFilter narrows an app list; TenantID counts for admin keys only.
type AppFilter struct {
	TenantID string
	ListOptions
}

func (f AppFilter) query() url.Values {
	q := f.ListOptions.query()
	set(q, "tenant_id", f.TenantID)
	return q
}

// Create creates an app.
func (a Apps) Create(ctx context.Context, spec AppSpec) (*App, error) {
	return post[App](ctx, a.c, "/v1/apps", nil, spec)
}

// Get reads an app.
func (a Apps) Get(ctx context.Context, id string, rc Consistency) (*App, error) {
	return get[App](ctx, a.c, "/v1/apps/"+esc(id), consistency(rc))
}

// List reads every app the filter selects.
func (a Apps) List(ctx context.Context, f AppFilter) ([]App, error) {
	all, _, err := collect[App](ctx, a.c, "/v1/apps", f.query())
	return all, err
}

// Page reads one page of apps.
func (a Apps) Page(ctx context.Context, f AppFilter) (*List[App], error) {
	return onePage[App](ctx, a.c, "/v1/apps", f.query())
}

// Delete deletes an app no live session uses.
func (a Apps) Delete(ctx context.Context, id string) error {
	_, err := a.c.call(ctx, http.MethodDelete, "/v1/apps/"+esc(id), nil, nil, nil)
	return err
}

// --- sessions ---------------------------------------------------------------

// Sessions manages sessions.
func (c *Client) Sessions() Sessions { return Sessions{c} }

// Sessions is the sessions resource.
type Sessions struct{ c *Client }

// SessionFilter narrows a session list. Tenant keys see only their own
// tenant's sessions whatever TenantID says; node keys must give NodeID.
type SessionFilter struct {
	TenantID string
	AppID    string
	NodeID   string
	Region   string
	State    SessionState
	ListOptions
}

func (f SessionFilter) query() url.Values {
	q := f.ListOptions.query()
	set(q, "tenant_id", f.TenantID)
	set(q, "app_id", f.AppID)
	set(q, "node_id", f.NodeID)
	set(q, "region", f.Region)
	set(q, "state", string(f.State))
	return q
}

func sessionPath(id string) string { return "/v1/sessions/" + esc(id) }

// Create starts a session of an app.
func (s Sessions) Create(ctx context.Context, spec SessionSpec) (*Session, error) {
	return post[Session](ctx, s.c, "/v1/sessions", nil, spec)
}

// Get reads a session at the given consistency ("" = stale).
func (s Sessions) Get(ctx context.Context, id string, rc Consistency) (*Session, error) {
	return get[Session](ctx, s.c, sessionPath(id), consistency(rc))
}

// List reads every session the filter selects.
func (s Sessions) List(ctx context.Context, f SessionFilter) ([]Session, error) {
	all, _, err := collect[Session](ctx, s.c, "/v1/sessions", f.query())
	return all, err
}

// Page reads one page of sessions.
func (s Sessions) Page(ctx context.Context, f SessionFilter) (*List[Session], error) {
	return onePage[Session](ctx, s.c, "/v1/sessions", f.query())
}

// Follow is a blocking List: it answers once the registry index passes
// index (or wait, default DefaultWait, elapses) with every session the
// filter selects and the index the answer reflects. Pass that index to the
// next Follow. A filter with NodeID wakes only on changes to that node's
// sessions.
func (s Sessions) Follow(ctx context.Context, f SessionFilter, index uint64, wait time.Duration) ([]Session, uint64, error) {
	q := f.query()
	ctx, cancel := blocking(ctx, q, index, wait)
	defer cancel()
	return collect[Session](ctx, s.c, "/v1/sessions", q)
}

// Terminate ends a session; reason ("" for the default) is kept in the
// session's reason.
func (s Sessions) Terminate(ctx context.Context, id, reason string) (*Session, error) {
	q := url.Values{}
	set(q, "reason", reason)
	var v Session
	if _, err := s.c.call(ctx, http.MethodDelete, sessionPath(id), q, nil, &v); err != nil {
		return nil, err
	}
	return &v, nil
}

// Hibernate stops a running session's instance and frees its edge
// capacity; reason ("" for the default) is kept in the session's reason.
func (s Sessions) Hibernate(ctx context.Context, id, reason string) (*Session, error) {
	q := url.Values{}
	set(q, "reason", reason)
	return post[Session](ctx, s.c, sessionPath(id)+"/hibernate", q, nil)
}

// Wake places a hibernated session again.
func (s Sessions) Wake(ctx context.Context, id string) (*Session, error) {
	return post[Session](ctx, s.c, sessionPath(id)+"/wake", nil, nil)
}

// Viewer routes a viewer to an edge and signs a viewer token.
func (s Sessions) Viewer(ctx context.Context, id string, r ViewerRequest) (*ViewerAnswer, error) {
	return post[ViewerAnswer](ctx, s.c, sessionPath(id)+"/viewers", nil, r)
}

// Publisher signs a publisher token bound to the session's ingest edge.
func (s Sessions) Publisher(ctx context.Context, id string) (*PublisherAnswer, error) {
	return post[PublisherAnswer](ctx, s.c, sessionPath(id)+"/publishers", nil, nil)
}

// ReportSource reports that the session's publisher is live or gone on
// the reporting edge.
func (s Sessions) ReportSource(ctx context.Context, id string, r SessionSourceReport) (*Session, error) {
	return post[Session](ctx, s.c, sessionPath(id)+"/source", nil, r)
}

// ReportState reports what the session's edge observed of its instance.
func (s Sessions) ReportState(ctx context.Context, id string, r SessionStateReport) (*Session, error) {
	return post[Session](ctx, s.c, sessionPath(id)+"/state", nil, r)
}

// ReportIdle reports that the running session had no viewer for its
// app's idle time.
func (s Sessions) ReportIdle(ctx context.Context, id string, r SessionIdleReport) (*Session, error) {
	return post[Session](ctx, s.c, sessionPath(id)+"/idle", nil, r)
}

// --- nodes ------------------------------------------------------------------

// Nodes reads and manages origins and edges (admin or node keys).
func (c *Client) Nodes() Nodes { return Nodes{c} }

// Nodes is the nodes resource.
type Nodes struct{ c *Client }

// NodeFilter narrows a node list.
type NodeFilter struct {
	Role NodeRole
	ListOptions
}

func (f NodeFilter) query() url.Values {
	q := f.ListOptions.query()
	set(q, "role", string(f.Role))
	return q
}

func nodePath(id string) string { return "/v1/nodes/" + esc(id) }

// Register records an edge's self-description.
func (n Nodes) Register(ctx context.Context, r NodeRegistration) (*NodeView, error) {
	return post[NodeView](ctx, n.c, "/v1/nodes/register", nil, r)
}

// Get reads a node.
func (n Nodes) Get(ctx context.Context, id string, rc Consistency) (*NodeView, error) {
	return get[NodeView](ctx, n.c, nodePath(id), consistency(rc))
}

// List reads every node the filter selects.
func (n Nodes) List(ctx context.Context, f NodeFilter) ([]NodeView, error) {
	all, _, err := collect[NodeView](ctx, n.c, "/v1/nodes", f.query())
	return all, err
}

// Page reads one page of nodes.
func (n Nodes) Page(ctx context.Context, f NodeFilter) (*List[NodeView], error) {
	return onePage[NodeView](ctx, n.c, "/v1/nodes", f.query())
}

// Follow is a blocking List (see Sessions.Follow).
func (n Nodes) Follow(ctx context.Context, f NodeFilter, index uint64, wait time.Duration) ([]NodeView, uint64, error) {
	q := f.query()
	ctx, cancel := blocking(ctx, q, index, wait)
	defer cancel()
	return collect[NodeView](ctx, n.c, "/v1/nodes", q)
}

// Drain stops new sessions and viewers going to a node.
func (n Nodes) Drain(ctx context.Context, id string) (*NodeView, error) {
	return post[NodeView](ctx, n.c, nodePath(id)+"/drain", nil, nil)
}

// RelayToken signs a relay-role token for edge id.
func (n Nodes) RelayToken(ctx context.Context, id string) (*RelayToken, error) {
	return post[RelayToken](ctx, n.c, nodePath(id)+"/relay-token", nil, nil)
}

// --- cluster ----------------------------------------------------------------

// Cluster reads and changes the origins' Raft group (admin keys), and
// reads the public token keys.
func (c *Client) Cluster() Cluster { return Cluster{c} }

// Cluster is the cluster resource.
type Cluster struct{ c *Client }

// Status reads the Raft status of the answering origin.
func (cl Cluster) Status(ctx context.Context) (*ClusterStatus, error) {
	return get[ClusterStatus](ctx, cl.c, "/v1/cluster", nil)
}

// Join adds an origin to the Raft group.
func (cl Cluster) Join(ctx context.Context, r JoinRequest) (*Node, error) {
	return post[Node](ctx, cl.c, "/v1/cluster/join", nil, r)
}

// RemovePeer removes an origin from the Raft group.
func (cl Cluster) RemovePeer(ctx context.Context, id string) error {
	_, err := cl.c.call(ctx, http.MethodDelete, "/v1/cluster/peers/"+esc(id), nil, nil, nil)
	return err
}

// TransferLeadership hands leadership to another voter.
func (cl Cluster) TransferLeadership(ctx context.Context) (*LeaderChange, error) {
	return post[LeaderChange](ctx, cl.c, "/v1/cluster/transfer-leadership", nil, nil)
}

// CreateJoinToken makes a token that enrolls nodes of one role; its
// secret is shown once, with the CA fingerprint joining nodes pin.
func (cl Cluster) CreateJoinToken(ctx context.Context, spec JoinTokenCreate) (*CreatedJoinToken, error) {
	return post[CreatedJoinToken](ctx, cl.c, "/v1/cluster/join-tokens", nil, spec)
}

// JoinTokens lists the join tokens.
func (cl Cluster) JoinTokens(ctx context.Context) ([]JoinToken, error) {
	l, _, err := collect[JoinToken](ctx, cl.c, "/v1/cluster/join-tokens", nil)
	return l, err
}

// DeleteJoinToken revokes a join token.
func (cl Cluster) DeleteJoinToken(ctx context.Context, id string) error {
	_, err := cl.c.call(ctx, http.MethodDelete, "/v1/cluster/join-tokens/"+esc(id), nil, nil, nil)
	return err
}

// CA reads the cluster CA certificate (no key needed). Check its
// fingerprint before trusting it: this call cannot.
func (cl Cluster) CA(ctx context.Context) (*ClusterCA, error) {
	return get[ClusterCA](ctx, cl.c, "/v1/pki/ca", nil)
}

// Enroll trades a join token (the client's token) and a certificate
// request for a node certificate.
func (cl Cluster) Enroll(ctx context.Context, r EnrollRequest) (*NodeCertificate, error) {
	return post[NodeCertificate](ctx, cl.c, "/v1/pki/enroll", nil, r)
}

// Renew trades a certificate request for a new certificate naming the
// same node; the client must be authenticated by its current one.
func (cl Cluster) Renew(ctx context.Context, r RenewRequest) (*NodeCertificate, error) {
	return post[NodeCertificate](ctx, cl.c, "/v1/pki/renew", nil, r)
}

// Keys reads the public token-signing keys (no key needed).
func (cl Cluster) Keys(ctx context.Context) (*JWKS, error) {
	return get[JWKS](ctx, cl.c, "/v1/cluster/keys", nil)
}

// RotateKeys installs a new token signing key.
func (cl Cluster) RotateKeys(ctx context.Context) (*RotatedKey, error) {
	return post[RotatedKey](ctx, cl.c, "/v1/cluster/keys/rotate", nil, nil)
}

// --- placement --------------------------------------------------------------

// ExplainPlacement is a placement dry run: where a session of this shape
// would go, and why other nodes were rejected.
func (c *Client) ExplainPlacement(ctx context.Context, p PlacementQuery) (*PlacementExplanation, error) {
	q := url.Values{}
	set(q, "app_id", p.AppID)
	set(q, "gpu_model", p.GPUModel)
	set(q, "region", p.Region)
	for k, v := range map[string]*int64{"gpus": p.GPUs, "gpu_memory_mb": p.GPUMemoryMB, "egress_mbps": p.EgressMbps} {
		if v != nil {
			q.Set(k, strconv.FormatInt(*v, 10))
		}
	}
	if p.Lat != nil && p.Lon != nil {
		q.Set("lat", strconv.FormatFloat(*p.Lat, 'g', -1, 64))
		q.Set("lon", strconv.FormatFloat(*p.Lon, 'g', -1, 64))
	}
	return get[PlacementExplanation](ctx, c, "/v1/placement/explain", q)
}
