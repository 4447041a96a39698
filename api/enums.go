package api

// SessionState is a step of a session's life.
type SessionState string

// Session states, in the order a session usually goes through them.
const (
	StatePending    SessionState = "pending"
	StatePlaced     SessionState = "placed"
	StateStarting   SessionState = "starting"
	StateRunning    SessionState = "running"
	StateHibernated SessionState = "hibernated"
	StateTerminated SessionState = "terminated"
	StateFailed     SessionState = "failed"
)

// Terminal reports whether a session in this state never changes again.
func (s SessionState) Terminal() bool { return s == StateTerminated || s == StateFailed }

// Live reports whether a session in this state should have an instance
// running on its edge.
func (s SessionState) Live() bool {
	return s == StatePlaced || s == StateStarting || s == StateRunning
}

// SessionSource says whether a session's media has a live publisher, as
// its ingest edge last reported. Empty until the first report.
type SessionSource string

// Session sources.
const (
	SourceLive SessionSource = "live"
	SourceGone SessionSource = "gone"
)

// NodeRole says what a node does.
type NodeRole string

// Node roles.
const (
	RoleOrigin NodeRole = "origin"
	RoleEdge   NodeRole = "edge"
)

// NodeState is a node's membership state as the control plane sees it.
type NodeState string

// Node states.
const (
	NodeAlive   NodeState = "alive"
	NodeSuspect NodeState = "suspect"
	NodeDead    NodeState = "dead"
	NodeLeft    NodeState = "left"
)

// KeyScope says what an API key may do.
type KeyScope string

// Key scopes.
const (
	ScopeAdmin  KeyScope = "admin"
	ScopeTenant KeyScope = "tenant"
	ScopeNode   KeyScope = "node"
)

// Runtime names the driver that runs an app's sessions.
type Runtime string

// Runtimes.
const (
	RuntimeProcess    Runtime = "process"
	RuntimeDocker     Runtime = "docker"
	RuntimeKubernetes Runtime = "kubernetes"
)

// Runtimes lists every runtime an app may name.
var Runtimes = []Runtime{RuntimeProcess, RuntimeDocker, RuntimeKubernetes}

// PullPolicy says when a container runtime pulls an app's image.
type PullPolicy string

// Pull policies; the default is if_missing.
const (
	PullAlways    PullPolicy = "always"
	PullIfMissing PullPolicy = "if_missing"
	PullNever     PullPolicy = "never"
)

// PullPolicies lists every pull policy an app may name.
var PullPolicies = []PullPolicy{PullAlways, PullIfMissing, PullNever}

// IdlePolicy says what happens to a session without viewers for the
// app's idle_minutes.
type IdlePolicy string

// Idle policies.
const (
	IdleNone      IdlePolicy = "none"
	IdleHibernate IdlePolicy = "hibernate"
	IdleTerminate IdlePolicy = "terminate"
)

// IdlePolicies lists every idle policy an app may name.
var IdlePolicies = []IdlePolicy{IdleNone, IdleHibernate, IdleTerminate}

// RestartPolicy says what becomes of a session whose instance exits on
// its own.
type RestartPolicy string

// Restart policies.
const (
	RestartNever     RestartPolicy = "never"
	RestartOnFailure RestartPolicy = "on-failure"
	RestartAlways    RestartPolicy = "always"
)

// RestartPolicies lists every restart policy an app may name.
var RestartPolicies = []RestartPolicy{RestartNever, RestartOnFailure, RestartAlways}

// Consistency is a read's consistency level: stale reads the answering
// origin's state, lease the leader's while it holds its lease, consistent
// the leader's after a quorum round. Empty means stale.
type Consistency string

// Read consistency levels.
const (
	Stale      Consistency = "stale"
	Lease      Consistency = "lease"
	Consistent Consistency = "consistent"
)

// TokenRole is what a signed media token lets its holder do.
type TokenRole string

// Token roles.
const (
	TokenViewer     TokenRole = "viewer"
	TokenController TokenRole = "controller"
	TokenPublisher  TokenRole = "publisher"
)

// Every value of each enumeration, in their documented order.
var (
	SessionStates = []SessionState{StatePending, StatePlaced, StateStarting, StateRunning, StateHibernated, StateTerminated, StateFailed}
	NodeRoles     = []NodeRole{RoleOrigin, RoleEdge}
	NodeStates    = []NodeState{NodeAlive, NodeSuspect, NodeDead, NodeLeft}
	KeyScopes     = []KeyScope{ScopeAdmin, ScopeTenant, ScopeNode}
)
