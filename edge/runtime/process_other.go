//go:build !unix

package runtime

import (
	"fmt"
	"log/slog"
	"time"
)

// ProcessConfig configures the process driver.
type ProcessConfig struct {
	StateDir     string
	LogBytes     int
	PollInterval time.Duration
}

// ProcessDeps are the process driver's collaborators.
type ProcessDeps struct {
	Logger *slog.Logger
}

// Process is unavailable off unix: it needs process groups and signals.
type Process struct{ Driver }

// NewProcess fails off unix.
func NewProcess(ProcessConfig, ProcessDeps) (*Process, error) {
	return nil, fmt.Errorf("%w: the process driver needs a unix system", ErrInvalidSpec)
}
