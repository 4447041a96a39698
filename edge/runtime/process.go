//go:build unix

package runtime

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/strata-edge/strata/edge/runtime/sandbox"
)

// Process runs app commands as local processes, each sandboxed (see
// package sandbox) and in its own process group so a stop reaches
// everything the command spawned.
type Process struct {
	dir    string // PID files
	work   string // instances' working directories
	opts   ProcessConfig
	cred   *sandbox.Credential // nil: the edge's own
	cg     *sandbox.Cgroups    // nil: no cgroups
	log    *slog.Logger
	quit   chan struct{} // closed by Close: ends adopted-instance pollers
	wg     sync.WaitGroup
	mu     sync.Mutex
	closed bool
	mine   map[string]bool // instances started here whose cleanup has not run
}

var _ Driver = (*Process)(nil)

// NewProcess returns a process driver keeping its PID files and the
// instances' working directories under cfg.StateDir, which it creates.
// It fails when instances would run as root without cfg.AllowRoot.
func NewProcess(cfg ProcessConfig, deps ProcessDeps) (*Process, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	log := deps.Logger
	if log == nil {
		log = slog.Default()
	}
	log = log.With("component", "runtime", "driver", "process")
	cred, err := instanceCredential(cfg.User, cfg.AllowRoot, os.Geteuid())
	if err != nil {
		return nil, err
	}
	if cfg.Shim.Path == "" {
		if cfg.Shim, err = sandbox.Self(); err != nil {
			return nil, fmt.Errorf("runtime: sandbox shim: %w", err)
		}
	}
	// The state dir is traversable but not listable (0711) so that an
	// instance user reaches its own working directory; PID files stay
	// the edge's alone (0700).
	dir := filepath.Join(cfg.StateDir, "instances")
	work := filepath.Join(cfg.StateDir, "work")
	for _, d := range []struct {
		path string
		mode os.FileMode
	}{{cfg.StateDir, 0o711}, {dir, 0o700}, {work, 0o711}} {
		if err := os.MkdirAll(d.path, d.mode); err != nil {
			return nil, fmt.Errorf("runtime state dir: %w", err)
		}
		if err := os.Chmod(d.path, d.mode); err != nil {
			return nil, fmt.Errorf("runtime state dir: %w", err)
		}
	}
	if err := searchable(work, cred); err != nil {
		return nil, err
	}
	p := &Process{dir: dir, work: work, opts: cfg, cred: cred, log: log, quit: make(chan struct{}), mine: map[string]bool{}}
	if cfg.Cgroups != CgroupsOff {
		cg, err := sandbox.OpenCgroups(cfg.CgroupParent)
		switch {
		case err != nil && cfg.Cgroups == CgroupsRequired:
			return nil, fmt.Errorf("%w: runtime.cgroups is required: %w", ErrInvalidSpec, err)
		case err != nil:
			log.Warn("instances run without cgroups: no CPU or memory limits", "reason", err)
		default:
			p.cg = cg
			log.Info("instances run in cgroups", "version", cg.Version(), "parent", cfg.CgroupParent)
		}
	}
	who := "the edge's own user"
	if cred != nil {
		who = cred.String()
	}
	log.Info("instances are sandboxed", "user", who, "max_open_files", cfg.MaxOpenFiles, "max_processes", cfg.MaxProcesses)
	return p, nil
}

// instanceCredential is who instances run as: nil keeps the edge's own
// user (an edge that is not root cannot switch).
func instanceCredential(user string, allowRoot bool, euid int) (*sandbox.Credential, error) {
	if euid != 0 {
		if user == "" {
			return nil, nil
		}
		c, err := sandbox.LookupCredential(user)
		if err != nil {
			return nil, fmt.Errorf("%w: runtime.user: %w", ErrInvalidSpec, err)
		}
		if int(c.UID) != euid {
			return nil, fmt.Errorf("%w: runtime.user: the edge runs as uid %d and cannot run instances as %s; "+
				"leave runtime.user (--instance-user) empty to run them as the edge's user, or run the edge as root", ErrInvalidSpec, euid, user)
		}
		return nil, nil
	}
	var c sandbox.Credential
	var err error
	if user == "" {
		if c, err = sandbox.Nobody(); err != nil {
			if allowRoot {
				return &sandbox.Credential{}, nil
			}
			return nil, fmt.Errorf("%w: the edge runs as root and there is no user nobody to run instances as: "+
				"set runtime.user (--instance-user) to an unprivileged account", ErrRootInstances)
		}
	} else if c, err = sandbox.LookupCredential(user); err != nil {
		return nil, fmt.Errorf("%w: runtime.user: %w", ErrInvalidSpec, err)
	}
	if c.UID == 0 && !allowRoot {
		return nil, fmt.Errorf("%w: runtime.user %q is root: set runtime.user (--instance-user) to an unprivileged account, "+
			"or runtime.allow_root (--allow-root-instances) to run tenants' commands as root", ErrRootInstances, user)
	}
	return &c, nil
}

