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
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// ProcessConfig configures the process driver. A zero field means its
// default.
type ProcessConfig struct {
	// StateDir holds one PID file per instance, which is how a restarted
	// edge finds the instances its earlier life left running. Required.
	StateDir string
	// LogBytes bounds each instance's captured output (default 64 KiB).
	LogBytes int
	// PollInterval is how often an adopted instance (not a child of this
	// process, so not waitable) is checked for exit (default 500 ms).
	PollInterval time.Duration
}

func (c *ProcessConfig) setDefaults() {
	if c.LogBytes <= 0 {
		c.LogBytes = 64 << 10
	}
	if c.PollInterval <= 0 {
		c.PollInterval = 500 * time.Millisecond
	}
}

// Validate reports the first invalid setting, naming its key.
func (c *ProcessConfig) Validate() error {
	if c.StateDir == "" {
		return fmt.Errorf("%w: runtime.state_dir: the process driver needs a state dir", ErrInvalidSpec)
	}
	return nil
}

// ProcessDeps are the process driver's collaborators.
type ProcessDeps struct {
	// Logger receives instance output, one record per line; nil is
	// slog.Default().
	Logger *slog.Logger
}

// Process runs app commands as local processes, each in its own process
// group so a stop reaches everything the command spawned.
type Process struct {
	dir    string
	opts   ProcessConfig
	log    *slog.Logger
	quit   chan struct{} // closed by Close: ends adopted-instance pollers
	wg     sync.WaitGroup
	mu     sync.Mutex
	closed bool
}

var _ Driver = (*Process)(nil)

// NewProcess returns a process driver keeping its PID files under
// cfg.StateDir, which it creates.
func NewProcess(cfg ProcessConfig, deps ProcessDeps) (*Process, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	dir := filepath.Join(cfg.StateDir, "instances")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("runtime state dir: %w", err)
	}
	log := deps.Logger
	if log == nil {
		log = slog.Default()
	}
	return &Process{dir: dir, opts: cfg, log: log.With("component", "runtime", "driver", "process"), quit: make(chan struct{})}, nil
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
// and to tell it from an unrelated process that reused the PID.
type pidFile struct {
	ID         string    `json:"id"`
	SessionID  string    `json:"session_id"`
	PID        int       `json:"pid"`
	StartTicks uint64    `json:"start_ticks,omitempty"` // /proc/PID/stat field 22; 0 where unreadable
	StartedAt  time.Time `json:"started_at"`
}

// Start implements Driver: it runs spec.Command with exactly the
// session's environment (SessionEnv) plus PATH inherited from the edge,
// so commands resolve as they would in the edge's own shell.
func (p *Process) Start(_ context.Context, spec Spec) (Instance, error) {
	if len(spec.Command) == 0 {
		return nil, fmt.Errorf("%w: session %s: no command", ErrInvalidSpec, spec.SessionID)
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
		if path, ok := os.LookupEnv("PATH"); ok {
			env["PATH"] = path
		}
	}
	cmd := exec.Command(spec.Command[0], spec.Command[1:]...)
	cmd.Env = make([]string, 0, len(env))
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	id := spec.SessionID + "." + strconv.FormatInt(time.Now().UnixNano(), 36)
	log := p.log.With("session", spec.SessionID, "instance", id)
	rb := &ring{max: p.opts.LogBytes}
	stdout := &lineLogger{ring: rb, log: log.With("stream", "stdout")}
	stderr := &lineLogger{ring: rb, log: log.With("stream", "stderr")}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	// A grandchild that escapes the group and keeps the pipes open must
	// not hold Wait forever.
	cmd.WaitDelay = 2 * time.Second
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start session %s: %w", spec.SessionID, err)
	}
	pid := cmd.Process.Pid
	in := &instance{id: id, session: spec.SessionID, pid: pid, ring: rb, done: make(chan struct{})}
	pf := pidFile{ID: id, SessionID: spec.SessionID, PID: pid, StartTicks: startTicks(pid), StartedAt: time.Now().UTC()}
	if err := writePIDFile(p.pidPath(id), pf); err != nil {
		// Without its PID file the instance could outlive us unnoticed.
		_ = syscall.Kill(-pid, syscall.SIGKILL)
		_ = cmd.Wait()
		return nil, fmt.Errorf("session %s: %w", spec.SessionID, err)
	}
	log.Info("instance started", "pid", pid, "command", spec.Command[0], "gpus", env[EnvCUDADevices])
	// The waiter is owned by the process: it ends when the process exits,
	// which Stop forces.
	go func() {
		err := cmd.Wait()
		stdout.flush()
		stderr.flush()
		// The PID file goes first: once Done is closed nothing of the
		// instance remains.
		_ = os.Remove(p.pidPath(id))
		xerr := exitError(err)
		log.Info("instance exited", "pid", pid, "status", statusText(xerr))
		in.finish(xerr)
	}()
	return in, nil
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
			continue
		}
		in := &instance{id: pf.ID, session: pf.SessionID, pid: pf.PID, ring: &ring{max: p.opts.LogBytes}, done: make(chan struct{}), kicked: make(chan struct{}, 1)}
		p.log.Info("adopted instance from an earlier edge process", "session", pf.SessionID, "instance", pf.ID, "pid", pf.PID)
		p.wg.Go(func() { p.poll(in, pf.StartTicks, path) })
		out = append(out, in)
	}
	return out, nil
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
			in.finish(&ExitError{Code: -1, Unknown: true})
			return
		}
	}
}

// instance is a process-group instance, started or adopted.
type instance struct {
	id, session string
	pid         int
	ring        *ring
	done        chan struct{}
	kicked      chan struct{} // adopted only: poke the poller after a signal
	once        sync.Once
	err         error
}

func (in *instance) finish(err error) {
	in.once.Do(func() {
		in.err = err
		close(in.done)
	})
}

func (in *instance) ID() string            { return in.id }
func (in *instance) SessionID() string     { return in.session }
func (in *instance) Done() <-chan struct{} { return in.done }
func (in *instance) Logs() []byte          { return in.ring.bytes() }

func (in *instance) Err() error {
	select {
	case <-in.done:
		return in.err
	default:
		return nil
	}
}

func (in *instance) Wait(ctx context.Context) error {
	select {
	case <-in.done:
		return in.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Stop sends SIGTERM to the instance's process group, SIGKILL after
// grace, and waits for the exit.
func (in *instance) Stop(ctx context.Context, grace time.Duration) error {
	select {
	case <-in.done:
		return nil
	default:
	}
	in.signal(syscall.SIGTERM)
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-in.done:
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
