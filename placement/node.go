package placement

import (
	"time"

	"github.com/hashicorp/serf/coordinate"
)

// NodeState is the membership state of a node as the registry last
// reconciled it from gossip. Only StateAlive nodes receive sessions or
// viewers; the zero value is StateUnknown so a node converted carelessly is
// never placed on.
type NodeState uint8

// Node states, mirroring memberlist's view plus the registry's "left".
const (
	StateUnknown NodeState = iota
	StateAlive
	StateSuspect
	StateDead
	StateLeft
)

// String returns the stable lower-case name of the state.
func (s NodeState) String() string {
	switch s {
	case StateAlive:
		return "alive"
	case StateSuspect:
		return "suspect"
	case StateDead:
		return "dead"
	case StateLeft:
		return "left"
	default:
		return "unknown"
	}
}

// LoadFreshness is how young a live-load sample must be for placement to
// trust it. Gossip reports load every second, so five missed reports means
// the sample says nothing about now and only reservations count.
const LoadFreshness = 5 * time.Second

// Location is a point on Earth in degrees. Known is false when the node (or
// requester) did not advertise a position; then distance falls back to
// region matching. A Known location with latitude outside [-90, 90] or
// longitude outside [-180, 180] is treated as unknown on nodes and rejected
// as ErrInvalidRequest on requests.
type Location struct {
	Lat, Lon float64
	Known    bool
}

// GPU is one physical GPU on a node together with what is already reserved
// on it. Several sessions may share a GPU by memory; a session that asked
// for the whole GPU reserves all of MemoryMB, which is how exclusivity is
// represented (no separate flag to drift out of sync).
type GPU struct {
	// Index is the device index the runtime driver exposes to the session
	// (CUDA_VISIBLE_DEVICES order). Unique within a node.
	Index int
	// UUID is the driver's stable GPU identifier, copied into decisions so
	// the edge can pin the exact device even if indices are renumbered.
	UUID string
	// Model is matched exactly against Request.GPUModel.
	Model string
	// MemoryMB is the GPU's total memory. A GPU with MemoryMB <= 0 never
	// fits any request.
	MemoryMB int64
	// ReservedMB is memory already reserved by placed sessions (authoritative,
	// from Raft). Values above MemoryMB are treated as "full".
	ReservedMB int64
	// Sessions is how many placed sessions use this GPU; kept up to date by
	// Apply and Release, informative for operators.
	Sessions int
}

// Load is the live load a node last gossiped. It is advisory: reservations
// in Raft are authoritative, live load only tightens the NIC headroom while
// it is fresh (Age < LoadFreshness). Age is computed by the caller from its
// own clock because the engine never reads one.
type Load struct {
	EgressMbps int64
	Age        time.Duration
}

// Node is one edge as placement sees it: static capabilities, the
// reservations already committed on it, and its advisory live load. The
// registry builds one per edge from its FSM state; Place only reads it.
type Node struct {
	// ID is unique within a snapshot; ties between equally good nodes are
	// broken by ascending ID so every origin picks the same node.
	ID     string
	Region string
	Zone   string
	// Location is the node's advertised position, used for great-circle
	// RTT estimates.
	Location Location
	// Labels are matched by equality against Request.Labels.
	Labels map[string]string
	// Runtimes are the runtime drivers the node offers (e.g. "process",
	// "docker"), matched against Request.Runtime.
	Runtimes []string

	State NodeState
	// Draining nodes keep their sessions and viewers but get no new ones.
	Draining bool

	GPUs []GPU
	// NICMbps is the NIC's egress capacity.
	NICMbps int64
	// ReservedEgressMbps is the egress already reserved by placed sessions.
	ReservedEgressMbps int64
	// Load is the advisory live load from gossip.
	Load Load

	// Coordinate is the node's Vivaldi coordinate, optional. When both the
	// requester and the node have compatible coordinates, RTT comes from
	// them instead of geography.
	Coordinate *coordinate.Coordinate

	// Revision is the registry's modify index for this node's reservations.
	// It is copied into every Decision so the FSM can reject a decision made
	// on stale reservations.
	Revision uint64

	// Relaying lists the session IDs this edge currently serves (ingests or
	// relays), so RouteViewer can prefer it for more viewers of those
	// sessions.
	Relaying []string
}

// egressUsed is what placement considers already taken on the NIC: the
// larger of reservations and fresh live load, since either can be the truth
// (sessions ramp up slowly; unreserved traffic such as relaying shows only in
// load).
func (n *Node) egressUsed() int64 {
	used := n.ReservedEgressMbps
	if n.Load.Age < LoadFreshness && n.Load.EgressMbps > used {
		used = n.Load.EgressMbps
	}
	return used
}