// searchable fails when c could not pass through dir or a directory
// above it, so an instance could not enter its working directory.
func searchable(dir string, c *sandbox.Credential) error {
	if c == nil || c.UID == 0 {
		return nil
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		return fmt.Errorf("runtime state dir: %w", err)
	}
	for d := dir; ; d = filepath.Dir(d) {
		fi, err := os.Stat(d)
		if err != nil {
			return fmt.Errorf("runtime state dir: %w", err)
		}
		st, ok := fi.Sys().(*syscall.Stat_t)
		if !ok {
			return nil
		}
		// As the kernel checks it: the owner's bits for the owner, the
		// group's for a member, the others' for everyone else.
		var bit os.FileMode
		switch {
		case st.Uid == c.UID:
			bit = 0o100
		case slices.Contains(c.Groups, st.Gid) || st.Gid == c.GID:
			bit = 0o010
		default:
			bit = 0o001
		}
		if fi.Mode().Perm()&bit == 0 {
			return fmt.Errorf("%w: runtime.state_dir: instances run as %s and cannot pass through %s to their working directories: "+
				"make it searchable (chmod o+x %s) or move the state dir", ErrInvalidSpec, c, d, d)
		}
		if d == filepath.Dir(d) {
			return nil
		}
	}
}

// Name implements Driver.
func (*Process) Name() string { return "process" }

// Close ends the pollers of adopted instances; running processes are
// left alone (their PID files let the next driver adopt them). Nothing
// of it is graceful, so ctx is not waited on.
func (p *Process) Close(context.Context) error {
	p.mu.Lock()
	if !p.closed {
		p.closed = true
		close(p.quit)
	}
	p.mu.Unlock()
	p.wg.Wait()
	return nil
}

// pidFile is what a PID file records: enough to find the process again
// and to tell it from an unrelated process that reused the PID. The shim
// execs the command in place, so PID and start time are the command's.
type pidFile struct {
	ID         string    `json:"id"`
	SessionID  string    `json:"session_id"`
	PID        int       `json:"pid"`
	StartTicks uint64    `json:"start_ticks,omitempty"` // /proc/PID/stat field 22; 0 where unreadable
	StartedAt  time.Time `json:"started_at"`
}

