//go:build !linux

package sandbox

import "errors"

// Resources are one instance's cgroup limits; zero means unlimited.
type Resources struct {
	CPUMillis int64
	MemoryMB  int64
	Pids      int64
}

// Cgroups are Linux-only.
type Cgroups struct{}

// OpenCgroups fails off Linux.
func OpenCgroups(string) (*Cgroups, error) { return nil, errors.New("cgroups need Linux") }

// Version is 0 off Linux.
func (*Cgroups) Version() int { return 0 }

// Dirs is empty off Linux.
func (*Cgroups) Dirs(string) []string { return nil }

// Create fails off Linux.
func (*Cgroups) Create(string, Resources) ([]string, error) {
	return nil, errors.New("cgroups need Linux")
}

// Remove does nothing off Linux.
func (*Cgroups) Remove(string) {}
