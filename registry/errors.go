package registry

import "errors"

// Sentinel errors. The API layer maps each to a stable code and status.
var (
	ErrNotFound          = errors.New("not found")
	ErrAlreadyExists     = errors.New("already exists")
	ErrConflict          = errors.New("conflict: object changed concurrently")
	ErrInvalidTransition = errors.New("invalid state transition")
	ErrInvalid           = errors.New("invalid")
	ErrQuotaExceeded     = errors.New("quota exceeded")
	ErrNoCapacity        = errors.New("no capacity")
	ErrStaleDecision     = errors.New("stale placement decision")
	ErrNotLeader         = errors.New("not the leader")
	// ErrLeadershipLost means the command was proposed but leadership
	// changed before it committed: it may or may not take effect.
	ErrLeadershipLost = errors.New("leadership lost while committing; the change may or may not have been applied")
	ErrNoLeader       = errors.New("no leader")
	ErrCorrupt        = errors.New("corrupt data")
	ErrUnknownCommand = errors.New("unknown command")
	ErrTimeout        = errors.New("timed out")
	ErrShutdown       = errors.New("registry is shut down")
	// ErrTokenUnusable means a join token expired or was used up.
	ErrTokenUnusable = errors.New("join token unusable")
)
