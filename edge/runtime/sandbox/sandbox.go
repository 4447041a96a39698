// Package sandbox confines a session instance. The process driver does
// not exec an app's command itself: it re-executes its own binary as a
// small shim (Main) that drops into the sandbox — cgroup, rlimits,
// credentials, working directory, no-new-privileges — and then execs the
// command in place, so the instance keeps the shim's PID and a PID file
// written at start names the instance itself.
//
// Go's SysProcAttr can set credentials but not no-new-privileges or
// rlimits, and a cgroup joined after start would miss what the command
// forks first; the shim does all of it between fork and exec.
//
// The shim reads its Spec from file descriptor 3, never from argv or the
// environment, where other users (argv) or the instance (environment)
// could read it, and reports a failure before exec on descriptor 4.
package sandbox

import (
	"os"
	"strconv"
	"strings"
)

// HookEnv is set in the shim's environment. A binary that embeds the
// shim under another name than the strata command (a test binary)
// checks it with Hooked and then runs Main.
const HookEnv = "STRATA_SANDBOX_EXEC"

// ShimArg is the strata subcommand that runs Main.
const ShimArg = "sandbox-exec"

// Spec is what the shim applies before it execs Argv.
type Spec struct {
	// Argv is the command; Argv[0] is looked up in Env's PATH.
	Argv []string `json:"argv"`
	// Env is the command's entire environment, KEY=value.
	Env []string `json:"env"`
	// Dir is the working directory, entered after the credentials drop.
	Dir string `json:"dir"`
	// Cred, when set, is who the command runs as; nil keeps the
	// caller's credentials (an edge that is not root cannot switch).
	Cred *Credential `json:"cred,omitempty"`
	// Rlimits are set, soft and hard, before the credentials drop; a
	// value above the caller's own hard limit is capped at it.
	Rlimits []Rlimit `json:"rlimits,omitempty"`
	// CgroupProcs are cgroup.procs files the shim moves itself into,
	// before anything else, so everything the command forks is inside.
	CgroupProcs []string `json:"cgroup_procs,omitempty"`
}

// Credential is a user, its primary group and supplementary groups.
type Credential struct {
	UID    uint32   `json:"uid"`
	GID    uint32   `json:"gid"`
	Groups []uint32 `json:"groups,omitempty"`
}

func (c Credential) String() string {
	return strconv.FormatUint(uint64(c.UID), 10) + ":" + strconv.FormatUint(uint64(c.GID), 10)
}

// Rlimit is one resource limit; Resource is the platform's RLIMIT_*
// number (the shim is the same binary as its caller).
type Rlimit struct {
	Resource int    `json:"resource"`
	Value    uint64 `json:"value"`
}

// Shim is how to run Main: a program, its arguments and its whole
// environment. The zero Shim is not usable; see Self.
type Shim struct {
	Path string
	Args []string
	Env  []string
}

// Self is the running binary as the shim: `<binary> sandbox-exec` with
// HookEnv set, which the strata command and a hooked test binary (see
// Hooked) both understand.
func Self() (Shim, error) {
	exe, err := os.Executable()
	if err != nil {
		return Shim{}, err
	}
	return Shim{Path: exe, Args: []string{ShimArg}, Env: []string{HookEnv + "=1"}}, nil
}

// Hooked reports whether this process was started as the shim. A test
// binary whose tests start process-driver instances calls it first in
// TestMain and, when true, exits with Main's status instead of running
// tests.
func Hooked() bool { return os.Getenv(HookEnv) == "1" }

// lookPath finds argv0 in path the way a shell would, as the current
// (already dropped) user; a name with a slash is used as it is.
func lookPath(argv0, path string) (string, error) {
	if strings.Contains(argv0, "/") {
		return argv0, nil
	}
	for _, dir := range strings.Split(path, ":") {
		if dir == "" {
			dir = "."
		}
		p := dir + "/" + argv0
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() && st.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", &os.PathError{Op: "exec", Path: argv0, Err: os.ErrNotExist}
}