// Start implements Driver: it runs spec.Command in the sandbox with
// exactly the session's environment (SessionEnv) and, unless the app
// sets one, SafePATH; nothing of the edge's environment.
func (p *Process) Start(ctx context.Context, spec Spec) (Instance, error) {
	if len(spec.Command) == 0 {
		return nil, fmt.Errorf("%w: session %s: no command", ErrInvalidSpec, spec.SessionID)
	}
	if spec.Volume != "" {
		return nil, fmt.Errorf("%w: session %s: the process runtime mounts no volume", ErrInvalidSpec, spec.SessionID)
	}
	if spec.SessionID == "" || strings.ContainsAny(spec.SessionID, `/\`) {
		return nil, fmt.Errorf("%w: session id %q", ErrInvalidSpec, spec.SessionID)
	}
	p.mu.Lock()
	closed := p.closed
	p.mu.Unlock()
	if closed {
		return nil, ErrClosed
	}
	env := spec.SessionEnv()
	if _, ok := env["PATH"]; !ok {
		env["PATH"] = SafePATH
	}
	sb := sandbox.Spec{Argv: spec.Argv(), Env: make([]string, 0, len(env)), Cred: p.cred, Rlimits: p.rlimits()}
	for k, v := range env {
		sb.Env = append(sb.Env, k+"="+v)
	}
	slices.Sort(sb.Env)
	id := NewInstanceID(spec.SessionID)
	log := p.log.With("session", spec.SessionID, "instance", id)
	var err error
	if sb.Dir, err = p.makeWorkDir(id); err != nil {
		return nil, fmt.Errorf("session %s: %w", spec.SessionID, err)
	}
	if p.cg != nil {
		res := sandbox.Resources{CPUMillis: spec.CPUMillis, MemoryMB: spec.MemoryMB, Pids: int64(p.opts.MaxProcesses)}
		if sb.CgroupProcs, err = p.cg.Create(id, res); err != nil {
			p.cleanup(id)
			return nil, fmt.Errorf("session %s: %w", spec.SessionID, err)
		}
	}
	rb := &ring{max: p.opts.LogBytes}
	stdout := &lineLogger{ring: rb, log: log.With("stream", "stdout")}
	stderr := &lineLogger{ring: rb, log: log.With("stream", "stderr")}
	cmd, err := p.opts.Shim.Start(ctx, sb, stdout, stderr)
	if err != nil {
		p.cleanup(id)
		return nil, fmt.Errorf("start session %s: %w", spec.SessionID, err)
	}
	pid := cmd.Process.Pid
	in := &instance{Exit: NewExit(), id: id, session: spec.SessionID, pid: pid, ring: rb}
	pf := pidFile{ID: id, SessionID: spec.SessionID, PID: pid, StartTicks: startTicks(pid), StartedAt: time.Now().UTC()}
	if err := writePIDFile(p.pidPath(id), pf); err != nil {
		// Without its PID file the instance could outlive us unnoticed.
		_ = syscall.Kill(-pid, syscall.SIGKILL)
		_ = cmd.Wait()
		p.cleanup(id)
		return nil, fmt.Errorf("session %s: %w", spec.SessionID, err)
	}
	log.Info("instance started", "pid", pid, "command", spec.Command[0], "gpus", env[EnvCUDADevices])
	// The waiter is owned by the process: it ends when the process exits,
	// which Stop forces.
	go func() {
		err := cmd.Wait()
		stdout.flush()
		stderr.flush()
		// The PID file, working directory and cgroups go first: once Done
		// is closed nothing of the instance remains.
		_ = os.Remove(p.pidPath(id))
		p.cleanup(id)
		xerr := exitError(err)
		log.Info("instance exited", "pid", pid, "status", statusText(xerr))
		in.finish(xerr)
	}()
	return in, nil
}

// rlimits are every instance's resource limits; core dumps are off since
// an instance's memory holds its session's publish token.
func (p *Process) rlimits() []sandbox.Rlimit {
	return []sandbox.Rlimit{
		{Resource: syscall.RLIMIT_NOFILE, Value: p.opts.MaxOpenFiles},
		{Resource: sandbox.RlimitNPROC, Value: p.opts.MaxProcesses},
		{Resource: syscall.RLIMIT_CORE, Value: 0},
	}
}

// makeWorkDir creates the instance's private working directory, owned by
// the instance's user, mode 0700.
func (p *Process) makeWorkDir(id string) (string, error) {
	p.mu.Lock()
	p.mine[id] = true
	p.mu.Unlock()
	dir := filepath.Join(p.work, id)
	if err := os.Mkdir(dir, 0o700); err != nil {
		return "", fmt.Errorf("working directory: %w", err)
	}
	if p.cred != nil {
		if err := os.Lchown(dir, int(p.cred.UID), int(p.cred.GID)); err != nil {
			_ = os.Remove(dir)
			return "", fmt.Errorf("working directory: %w", err)
		}
	}
	return dir, nil
}

// cleanup removes what an ended instance leaves: its working directory
// and its cgroups (killing what is left in them).
func (p *Process) cleanup(id string) {
	if p.cg != nil {
		p.cg.Remove(id)
	}
	if err := os.RemoveAll(filepath.Join(p.work, id)); err != nil {
		p.log.Warn("instance working directory not removed", "instance", id, "err", err)
	}
	p.mu.Lock()
	delete(p.mine, id)
	p.mu.Unlock()
}

func (p *Process) pidPath(id string) string { return filepath.Join(p.dir, id+".json") }

func writePIDFile(path string, pf pidFile) error {
	b, err := json.Marshal(pf)
	if err != nil {
		return fmt.Errorf("pid file: %w", err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return fmt.Errorf("pid file: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("pid file: %w", err)
	}
	return nil
}

// Adopt implements Driver: it reads the PID files left by an earlier
// edge process, drops those whose process is gone (or whose PID now
// belongs to another process), and returns the rest, watched by polling.
func (p *Process) Adopt(_ context.Context) ([]Instance, error) {
	ents, err := os.ReadDir(p.dir)
	if err != nil {
		return nil, fmt.Errorf("runtime state dir: %w", err)
	}
	var out []Instance
	live := map[string]bool{}
	for _, e := range ents {
		name := e.Name()
		if !strings.HasSuffix(name, ".json") {
			continue
		}
		path := filepath.Join(p.dir, name)
		b, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("pid file: %w", err)
		}
		var pf pidFile
		if err := json.Unmarshal(b, &pf); err != nil || pf.PID <= 1 || pf.SessionID == "" {
			p.log.Warn("discarding unreadable pid file", "file", name, "err", err)
			_ = os.Remove(path)
			continue
		}
		if !alive(pf.PID, pf.StartTicks) {
			_ = os.Remove(path)
			p.cleanup(pf.ID)
			continue
		}
		live[pf.ID] = true
		in := &instance{Exit: NewExit(), id: pf.ID, session: pf.SessionID, pid: pf.PID, ring: &ring{max: p.opts.LogBytes}, kicked: make(chan struct{}, 1)}
		p.log.Info("adopted instance from an earlier edge process", "session", pf.SessionID, "instance", pf.ID, "pid", pf.PID)
		p.wg.Go(func() { p.poll(in, pf.StartTicks, path) })
		out = append(out, in)
	}
	p.sweepWorkDirs(live)
	return out, nil
}

// sweepWorkDirs removes the working directories (and cgroups) of
// instances that have no PID file: an earlier life died between making
// them and starting the instance, or before cleaning up after it.
// Instances this driver started are left alone.
func (p *Process) sweepWorkDirs(live map[string]bool) {
	ents, err := os.ReadDir(p.work)
	if err != nil {
		return
	}
	for _, e := range ents {
		id := e.Name()
		if live[id] {
			continue
		}
		p.mu.Lock()
		mine := p.mine[id]
		p.mu.Unlock()
		if !mine {
			p.cleanup(id)
		}
	}
}

// poll watches an adopted instance until it exits or the driver closes.
func (p *Process) poll(in *instance, ticks uint64, path string) {
	t := time.NewTicker(p.opts.PollInterval)
	defer t.Stop()
	for {
		select {
		case <-p.quit:
			return
		case <-in.kicked:
		case <-t.C:
		}
		if !alive(in.pid, ticks) {
			_ = os.Remove(path)
			p.cleanup(in.id)
			in.finish(&ExitError{Code: -1, Unknown: true})
			return
		}
	}
}

// instance is a process-group instance, started or adopted.
type instance struct {
	*Exit
	id, session string
	pid         int
	ring        *ring
	kicked      chan struct{} // adopted only: poke the poller after a signal
}

func (in *instance) finish(err error) { in.Finish(err) }

func (in *instance) ID() string        { return in.id }
func (in *instance) SessionID() string { return in.session }
func (in *instance) Logs() []byte      { return in.ring.bytes() }

// Stop sends SIGTERM to the instance's process group, SIGKILL after
// grace, and waits for the exit.
func (in *instance) Stop(ctx context.Context, grace time.Duration) error {
	select {
	case <-in.Done():
		return nil
	default:
	}
	in.signal(syscall.SIGTERM)
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-in.Done():
		return nil
	case <-ctx.Done():
		return fmt.Errorf("stop %s: %w", in.id, ctx.Err())
	case <-t.C:
	}
	in.signal(syscall.SIGKILL)
	if err := in.Wait(ctx); ctx.Err() != nil {
		return fmt.Errorf("stop %s: %w", in.id, err)
	}
	return nil
}

func (in *instance) signal(sig syscall.Signal) {
	// The group first (the command and what it spawned), then the leader
	// in case it left its group.
	_ = syscall.Kill(-in.pid, sig)
	_ = syscall.Kill(in.pid, sig)
	if in.kicked != nil {
		select {
		case in.kicked <- struct{}{}:
		default:
		}
	}
}

// exitError turns cmd.Wait's error into an *ExitError (nil: clean exit).
func exitError(err error) error {
	if err == nil {
		return nil
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return &ExitError{Code: -1, Signal: ws.Signal().String()}
		}
		return &ExitError{Code: ee.ExitCode()}
	}
	return fmt.Errorf("%w: %w", ErrExited, err)
}

func statusText(err error) string {
	if err == nil {
		return "exit status 0"
	}
	return err.Error()
}

// alive reports whether pid runs and, where /proc tells, is the process
// that started at ticks rather than a reuse of its PID. Zombies count as
// gone.
func alive(pid int, ticks uint64) bool {
	if err := syscall.Kill(pid, 0); err != nil && !errors.Is(err, syscall.EPERM) {
		return false
	}
	st, ok := procStat(pid)
	if !ok {
		return true // no /proc: trust the signal probe
	}
	if st.state == 'Z' || st.state == 'X' {
		return false
	}
	return ticks == 0 || st.start == ticks
}

func startTicks(pid int) uint64 {
	st, _ := procStat(pid)
	return st.start
}

type stat struct {
	state byte
	start uint64
}

// procStat reads the state and start time of pid from /proc (Linux).
func procStat(pid int) (stat, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return stat{}, false
	}
	// The command name may contain spaces and parentheses: fields start
	// after the last ')'. Then: state (field 3) … starttime (field 22).
	i := strings.LastIndexByte(string(b), ')')
	if i < 0 {
		return stat{}, false
	}
	f := strings.Fields(string(b[i+1:]))
	if len(f) < 20 {
		return stat{}, false
	}
	start, err := strconv.ParseUint(f[19], 10, 64)
	if err != nil {
		return stat{}, false
	}
	return stat{state: f[0][0], start: start}, true
}
