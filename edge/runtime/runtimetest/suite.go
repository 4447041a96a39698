// Package runtimetest is the conformance suite every runtime driver
// passes: the session's environment, exit statuses, stop with grace,
// adoption after a restart, nothing left over, and logs. Tests only.
package runtimetest

import (
	"bytes"
	"context"
	"errors"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/strata-edge/strata/edge/runtime"
	"github.com/strata-edge/strata/internal/poll"
)

// Harness adapts a driver to the suite.
type Harness struct {
	// New returns a driver; a second one over the same engine or state
	// directory is what a restarted edge makes. The suite closes them.
	New func(t *testing.T) runtime.Driver
	// Spec is a spec whose instance runs the workload with args.
	Spec func(session string, args ...string) runtime.Spec
}

var (
	buildOnce sync.Once
	buildPath string
	buildErr  error
)

// Workload builds the suite's workload, a static binary, once per test
// binary and returns its path.
func Workload(t *testing.T) string {
	t.Helper()
	buildOnce.Do(func() {
		dir, err := mkTemp()
		if err != nil {
			buildErr = err
			return
		}
		buildPath = filepath.Join(dir, "workload")
		cmd := exec.Command("go", "build", "-o", buildPath, "github.com/strata-edge/strata/edge/runtime/runtimetest/workload")
		cmd.Env = append(cmd.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			buildErr = errors.New("build workload: " + err.Error() + ": " + string(out))
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return buildPath
}

// Run runs the suite against h.
func Run(t *testing.T, h Harness) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	d := h.New(t)
	defer d.Close(ctx)

	t.Run("environment", func(t *testing.T) {
		spec := h.Spec("ses_env", "env", runtime.EnvSessionID, runtime.EnvPublishToken, "APP_VAR", runtime.EnvCUDADevices)
		spec.Env = map[string]string{"APP_VAR": "from-app", runtime.EnvSessionID: "forged"}
		spec.PublishToken = "tok-123"
		in := start(ctx, t, d, spec)
		waitLogs(t, in, "ready")
		logs := string(in.Logs())
		for _, want := range []string{runtime.EnvSessionID + "=ses_env\n", runtime.EnvPublishToken + "=tok-123\n", "APP_VAR=from-app\n", runtime.EnvCUDADevices + "=\n"} {
			if !strings.Contains(logs, want) {
				t.Errorf("logs lack %q:\n%s", want, logs)
			}
		}
		if in.SessionID() != "ses_env" {
			t.Errorf("session %q", in.SessionID())
		}
		if err := in.Stop(ctx, 10*time.Second); err != nil {
			t.Fatal(err)
		}
		if err := in.Err(); err != nil {
			t.Errorf("stopped by SIGTERM, handled: err %v, want a clean exit", err)
		}
	})

	t.Run("exit status", func(t *testing.T) {
		for _, code := range []int{0, 3} {
			in := start(ctx, t, d, h.Spec("ses_exit", "exit", itoa(code)))
			err := in.Wait(ctx)
			var ee *runtime.ExitError
			switch {
			case code == 0 && err != nil:
				t.Errorf("exit 0: err %v", err)
			case code != 0 && (!errors.As(err, &ee) || ee.Code != code || !errors.Is(err, runtime.ErrExited)):
				t.Errorf("exit %d: err %v, want an ExitError with the code", code, err)
			}
			logs := string(in.Logs())
			if !strings.Contains(logs, "to stdout") || !strings.Contains(logs, "to stderr") {
				t.Errorf("logs %q lack both streams", logs)
			}
		}
	})

	t.Run("stop forces after grace", func(t *testing.T) {
		in := start(ctx, t, d, h.Spec("ses_ignore", "ignore"))
		waitLogs(t, in, "ready")
		t0 := time.Now()
		if err := in.Stop(ctx, time.Second); err != nil {
			t.Fatal(err)
		}
		if took := time.Since(t0); took < 900*time.Millisecond || took > 20*time.Second {
			t.Errorf("stop took %s; want the 1 s grace, then a kill", took)
		}
		if in.Err() == nil {
			t.Error("killed instance reports a clean exit")
		}
	})

	t.Run("adopt after restart, nothing left", func(t *testing.T) {
		in := start(ctx, t, d, h.Spec("ses_adopt", "env"))
		waitLogs(t, in, "ready")
		d2 := h.New(t) // a restarted edge, while the first one's instance runs
		defer d2.Close(ctx)
		got, err := d2.Adopt(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var adopted runtime.Instance
		for _, a := range got {
			if a.SessionID() == "ses_adopt" {
				adopted = a
			}
		}
		if adopted == nil {
			t.Fatalf("adopted %d instances, none of ses_adopt", len(got))
		}
		if err := adopted.Stop(ctx, 10*time.Second); err != nil {
			t.Fatal(err)
		}
		if err := in.Wait(ctx); ctx.Err() != nil {
			t.Fatalf("the first driver never saw its instance end: %v", err)
		}
		d3 := h.New(t)
		defer d3.Close(ctx)
		left, err := d3.Adopt(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, l := range left {
			if l.SessionID() == "ses_adopt" {
				select {
				case <-l.Done():
				default:
					t.Errorf("instance %s still there after its stop", l.ID())
				}
			}
		}
	})
}

func start(ctx context.Context, t *testing.T, d runtime.Driver, spec runtime.Spec) runtime.Instance {
	t.Helper()
	in, err := d.Start(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = in.Stop(context.Background(), 0) })
	return in
}

func waitLogs(t *testing.T, in runtime.Instance, want string) {
	t.Helper()
	poll.For(t, 60*time.Second, 20*time.Millisecond, func() error {
		if !bytes.Contains(in.Logs(), []byte(want)) {
			return errors.New("logs lack " + want + ": " + string(in.Logs()))
		}
		return nil
	})
}
