//go:build !unix

package runtime

import (
	"fmt"
	"log/slog"
	"time"
)

// ProcessOptions configure the process driver.
type ProcessOptions struct {
	StateDir     string
	LogBytes     int
	Logger       *slog.Logger
	PollInterval time.Duration
}

// Process is unavailable off unix: it needs process groups and signals.
type Process struct{ Driver }

// NewProcess fails off unix.
func NewProcess(ProcessOptions) (*Process, error) {
	return nil, fmt.Errorf("%w: the process driver needs a unix system", ErrInvalidSpec)
}
