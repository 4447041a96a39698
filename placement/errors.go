package placement

import "errors"

// Sentinel errors. Place, RouteViewer, Apply and Release wrap them with %w so
// callers can test with errors.Is and still show a precise message.
var (
	// ErrNoCapacity means no node passed every filter. The error returned by
	// Place is a *NoCapacityError that carries the Explanation.
	ErrNoCapacity = errors.New("placement: no node has capacity")
	// ErrQuotaExceeded means the tenant's quota forbids the request wherever
	// it would land.
	ErrQuotaExceeded = errors.New("placement: tenant quota exceeded")
	// ErrInvalidRequest means the request itself is malformed (negative
	// amounts, unknown policy, impossible coordinates, missing tenant).
	ErrInvalidRequest = errors.New("placement: invalid request")
	// ErrInvalidSnapshot means the snapshot cannot be prepared (empty or
	// duplicate node IDs, duplicate GPU indices on a node).
	ErrInvalidSnapshot = errors.New("placement: invalid snapshot")
	// ErrUnknownNode means a decision, reservation or viewer request names a
	// node that is not in the snapshot.
	ErrUnknownNode = errors.New("placement: unknown node")
	// ErrStaleDecision means Apply was given a decision computed against an
	// older revision of the node's reservations; recompute and retry.
	ErrStaleDecision = errors.New("placement: stale decision")
)

// NoCapacityError is returned by Place when no node is feasible. It unwraps
// to ErrNoCapacity and carries the explanation (per-filter counts, and the
// rejected nodes when Request.Explain was set) so the API can tell the
// tenant why.
type NoCapacityError struct {
	Explanation Explanation
}

// Error summarises the explanation in one line.
func (e *NoCapacityError) Error() string {
	return ErrNoCapacity.Error() + " (" + e.Explanation.Summary() + ")"
}

// Unwrap makes errors.Is(err, ErrNoCapacity) true.
func (e *NoCapacityError) Unwrap() error { return ErrNoCapacity }
