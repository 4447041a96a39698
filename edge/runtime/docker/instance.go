package docker

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"sync"
	"time"

	"github.com/moby/moby/api/pkg/stdcopy"
	"github.com/moby/moby/api/types/container"
	"github.com/moby/moby/client"

	"github.com/strata-edge/strata/edge/runtime"
)

// instance is one container, started or adopted.
type instance struct {
	*runtime.Exit
	d       *Driver
	id      string
	session string
	log     *slog.Logger
	logs    *runtime.LogSink
	logDone chan struct{} // closed when the log follower ends (or never ran)

	mu     sync.Mutex
	cid    string    // container ID; empty until created
	ending sync.Once // finish runs once
}

var _ runtime.Instance = (*instance)(nil)

func (d *Driver) newInstance(id, session string) *instance {
	log := d.log.With("session", session, "instance", id)
	return &instance{Exit: runtime.NewExit(), d: d, id: id, session: session, log: log, logs: runtime.NewLogSink(d.cfg.LogBytes, log),
		logDone: make(chan struct{})}
}

func (in *instance) setContainer(cid string) {
	in.mu.Lock()
	in.cid = cid
	in.mu.Unlock()
}

func (in *instance) container() string {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.cid
}

func (in *instance) ID() string        { return in.id }
func (in *instance) SessionID() string { return in.session }
func (in *instance) Logs() []byte      { return in.logs.Bytes() }

// Stop asks the engine to stop the container: its stop signal (SIGTERM
// unless the image says otherwise), SIGKILL after grace. The engine
// counts grace in whole seconds, so it is rounded up. Then it waits for
// the exit to be seen.
func (in *instance) Stop(ctx context.Context, grace time.Duration) error {
	select {
	case <-in.Done():
		return nil
	default:
	}
	secs := int(math.Ceil(grace.Seconds()))
	if _, err := in.d.cli.ContainerStop(ctx, in.container(), client.ContainerStopOptions{Timeout: &secs}); err != nil && !isNotFound(err) {
		return fmt.Errorf("stop %s: %w", in.id, err)
	}
	// The engine has stopped it: look until the exit is recorded (an
	// inspect may fail while the engine is busy).
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		in.d.check(in)
		select {
		case <-in.Done():
			return nil
		case <-ctx.Done():
			return fmt.Errorf("stop %s: %w", in.id, ctx.Err())
		case <-t.C:
		}
	}
}

// follow copies the container's output into the instance's log sink
// until the container exits or the driver closes. The log is read from
// the container's start, so an adopted instance keeps what it wrote
// before adoption too.
func (d *Driver) follow(in *instance) {
	d.wg.Go(func() {
		defer close(in.logDone)
		rc, err := d.cli.ContainerLogs(d.ctx, in.container(), client.ContainerLogsOptions{ShowStdout: true, ShowStderr: true, Follow: true})
		if err != nil {
			if d.ctx.Err() == nil {
				in.log.Warn("container logs unavailable", "err", err)
			}
			return
		}
		defer rc.Close()
		_, _ = stdcopy.StdCopy(in.logs.Stdout(), in.logs.Stderr(), rc)
		in.logs.Flush()
	})
}

// check inspects an instance's container and, if it has exited, ends
// the instance with its status. A container that is gone ends it with
// an unknown status.
func (d *Driver) check(in *instance) {
	cid := in.container()
	if cid == "" {
		return
	}
	ctx, cancel := context.WithTimeout(d.ctx, 30*time.Second)
	defer cancel()
	res, err := d.cli.ContainerInspect(ctx, cid, client.ContainerInspectOptions{})
	switch {
	case isNotFound(err):
		d.finish(in, &runtime.ExitError{Code: -1, Unknown: true})
	case err != nil:
		if d.ctx.Err() == nil {
			in.log.Warn("inspect failed", "err", err)
		}
	case res.Container.State != nil && exited(res.Container.State):
		d.finish(in, exitError(res.Container.State))
	}
}

// exited reports whether a container has run and stopped.
func exited(st *container.State) bool {
	return !st.Running && !st.Restarting && (st.Status == container.StateExited || st.Status == container.StateDead ||
		st.FinishedAt != "" && st.FinishedAt != "0001-01-01T00:00:00Z")
}

// exitError is the instance error of an exited container: nil for
// status 0; an OOM kill names the signal and why.
func exitError(st *container.State) error {
	switch {
	case st.OOMKilled:
		return &runtime.ExitError{Code: -1, Signal: "killed (out of memory)"}
	case st.ExitCode == 0:
		return nil
	}
	return &runtime.ExitError{Code: st.ExitCode}
}

// finish ends an instance once: its output is drained, the container
// removed (the volume stays), and Done closed.
func (d *Driver) finish(in *instance, err error) {
	in.ending.Do(func() {
		d.wg.Go(func() {
			select { // the follower ends at the exit; do not wait forever
			case <-in.logDone:
			case <-time.After(5 * time.Second):
			case <-d.ctx.Done():
			}
			if cid := in.container(); cid != "" {
				d.remove(cid)
			}
			d.forget(in.id)
			status := "exit status 0"
			if err != nil {
				status = err.Error()
			}
			in.log.Info("instance exited", "status", status)
			in.Finish(err)
		})
	})
}
