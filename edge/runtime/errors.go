package runtime

import (
	"errors"
	"fmt"
)

// Sentinel errors, wrapped with %w and the detail that explains them.
var (
	// ErrInvalidSpec is a Spec the driver cannot run (e.g. no command).
	ErrInvalidSpec = errors.New("runtime: invalid spec")
	// ErrExited means the instance exited with a failure; see ExitError.
	ErrExited = errors.New("runtime: instance exited")
	// ErrClosed is returned by a closed driver.
	ErrClosed = errors.New("runtime: driver closed")
	// ErrRootInstances refuses to run tenants' commands as root without
	// runtime.allow_root.
	ErrRootInstances = errors.New("runtime: instances would run as root")
)

// ExitError says how an instance ended when it did not exit cleanly.
type ExitError struct {
	// Code is the exit status, or -1 when a signal ended the instance.
	Code int
	// Signal names the signal that ended it, if any.
	Signal string
	// Unknown is set for adopted instances, whose status cannot be read.
	Unknown bool
}

func (e *ExitError) Error() string {
	switch {
	case e.Unknown:
		return "instance exited with an unknown status"
	case e.Signal != "":
		return fmt.Sprintf("instance killed by signal %s", e.Signal)
	default:
		return fmt.Sprintf("instance exited with status %d", e.Code)
	}
}

// Unwrap lets errors.Is(err, ErrExited) match.
func (e *ExitError) Unwrap() error { return ErrExited }
