//go:build !unix

package runtime

import (
	"fmt"
)

// Process is unavailable off unix: it needs process groups and signals.
type Process struct{ Driver }

// NewProcess fails off unix.
func NewProcess(ProcessConfig, ProcessDeps) (*Process, error) {
	return nil, fmt.Errorf("%w: the process driver needs a unix system", ErrInvalidSpec)
}
