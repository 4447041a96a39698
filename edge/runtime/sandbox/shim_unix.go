//go:build unix

package sandbox

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime"
	"strconv"
	"strings"
	"syscall"
)

// Descriptors the shim inherits besides stdio.
const (
	specFD   = 3 // the JSON Spec; EOF ends it
	statusFD = 4 // close-on-exec: EOF without a byte means the exec happened
)

// Main is the shim: it reads a Spec, enters the sandbox and execs the
// command. It returns only when that fails, with the exit status to use;
// the reason has then gone to the launcher.
func Main() int {
	err := enter()
	st := os.NewFile(statusFD, "status")
	if st == nil || !isPipe(st) {
		fmt.Fprintln(os.Stderr, "strata sandbox-exec:", err)
		return 127
	}
	_, _ = st.WriteString(err.Error())
	return 127
}

func isPipe(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeNamedPipe != 0
}

// enter applies the Spec in an order where each step still has the
// privilege it needs: cgroup and rlimits while the caller's credentials
// last, then the drop, then the directory (entered as the instance
// user), then no-new-privileges on the very thread that execs.
func enter() error {
	// no_new_privs is a per-thread attribute that execve carries over:
	// the thread setting it must be the one that execs.
	runtime.LockOSThread()
	syscall.CloseOnExec(statusFD)
	in := os.NewFile(specFD, "spec")
	if in == nil || !isPipe(in) {
		return errors.New("no sandbox spec on descriptor 3 (this command is run by the edge, not by hand)")
	}
	b, err := io.ReadAll(in)
	_ = in.Close()
	if err != nil {
		return fmt.Errorf("read spec: %w", err)
	}
	var s Spec
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("read spec: %w", err)
	}
	if len(s.Argv) == 0 {
		return errors.New("spec: no command")
	}
	pid := []byte(strconv.Itoa(os.Getpid()))
	for _, p := range s.CgroupProcs {
		if err := writeFile(p, pid); err != nil {
			return fmt.Errorf("join cgroup: %w", err)
		}
	}
	// Files the instance creates are its own alone.
	syscall.Umask(0o077)
	for _, r := range s.Rlimits {
		if r.Resource < 0 {
			continue
		}
		// Lowering is always allowed; raising above the edge's own hard
		// limit would need a privilege the edge may lack.
		var cur syscall.Rlimit
		if err := syscall.Getrlimit(r.Resource, &cur); err == nil && cur.Max < r.Value {
			r.Value = cur.Max
		}
		if err := syscall.Setrlimit(r.Resource, &syscall.Rlimit{Cur: r.Value, Max: r.Value}); err != nil {
			return fmt.Errorf("setrlimit %d=%d: %w", r.Resource, r.Value, err)
		}
	}
	if s.Cred != nil {
		if err := setCred(*s.Cred); err != nil {
			return err
		}
	}
	if s.Dir != "" {
		if err := os.Chdir(s.Dir); err != nil {
			return fmt.Errorf("working directory: %w", err)
		}
	}
	path, err := lookPath(s.Argv[0], envPath(s.Env))
	if err != nil {
		return err
	}
	if err := setNoNewPrivs(); err != nil {
		return fmt.Errorf("no_new_privs: %w", err)
	}
	if err := syscall.Exec(path, s.Argv, s.Env); err != nil {
		return fmt.Errorf("exec %s: %w", s.Argv[0], err)
	}
	return nil // not reached
}

func writeFile(path string, b []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		return err
	}
	_, err = f.Write(b)
	return errors.Join(err, f.Close())
}

func envPath(env []string) string {
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "PATH="); ok {
			return v
		}
	}
	return ""
}

// setCred drops to c: groups first, while still allowed to, then the
// gid, then the uid, each real, effective and saved, so no way back.
func setCred(c Credential) error {
	groups := make([]int, len(c.Groups))
	for i, g := range c.Groups {
		groups[i] = int(g)
	}
	if err := syscall.Setgroups(groups); err != nil {
		return fmt.Errorf("setgroups: %w", err)
	}
	if err := setgid(int(c.GID)); err != nil {
		return fmt.Errorf("setgid %d: %w", c.GID, err)
	}
	if err := setuid(int(c.UID)); err != nil {
		return fmt.Errorf("setuid %d: %w", c.UID, err)
	}
	return nil
}
