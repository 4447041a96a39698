package placement

import (
	"fmt"

	"github.com/hashicorp/serf/coordinate"
)

// Policy says how sessions are distributed among nodes that are equally
// close (same RTT bucket). Distance always comes first: Strata's promise is
// the closest edge with capacity.
type Policy uint8

const (
	// PolicySpread (the default) prefers the node with the most headroom
	// left after placement: fewer noisy neighbours, room to absorb load
	// spikes, smaller blast radius per edge.
	PolicySpread Policy = iota
	// PolicyPack prefers the node with the least headroom left after
	// placement: it keeps other nodes whole for big multi-GPU sessions and
	// lets the autoscaler drain idle ones.
	PolicyPack
)

// String returns the stable name of the policy.
func (p Policy) String() string {
	switch p {
	case PolicySpread:
		return "spread"
	case PolicyPack:
		return "pack"
	default:
		return fmt.Sprintf("policy(%d)", uint8(p))
	}
}

// Requester is where the session's user (or viewer) is, as precisely as the
// caller knows it. RTT is estimated from the most precise information both
// ends have: Vivaldi coordinates, then geography, then region match.
type Requester struct {
	// Location is the user's position, e.g. from GeoIP.
	Location Location
	// Region is the user's region name as nodes spell it; used only for
	// nodes (or requesters) without a location.
	Region string
	// Coordinate is set when the requester is itself a node (e.g. re-placing
	// a session near an ingest edge); nil otherwise.
	Coordinate *coordinate.Coordinate
}

// Request asks for one session's placement.
type Request struct {
	// Tenant is charged against Snapshot.Tenants quotas. Required.
	Tenant string
	// GPUs is how many distinct GPUs the session needs; 0 for a session
	// that needs only egress.
	GPUs int
	// GPUModel restricts GPUs to an exact model name; empty means any.
	GPUModel string
	// GPUMemoryMB is the memory needed on each GPU. 0 asks for whole GPUs
	// (exclusive); a value equal to a GPU's memory is exclusive too.
	GPUMemoryMB int64
	// EgressMbps is the session's expected egress, reserved on the NIC.
	EgressMbps int64
	// Requester is where the user is; see Requester.
	Requester Requester
	// Regions, when not empty, restricts placement to nodes in one of them.
	Regions []string
	// Labels must all be present with equal values on the node.
	Labels map[string]string
	// Runtime, when set, is the runtime driver the session needs: nodes
	// whose Runtimes lack it are rejected (FilterRuntime).
	Runtime string
	// AvoidNodes lists node IDs that must not be chosen (anti-affinity),
	// e.g. the nodes already hosting other sessions of the same group.
	// Unknown IDs are ignored.
	AvoidNodes []string
	// Policy breaks ties among equally close nodes; zero is PolicySpread.
	Policy Policy
	// Explain fills Explanation.Rejections with every rejected node. Off by
	// default because it allocates in proportion to the fleet; per-filter
	// counts are always filled.
	Explain bool
}

// validate rejects requests that cannot be answered meaningfully.
func (r *Request) validate() error {
	switch {
	case r.Tenant == "":
		return fmt.Errorf("%w: tenant is required", ErrInvalidRequest)
	case r.GPUs < 0:
		return fmt.Errorf("%w: gpus %d is negative", ErrInvalidRequest, r.GPUs)
	case r.GPUMemoryMB < 0:
		return fmt.Errorf("%w: gpu memory %d MB is negative", ErrInvalidRequest, r.GPUMemoryMB)
	case r.GPUMemoryMB > 0 && r.GPUs == 0:
		return fmt.Errorf("%w: gpu memory given without gpus", ErrInvalidRequest)
	case r.EgressMbps < 0:
		return fmt.Errorf("%w: egress %d Mbps is negative", ErrInvalidRequest, r.EgressMbps)
	case r.Policy > PolicyPack:
		return fmt.Errorf("%w: unknown policy %d", ErrInvalidRequest, r.Policy)
	}
	return r.Requester.validate()
}

// validate checks the requester's location and coordinate.
func (q *Requester) validate() error {
	if q.Location.Known && !validLocation(q.Location) {
		return fmt.Errorf("%w: location %.4f,%.4f out of range", ErrInvalidRequest, q.Location.Lat, q.Location.Lon)
	}
	if q.Coordinate != nil && !q.Coordinate.IsValid() {
		return fmt.Errorf("%w: invalid network coordinate", ErrInvalidRequest)
	}
	return nil
}
