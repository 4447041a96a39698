package runtime

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/strata-edge/strata/edge/runtime/sandbox"
)

// ProcessConfig configures the process driver. A zero field means its
// default.
type ProcessConfig struct {
	// StateDir holds one PID file per instance, which is how a restarted
	// edge finds the instances its earlier life left running, and the
	// instances' working directories. Required.
	StateDir string
	// LogBytes bounds each instance's captured output (default 64 KiB).
	LogBytes int
	// PollInterval is how often an adopted instance (not a child of this
	// process, so not waitable) is checked for exit (default 500 ms).
	PollInterval time.Duration

	// User is who instances run as: name, name:group, uid or uid:gid.
	// Empty: nobody (group nogroup) when the edge runs as root, else the
	// edge's own user, the only one it can run them as.
	User string
	// AllowRoot lets User be root. Without it an edge never runs a
	// tenant's command as uid 0.
	AllowRoot bool
	// MaxOpenFiles is each instance's RLIMIT_NOFILE (default 65536).
	MaxOpenFiles uint64
	// MaxProcesses bounds the processes and threads of an instance: its
	// cgroup's pids.max where there is one, and RLIMIT_NPROC, which the
	// kernel counts over all processes of the instance's user (default
	// 4096).
	MaxProcesses uint64
	// Cgroups is auto (cgroups where the kernel lets the edge make them,
	// a warning otherwise), required (no instance without one) or off.
	Cgroups string
	// CgroupParent is the cgroup, relative to the hierarchy's root, that
	// holds one cgroup per instance (default "strata").
	CgroupParent string
	// Shim re-executes into the sandbox; zero: this binary as
	// `sandbox-exec` (sandbox.Self), which a test binary serves by
	// calling sandbox.Main in TestMain when sandbox.Hooked.
	Shim sandbox.Shim
}

// Cgroups modes (ProcessConfig.Cgroups).
const (
	CgroupsAuto     = "auto"
	CgroupsRequired = "required"
	CgroupsOff      = "off"
)

// SafePATH is the PATH of an instance whose app sets none: the edge's own
// environment never reaches an instance.
const SafePATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

func (c *ProcessConfig) setDefaults() {
	if c.LogBytes <= 0 {
		c.LogBytes = 64 << 10
	}
	if c.PollInterval <= 0 {
		c.PollInterval = 500 * time.Millisecond
	}
	if c.MaxOpenFiles == 0 {
		c.MaxOpenFiles = 65536
	}
	if c.MaxProcesses == 0 {
		c.MaxProcesses = 4096
	}
	if c.Cgroups == "" {
		c.Cgroups = CgroupsAuto
	}
	if c.CgroupParent == "" {
		c.CgroupParent = "strata"
	}
}

// Validate reports the first invalid setting, naming its key.
func (c *ProcessConfig) Validate() error {
	switch {
	case c.StateDir == "":
		return fmt.Errorf("%w: runtime.state_dir: the process driver needs a state dir", ErrInvalidSpec)
	case c.Cgroups != "" && c.Cgroups != CgroupsAuto && c.Cgroups != CgroupsRequired && c.Cgroups != CgroupsOff:
		return fmt.Errorf("%w: runtime.cgroups: %q: want auto, required or off", ErrInvalidSpec, c.Cgroups)
	}
	return nil
}

// ProcessDeps are the process driver's collaborators.
type ProcessDeps struct {
	// Logger receives instance output, one record per line; nil is
	// slog.Default().
	Logger *slog.Logger
}
