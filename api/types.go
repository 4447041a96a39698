package api

import (
	"encoding/json"
	"time"
)

// List is one page of a list answer, ordered by ID. NextCursor is set when
// more items follow; pass it as the cursor of the next request.
type List[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"next_cursor,omitempty"`
}

// Meta is the bookkeeping every stored object carries: when it was made
// and changed, and the registry indexes of both.
type Meta struct {
	CreatedAt   time.Time `json:"created_at"`
	UpdatedAt   time.Time `json:"updated_at"`
	CreateIndex uint64    `json:"create_index"`
	ModifyIndex uint64    `json:"modify_index"`
}

// Health is the answer of /healthz.
type Health struct {
	Status string `json:"status"`
}

// Ready is the answer of /readyz.
type Ready struct {
	Status string `json:"status"`
	Leader string `json:"leader"`
}

// --- tenants and keys -------------------------------------------------------

// Quota limits what one tenant may hold at once. Zero means unlimited.
type Quota struct {
	MaxSessions   int64 `json:"max_sessions"`
	MaxGPUs       int64 `json:"max_gpus"`
	MaxEgressMbps int64 `json:"max_egress_mbps"`
}

// TenantUsage is what a tenant's live sessions hold now.
type TenantUsage struct {
	Sessions   int64 `json:"sessions"`
	GPUs       int64 `json:"gpus"`
	EgressMbps int64 `json:"egress_mbps"`
}

// TenantCreate is the body of POST /v1/tenants.
type TenantCreate struct {
	Name   string            `json:"name"`
	Quota  *Quota            `json:"quota,omitempty"`
	Labels map[string]string `json:"labels,omitempty"`
}

// TenantUpdate is the body of PATCH /v1/tenants/{id}: fields left nil
// keep their value; a quota given replaces the whole quota.
type TenantUpdate struct {
	Name   *string            `json:"name,omitempty"`
	Quota  *Quota             `json:"quota,omitempty"`
	Labels *map[string]string `json:"labels,omitempty"`
}

// Tenant is a customer of the platform, with what it holds now.
type Tenant struct {
	ID     string            `json:"id"`
	Name   string            `json:"name"`
	Quota  Quota             `json:"quota"`
	Labels map[string]string `json:"labels,omitempty"`
	Meta
	Usage TenantUsage `json:"usage"`
}

// KeyCreate is the body of POST /v1/tenants/{id}/keys and of POST
// /v1/cluster/join-tokens.
type KeyCreate struct {
	Name      string    `json:"name"`
	ExpiresAt time.Time `json:"expires_at,omitzero"`
}

// APIKey is a bearer credential as the API shows it: never its secret.
type APIKey struct {
	ID        string    `json:"id"`
	TenantID  string    `json:"tenant_id,omitempty"`
	Scope     KeyScope  `json:"scope"`
	Name      string    `json:"name"`
	ExpiresAt time.Time `json:"expires_at,omitzero"`
	Meta
}

// CreatedKey is a key just created, with its bearer token: shown once.
type CreatedKey struct {
	APIKey
	Token string `json:"token"`
}

// --- apps -------------------------------------------------------------------

// AppSpec is the body of POST /v1/apps. Zero values take the defaults
// documented in the spec (runtime process, egress 10 Mbit/s, idle policy
// none, restart policy on-failure).
type AppSpec struct {
	TenantID      string            `json:"tenant_id,omitempty"`
	Name          string            `json:"name"`
	Runtime       Runtime           `json:"runtime,omitempty"`
	Command       []string          `json:"command,omitempty"`
	Image         string            `json:"image,omitempty"`
	Env           map[string]string `json:"env,omitempty"`
	GPUs          int64             `json:"gpus,omitempty"`
	GPUModel      string            `json:"gpu_model,omitempty"`
	GPUMemoryMB   int64             `json:"gpu_memory_mb,omitempty"`
	EgressMbps    int64             `json:"egress_mbps,omitempty"`
	IdlePolicy    IdlePolicy        `json:"idle_policy,omitempty"`
	IdleMinutes   int64             `json:"idle_minutes,omitempty"`
	RestartPolicy RestartPolicy     `json:"restart_policy,omitempty"`
	// CPUMillis and MemoryMB cap each instance (thousandths of a CPU,
	// MiB) where the edge can make cgroups; zero is unlimited.
	CPUMillis int64 `json:"cpu_millis,omitempty"`
	MemoryMB  int64 `json:"memory_mb,omitempty"`
	ContainerFields
}

// ContainerFields are the app fields beyond command and image that the
// container runtimes (docker, kubernetes) use; the process runtime
// appends Args to Command and refuses the others.
type ContainerFields struct {
	// Args are the arguments after Command (or after the image's
	// entrypoint when Command is empty).
	Args []string `json:"args,omitempty"`
	// ShmMB sizes the container's /dev/shm in MiB; zero keeps the
	// runtime's default.
	ShmMB int64 `json:"shm_mb,omitempty"`
	// Volume, when set, is the absolute path inside the container where
	// a per-session volume is mounted; it is kept across hibernate and
	// removed when the session ends.
	Volume string `json:"volume,omitempty"`
	// PullPolicy is when the image is pulled (default if_missing).
	PullPolicy PullPolicy `json:"pull_policy,omitempty"`
}

// App is a session template: what to run and what it needs.
type App struct {
	ID            string            `json:"id"`
	TenantID      string            `json:"tenant_id"`
	Name          string            `json:"name"`
	Runtime       Runtime           `json:"runtime"`
	Command       []string          `json:"command,omitempty"`
	Image         string            `json:"image,omitempty"`
	Env           map[string]string `json:"env,omitempty"`
	GPUs          int64             `json:"gpus"`
	GPUModel      string            `json:"gpu_model,omitempty"`
	GPUMemoryMB   int64             `json:"gpu_memory_mb,omitempty"`
	EgressMbps    int64             `json:"egress_mbps"`
	IdlePolicy    IdlePolicy        `json:"idle_policy"`
	IdleMinutes   int64             `json:"idle_minutes,omitempty"`
	RestartPolicy RestartPolicy     `json:"restart_policy"`
	CPUMillis     int64             `json:"cpu_millis,omitempty"`
	MemoryMB      int64             `json:"memory_mb,omitempty"`
	ContainerFields
	Meta
}

// --- sessions ---------------------------------------------------------------

// SessionSpec is the body of POST /v1/sessions. The GPU and egress fields
// override the app's when set.
type SessionSpec struct {
	TenantID    string            `json:"tenant_id,omitempty"`
	AppID       string            `json:"app_id"`
	Region      string            `json:"region,omitempty"`
	Lat         *float64          `json:"lat,omitempty"`
	Lon         *float64          `json:"lon,omitempty"`
	Labels      map[string]string `json:"labels,omitempty"`
	GPUs        *int64            `json:"gpus,omitempty"`
	GPUModel    string            `json:"gpu_model,omitempty"`
	GPUMemoryMB *int64            `json:"gpu_memory_mb,omitempty"`
	EgressMbps  *int64            `json:"egress_mbps,omitempty"`
	// FailFast makes the call fail with 503 instead of leaving the session
	// pending when no edge has capacity now.
	FailFast bool `json:"fail_fast,omitempty"`
	// Async returns at once with the session pending instead of waiting
	// for the placer's next round; watch it with a blocking query.
	Async bool `json:"async,omitempty"`
}

// GPUSlice is the part of one GPU reserved for a session.
type GPUSlice struct {
	Index    int64  `json:"index"`
	UUID     string `json:"uuid,omitempty"`
	MemoryMB int64  `json:"memory_mb"`
}

// Reservation is the capacity a placed session holds on a node.
type Reservation struct {
	NodeID     string     `json:"node_id"`
	GPUs       []GPUSlice `json:"gpus,omitempty"`
	EgressMbps int64      `json:"egress_mbps"`
}

// Session is one running (or wanted) instance of an app.
type Session struct {
	ID             string            `json:"id"`
	TenantID       string            `json:"tenant_id"`
	AppID          string            `json:"app_id"`
	State          SessionState      `json:"state"`
	Reason         string            `json:"reason,omitempty"`
	Region         string            `json:"region,omitempty"`
	Lat            float64           `json:"lat,omitempty"`
	Lon            float64           `json:"lon,omitempty"`
	HasLocation    bool              `json:"has_location"`
	Labels         map[string]string `json:"labels,omitempty"`
	GPUs           int64             `json:"gpus"`
	GPUModel       string            `json:"gpu_model,omitempty"`
	GPUMemoryMB    int64             `json:"gpu_memory_mb,omitempty"`
	EgressMbps     int64             `json:"egress_mbps"`
	Reservation    *Reservation      `json:"reservation,omitempty"`
	Placements     int64             `json:"placements"`
	StateChangedAt time.Time         `json:"state_changed_at"`
	// Source is live while a publisher feeds the session on its edge and
	// gone once it left (players then wait for the source); empty before
	// any report. SourceChangedAt is when it last changed.
	Source          SessionSource `json:"source,omitempty"`
	SourceChangedAt time.Time     `json:"source_changed_at,omitzero"`
	// RetryAt is when a session restarting after its instance failed
	// will next be placed (the restart backoff); absent otherwise.
	RetryAt time.Time `json:"retry_at,omitzero"`
	Meta
}

// SessionStateReport is the body of POST /v1/sessions/{id}/state: what
// the session's edge observed of its instance.
type SessionStateReport struct {
	// NodeID names the reporting edge; node keys must give it.
	NodeID string       `json:"node_id,omitempty"`
	State  SessionState `json:"state"`
	Reason string       `json:"reason,omitempty"`
	// ExitCode is the instance's exit status when State is failed and
	// the edge knows it; 0 is a clean exit.
	ExitCode *int `json:"exit_code,omitempty"`
}

// SessionSourceReport is the body of POST /v1/sessions/{id}/source: the
// ingest edge saw the session's publisher arrive (live) or leave (gone).
type SessionSourceReport struct {
	// NodeID names the reporting edge: an edge reports as itself and
	// may leave it out; an admin names the edge.
	NodeID string        `json:"node_id,omitempty"`
	Source SessionSource `json:"source"`
}

// SessionIdleReport is the body of POST /v1/sessions/{id}/idle.
type SessionIdleReport struct {
	NodeID      string `json:"node_id,omitempty"`
	IdleSeconds int64  `json:"idle_seconds"`
}

// ViewerRequest is the optional body of POST /v1/sessions/{id}/viewers.
type ViewerRequest struct {
	Lat    *float64 `json:"lat,omitempty"`
	Lon    *float64 `json:"lon,omitempty"`
	Region string   `json:"region,omitempty"`
	// Controller asks for the role that may send input to the session.
	Controller bool `json:"controller,omitempty"`
	// TTLSeconds is how long the viewer token works, at most
	// MaxViewerTTLSeconds; 0 means that.
	TTLSeconds int64 `json:"ttl_seconds,omitempty"`
}

// ViewerAnswer tells a viewer where to play a session from.
type ViewerAnswer struct {
	Edge      string    `json:"edge"`
	Upstream  string    `json:"upstream,omitempty"`
	Relaying  bool      `json:"relaying"`
	MoQURL    string    `json:"moq_url,omitempty"`
	WHEPURL   string    `json:"whep_url,omitempty"`
	PlayerURL string    `json:"player_url,omitempty"`
	Token     string    `json:"token"`
	ExpiresAt time.Time `json:"expires_at"`
	Role      TokenRole `json:"role"`
}

// PublisherAnswer tells a publisher where to send a session's media.
type PublisherAnswer struct {
	Edge      string    `json:"edge"`
	MoQURL    string    `json:"moq_url,omitempty"`
	WHIPURL   string    `json:"whip_url,omitempty"`
	Token     string    `json:"token"`
	ExpiresAt time.Time `json:"expires_at"`
	Role      TokenRole `json:"role"`
}

// --- nodes ------------------------------------------------------------------

// GPU is one accelerator a node offers.
type GPU struct {
	Index    int64  `json:"index"`
	UUID     string `json:"uuid,omitempty"`
	Model    string `json:"model"`
	MemoryMB int64  `json:"memory_mb"`
}

// NodeRegistration is the body of POST /v1/nodes/register: an edge's full
// self-description, which gossip metadata is too small to carry.
type NodeRegistration struct {
	ID      string            `json:"id"`
	Region  string            `json:"region,omitempty"`
	Zone    string            `json:"zone,omitempty"`
	Lat     *float64          `json:"lat,omitempty"`
	Lon     *float64          `json:"lon,omitempty"`
	Addrs   map[string]string `json:"addrs,omitempty"`
	Labels  map[string]string `json:"labels,omitempty"`
	GPUs    []GPU             `json:"gpus,omitempty"`
	NICMbps int64             `json:"nic_mbps"`
	// Runtimes are the runtime drivers the edge runs sessions with;
	// empty means process only.
	Runtimes []Runtime `json:"runtimes,omitempty"`
}

// Node is an origin or edge known to the cluster.
type Node struct {
	ID          string            `json:"id"`
	Role        NodeRole          `json:"role"`
	Region      string            `json:"region,omitempty"`
	Zone        string            `json:"zone,omitempty"`
	Lat         float64           `json:"lat,omitempty"`
	Lon         float64           `json:"lon,omitempty"`
	HasLocation bool              `json:"has_location"`
	Addrs       map[string]string `json:"addrs,omitempty"`
	Labels      map[string]string `json:"labels,omitempty"`
	GPUs        []GPU             `json:"gpus,omitempty"`
	NICMbps     int64             `json:"nic_mbps"`
	Runtimes    []Runtime         `json:"runtimes,omitempty"`
	State       NodeState         `json:"state"`
	Draining    bool              `json:"draining"`
	Reason      string            `json:"reason,omitempty"`
	// ResIndex is the registry index of the last change to the node's
	// reservations.
	ResIndex uint64 `json:"reservation_index"`
	Meta
}

// NodeView is a node with the capacity reserved on it and, for nodes in
// the gossip pool, their live load.
type NodeView struct {
	Node
	Reserved ReservedCapacity `json:"reserved"`
	Live     *LiveLoad        `json:"live,omitempty"`
}

// ReservedCapacity is what placed sessions hold on a node.
type ReservedCapacity struct {
	Sessions    int64            `json:"sessions"`
	EgressMbps  int64            `json:"egress_mbps"`
	GPUMemoryMB []GPUMemoryUsage `json:"gpu_memory_mb,omitempty"`
}

// GPUMemoryUsage is what sessions hold of one GPU of a node.
type GPUMemoryUsage struct {
	Index    int64 `json:"index"`
	MemoryMB int64 `json:"memory_mb"`
	Sessions int64 `json:"sessions"`
}

// LiveLoad is a node's gossiped load as the answering origin sees it;
// advisory.
type LiveLoad struct {
	Gossip       string  `json:"gossip_state"`
	EgressBps    uint64  `json:"egress_bps"`
	Viewers      uint32  `json:"viewers"`
	Sessions     uint32  `json:"sessions"`
	GPUUtilPct   int     `json:"gpu_util_pct"`
	GPUMemUsedMB uint64  `json:"gpu_mem_used_mb"`
	CPUPct       int     `json:"cpu_pct"`
	AgeMs        float64 `json:"age_ms"`
	Stale        bool    `json:"stale"`
}

// RelayToken is a relay-role token an edge presents to other edges.
type RelayToken struct {
	Token     string    `json:"token"`
	ExpiresAt time.Time `json:"expires_at"`
}

// --- cluster ----------------------------------------------------------------

// ClusterStatus is the Raft group as the answering origin sees it.
type ClusterStatus struct {
	NodeID       string `json:"node_id"`
	State        string `json:"state"`
	LeaderID     string `json:"leader_id"`
	LeaderAddr   string `json:"leader_address"`
	Term         uint64 `json:"term"`
	CommitIndex  uint64 `json:"commit_index"`
	AppliedIndex uint64 `json:"applied_index"`
	LastIndex    uint64 `json:"last_index"`
	Peers        []Peer `json:"peers"`
}

// Peer is one server in the Raft configuration.
type Peer struct {
	ID       string `json:"id"`
	Address  string `json:"address"`
	Suffrage string `json:"suffrage"`
	Leader   bool   `json:"leader"`
}

// JoinRequest is the body of POST /v1/cluster/join: an origin asking to
// be added to the Raft group.
type JoinRequest struct {
	ID       string `json:"id"`
	RaftAddr string `json:"raft_addr"`
	APIAddr  string `json:"api_addr"`
	// GossipAddr lets edges and other origins find this origin's pool.
	GossipAddr string `json:"gossip_addr,omitempty"`
	// MetricsAddr is where the origin serves /metrics (addrs.metrics).
	MetricsAddr string `json:"metrics_addr,omitempty"`
	Region      string `json:"region,omitempty"`
	Nonvoter    bool   `json:"nonvoter,omitempty"`
}

// LeaderChange is the answer of a leadership transfer.
type LeaderChange struct {
	LeaderID string `json:"leader_id"`
}

// JWK is one public token-signing key (RFC 8037 OKP, Ed25519).
type JWK struct {
	Kty string `json:"kty"`
	Crv string `json:"crv"`
	Kid string `json:"kid"`
	X   string `json:"x"`
	Use string `json:"use"`
	Alg string `json:"alg"`
}

// JWKS is the set of public keys edges verify media tokens with.
type JWKS struct {
	Keys []JWK `json:"keys"`
}

// RotatedKey is the answer of a signing key rotation.
type RotatedKey struct {
	Kid string `json:"kid"`
}

// --- placement --------------------------------------------------------------

// PlacementQuery asks where a session of this shape would go: an app's
// needs, overridden by the fields set, from where the requester is.
type PlacementQuery struct {
	AppID       string
	GPUs        *int64
	GPUModel    string
	GPUMemoryMB *int64
	EgressMbps  *int64
	Region      string
	Lat, Lon    *float64
}

// PlacementExplanation is a placement dry run: the decision, or why no
// node fits. Decision and Explanation are the placement engine's own
// documents, passed through as JSON.
type PlacementExplanation struct {
	Placed      bool            `json:"placed"`
	Reason      string          `json:"reason,omitempty"`
	Decision    json.RawMessage `json:"decision,omitempty"`
	Explanation json.RawMessage `json:"explanation,omitempty"`
}

// JoinTokenCreate is the body of POST /v1/cluster/join-tokens.
type JoinTokenCreate struct {
	Name string `json:"name"`
	// Role is the role of the nodes the token enrolls: edge (default) or
	// origin.
	Role NodeRole `json:"role,omitempty"`
	// TTLSeconds is how long the token can be used (default 86400).
	TTLSeconds int64 `json:"ttl_seconds,omitempty"`
	// MaxUses is how many nodes it can enroll (default 10).
	MaxUses int64 `json:"max_uses,omitempty"`
}

// JoinToken is a join token as listed (never its secret).
type JoinToken struct {
	ID        string    `json:"id"`
	Name      string    `json:"name"`
	Role      NodeRole  `json:"role"`
	ExpiresAt time.Time `json:"expires_at"`
	MaxUses   int64     `json:"max_uses"`
	Uses      int64     `json:"uses"`
	CreatedAt time.Time `json:"created_at"`
}

// CreatedJoinToken is a new join token: the token is shown once, with the
// fingerprint of the cluster CA a joining node pins.
type CreatedJoinToken struct {
	JoinToken
	Token         string `json:"token"`
	CAFingerprint string `json:"ca_fingerprint"`
}

// ClusterCA is the answer of GET /v1/pki/ca: the CA certificate every
// node and client of the cluster trusts.
type ClusterCA struct {
	Certificate string `json:"certificate"`
	Fingerprint string `json:"fingerprint"`
}

// EnrollRequest is the body of POST /v1/pki/enroll, authenticated by a
// join token: the node's ID and a PEM certificate request for its key.
type EnrollRequest struct {
	NodeID string `json:"node_id"`
	CSR    string `json:"csr"`
}

// RenewRequest is the body of POST /v1/pki/renew, authenticated by the
// node's current certificate.
type RenewRequest struct {
	CSR string `json:"csr"`
}

// NodeCertificate is an issued node certificate with the CA that signed
// it, both PEM.
type NodeCertificate struct {
	Certificate string    `json:"certificate"`
	CA          string    `json:"ca"`
	ExpiresAt   time.Time `json:"expires_at"`
}

// PrometheusTargetGroup is one entry of GET /v1/prometheus/targets, in
// Prometheus' http_sd_config format: a node's metrics endpoint and the
// labels its series get. __scheme__ and __metrics_path__ tell Prometheus
// how to scrape it; role, region and node are plain target labels.
type PrometheusTargetGroup struct {
	Targets []string          `json:"targets"`
	Labels  map[string]string `json:"labels"`
}
