package kubernetes

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"sync"
	"sync/atomic"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"

	"github.com/strata-edge/strata/edge/runtime"
)

type podClient = typedcorev1.PodInterface

// instance is one Pod, started or adopted.
type instance struct {
	*runtime.Exit
	d       *Driver
	id      string
	session string
	log     *slog.Logger
	logs    *runtime.LogSink
	logDone chan struct{} // closed when the log follower ends
	running chan struct{} // closed when the container is seen running
	failed  chan struct{} // closed when the kubelet cannot start it
	created atomic.Bool   // the Pod exists (or existed) on the API server

	mu      sync.Mutex
	pod     string
	failErr error
	run     sync.Once
	fail    sync.Once
	follow  sync.Once
	ending  sync.Once
}

var _ runtime.Instance = (*instance)(nil)

func (d *Driver) newInstance(id, session string) *instance {
	log := d.log.With("session", session, "instance", id)
	return &instance{Exit: runtime.NewExit(), d: d, id: id, session: session, log: log, logs: runtime.NewLogSink(d.cfg.LogBytes, log),
		logDone: make(chan struct{}), running: make(chan struct{}), failed: make(chan struct{})}
}

func (in *instance) setPod(name string) {
	in.mu.Lock()
	in.pod = name
	in.mu.Unlock()
}

func (in *instance) podName() string {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.pod
}

func (in *instance) startErr() error {
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.failErr
}

func (in *instance) ID() string        { return in.id }
func (in *instance) SessionID() string { return in.session }
func (in *instance) Logs() []byte      { return in.logs.Bytes() }

// Stop deletes the Pod with grace (rounded up to whole seconds, as the
// API counts it): the kubelet sends the container SIGTERM, then SIGKILL
// after grace. It waits for the exit to be seen, looking at the Pod
// itself every second in case the watch is reconnecting.
func (in *instance) Stop(ctx context.Context, grace time.Duration) error {
	select {
	case <-in.Done():
		return nil
	default:
	}
	secs := int64(math.Ceil(grace.Seconds()))
	name := in.podName()
	if err := in.d.pods().Delete(ctx, name, deleteWith(&secs)); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("stop %s: %w", in.id, err)
	}
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-in.Done():
			return nil
		case <-ctx.Done():
			return fmt.Errorf("stop %s: %w", in.id, ctx.Err())
		case <-t.C:
		}
		p, err := in.d.pods().Get(ctx, name, getOpts)
		switch {
		case apierrors.IsNotFound(err):
			in.d.finish(in, lastExit(nil))
		case err == nil:
			in.d.observe(in, p)
		}
	}
}

// observe moves an instance along with its Pod's status: running,
// failed to start, or exited.
func (d *Driver) observe(in *instance, p *corev1.Pod) {
	if p == nil {
		return
	}
	st := containerStatus(p)
	switch {
	case st != nil && st.State.Terminated != nil:
		d.startLogs(in)
		d.finish(in, exitError(st.State.Terminated))
	case p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed:
		// Ended without its container ever running (evicted, or
		// rejected by the kubelet: no room, no such node).
		in.log.Warn("pod ended before its container ran", "reason", p.Status.Reason, "message", p.Status.Message)
		d.finish(in, &runtime.ExitError{Code: -1, Unknown: true})
	case st != nil && st.State.Running != nil || p.Status.Phase == corev1.PodRunning:
		in.run.Do(func() { close(in.running) })
		d.startLogs(in)
	case st != nil && st.State.Waiting != nil && fatalWaiting[st.State.Waiting.Reason]:
		in.fail.Do(func() {
			in.mu.Lock()
			in.failErr = fmt.Errorf("%w: %s: %s", ErrNotStarted, st.State.Waiting.Reason, st.State.Waiting.Message)
			in.mu.Unlock()
			close(in.failed)
		})
	}
}

// ErrNotStarted means the kubelet cannot start an instance's container:
// its image is missing or cannot be pulled, or its config is invalid.
var ErrNotStarted = errors.New("kubernetes: container cannot start")

// fatalWaiting are the waiting reasons after which a container will not
// start without a change to its Pod.
var fatalWaiting = map[string]bool{
	"ErrImagePull": true, "ImagePullBackOff": true, "ErrImageNeverPull": true, "InvalidImageName": true,
	"CreateContainerConfigError": true, "CreateContainerError": true,
}

// containerStatus is the instance container's status; nil before the
// kubelet reports one.
func containerStatus(p *corev1.Pod) *corev1.ContainerStatus {
	for i := range p.Status.ContainerStatuses {
		if p.Status.ContainerStatuses[i].Name == containerName {
			return &p.Status.ContainerStatuses[i]
		}
	}
	return nil
}

// exitError is the instance error of a terminated container: nil for
// status 0; an OOM kill names the signal and why.
func exitError(t *corev1.ContainerStateTerminated) error {
	switch {
	case t.Reason == "OOMKilled":
		return &runtime.ExitError{Code: -1, Signal: "killed (out of memory)"}
	case t.ExitCode == 0:
		return nil
	}
	return &runtime.ExitError{Code: int(t.ExitCode)}
}

// lastExit is the exit of a Pod that is gone, from its last known
// state: its container's status if it had terminated, else unknown.
func lastExit(p *corev1.Pod) error {
	if p != nil {
		if st := containerStatus(p); st != nil && st.State.Terminated != nil {
			return exitError(st.State.Terminated)
		}
	}
	return &runtime.ExitError{Code: -1, Unknown: true}
}

// startLogs follows the container's output, from its start, into the
// instance's log sink until it exits or the driver closes. The API
// interleaves stdout and stderr into one stream.
func (d *Driver) startLogs(in *instance) {
	in.follow.Do(func() {
		d.wg.Go(func() {
			defer close(in.logDone)
			rc, err := d.pods().GetLogs(in.podName(), &corev1.PodLogOptions{Container: containerName, Follow: true}).Stream(d.ctx)
			if err != nil {
				if d.ctx.Err() == nil {
					in.log.Warn("pod logs unavailable", "err", err)
				}
				return
			}
			defer rc.Close()
			_, _ = io.Copy(in.logs.Stdout(), rc)
			in.logs.Flush()
		})
	})
}

// finish ends an instance once: its output is drained, the Pod deleted
// and Done closed.
func (d *Driver) finish(in *instance, err error) {
	in.ending.Do(func() {
		d.wg.Go(func() {
			in.follow.Do(func() { close(in.logDone) }) // never followed: nothing to drain
			select {                                   // the follower ends at the exit; do not wait forever
			case <-in.logDone:
			case <-time.After(5 * time.Second):
			case <-d.ctx.Done():
			}
			d.delete(in.podName(), nil)
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
