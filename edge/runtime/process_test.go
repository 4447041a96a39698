//go:build unix

package runtime

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/strata-edge/strata/internal/poll"
)

func newDriver(t *testing.T, dir string) *Process {
	t.Helper()
	return newDriverWith(t, ProcessConfig{StateDir: dir})
}

// newDriverWith starts a driver on cfg with a short poll interval and,
// unless cfg says otherwise, cgroups under a parent of this test's own.
func newDriverWith(t *testing.T, cfg ProcessConfig) *Process {
	t.Helper()
	if cfg.PollInterval == 0 {
		cfg.PollInterval = 20 * time.Millisecond
	}
	if cfg.CgroupParent == "" {
		cfg.CgroupParent = testCgroupParent(t)
	}
	d, err := NewProcess(cfg, ProcessDeps{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = d.Close(context.Background()) })
	return d
}

// testCgroupParent is a cgroup parent that only this test uses, removed
// when it ends.
func testCgroupParent(t *testing.T) string {
	t.Helper()
	parent := fmt.Sprintf("strata-test/%d-%s", os.Getpid(), strings.ReplaceAll(t.Name(), "/", "_"))
	t.Cleanup(func() {
		for _, root := range []string{"/sys/fs/cgroup", "/sys/fs/cgroup/cpu", "/sys/fs/cgroup/memory", "/sys/fs/cgroup/pids"} {
			_ = os.Remove(filepath.Join(root, parent))
			_ = os.Remove(filepath.Join(root, "strata-test")) // fails while other tests use it
		}
	})
	return parent
}

// tempDir is a t.TempDir that another user can reach: instances run as
// nobody when the tests run as root, and go test makes its temporary
// directories 0700. The directory itself stays as the caller sets it.
func tempDir(t *testing.T) string {
	t.Helper()
	d := t.TempDir()
	if err := os.Chmod(filepath.Dir(d), 0o711); err != nil {
		t.Fatal(err)
	}
	return d
}

// sharedDir is a tempDir any instance user may write in.
func sharedDir(t *testing.T) string {
	t.Helper()
	d := tempDir(t)
	if err := os.Chmod(d, 0o777); err != nil {
		t.Fatal(err)
	}
	return d
}

func sh(script string, args ...string) []string {
	return append([]string{"/bin/sh", "-c", script, "sh"}, args...)
}

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// stopOnCleanup makes sure no test leaves a process behind.
func stopOnCleanup(t *testing.T, in Instance) {
	t.Cleanup(func() { _ = in.Stop(context.Background(), 0) })
}

// runToExit starts spec on d and returns the instance once it has exited
// cleanly.
func runToExit(t *testing.T, d *Process, spec Spec) Instance {
	t.Helper()
	ctx := testCtx(t)
	in, err := d.Start(ctx, spec)
	if err != nil {
		t.Fatal(err)
	}
	stopOnCleanup(t, in)
	if err := in.Wait(ctx); err != nil {
		t.Fatalf("exit: %v; logs %q", err, in.Logs())
	}
	return in
}

// runLogs is runToExit's output.
func runLogs(t *testing.T, d *Process, spec Spec) string {
	t.Helper()
	return string(runToExit(t, d, spec).Logs())
}

// waitLogs waits, as long as ctx lasts, until the instance's output
// contains s; it fails at once when the instance exits without it.
func waitLogs(ctx context.Context, t *testing.T, in Instance, s string) {
	t.Helper()
	total := 30 * time.Second
	if dl, ok := ctx.Deadline(); ok {
		total = time.Until(dl)
	}
	poll.For(t, total, 5*time.Millisecond, func() error {
		if bytes.Contains(in.Logs(), []byte(s)) {
			return nil
		}
		select {
		case <-in.Done():
			if !bytes.Contains(in.Logs(), []byte(s)) {
				t.Fatalf("exited (%v) before printing %q; got %q", in.Err(), s, in.Logs())
			}
			return nil
		default:
			return fmt.Errorf("output never contained %q; got %q", s, in.Logs())
		}
	})
}

func TestProcessEnvExact(t *testing.T) {
	if _, err := os.Stat("/proc/self/environ"); err != nil {
		t.Skip("needs /proc")
	}
	d := newDriver(t, tempDir(t))
	// The edge's own environment never reaches an instance.
	t.Setenv("STRATA_TOKEN", "edge-secret")
	out := filepath.Join(sharedDir(t), "env")
	spec := Spec{
		SessionID: "ses_a", TenantID: "ten_a", AppID: "app_a",
		// The shell's own initial environment is exactly what it was given.
		Command:    sh(`tr '\0' '\n' < /proc/$$/environ > "$1"`, out),
		Env:        map[string]string{"APP_MODE": "demo", EnvSessionID: "spoofed"},
		PublishURL: "https://edge:4433/moq", PublishToken: "tok", InputURL: "https://edge:4433/input",
		WHIPURL: "https://edge:8443/whip/ten_a/ses_a",
		GPUs:    []GPU{{Index: 1, UUID: "GPU-b"}, {Index: 3, UUID: "GPU-d"}},
	}
	runToExit(t, d, spec)
	b, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	got := strings.Split(strings.TrimSpace(string(b)), "\n")
	want := []string{
		"APP_MODE=demo", "CUDA_DEVICE_ORDER=PCI_BUS_ID", "CUDA_VISIBLE_DEVICES=1,3", "NVIDIA_VISIBLE_DEVICES=1,3",
		"STRATA_INPUT_URL=https://edge:4433/input", "STRATA_PUBLISH_TOKEN=tok",
		"STRATA_PUBLISH_URL=https://edge:4433/moq", "STRATA_SESSION_ID=ses_a",
		"STRATA_WHIP_URL=https://edge:8443/whip/ten_a/ses_a",
	}
	want = append(want, "PATH="+SafePATH)
	slices.Sort(got)
	slices.Sort(want)
	if !slices.Equal(got, want) {
		t.Fatalf("environment:\n got %q\nwant %q", got, want)
	}
}

func TestProcessNoGPUsEmptyDevices(t *testing.T) {
	env := Spec{SessionID: "ses_a"}.SessionEnv()
	for _, k := range []string{EnvCUDADevices, EnvNVDevices} {
		if v, ok := env[k]; !ok || v != "" {
			t.Errorf("%s = %q, %v; want set and empty", k, v, ok)
		}
	}
}

func TestProcessLogsAndExitStatus(t *testing.T) {
	ctx := testCtx(t)
	d := newDriver(t, tempDir(t))
	in, err := d.Start(ctx, Spec{SessionID: "ses_b", Command: sh(`echo hello-out; echo hello-err >&2; printf partial; exit 3`)})
	if err != nil {
		t.Fatal(err)
	}
	stopOnCleanup(t, in)
	err = in.Wait(ctx)
	var ee *ExitError
	if !errors.As(err, &ee) || ee.Code != 3 || !errors.Is(err, ErrExited) {
		t.Fatalf("exit = %v; want status 3", err)
	}
	logs := string(in.Logs())
	for _, s := range []string{"hello-out", "hello-err", "partial"} {
		if !strings.Contains(logs, s) {
			t.Errorf("logs %q lack %q", logs, s)
		}
	}
	if ents, _ := os.ReadDir(filepath.Join(d.opts.StateDir, "instances")); len(ents) != 0 {
		t.Errorf("pid files left after exit: %v", ents)
	}
}

func TestProcessLogsBounded(t *testing.T) {
	ctx := testCtx(t)
	d := newDriverWith(t, ProcessConfig{StateDir: tempDir(t), LogBytes: 100})
	in, err := d.Start(ctx, Spec{SessionID: "ses_c", Command: sh(`i=0; while [ $i -lt 200 ]; do echo line-$i; i=$((i+1)); done`)})
	if err != nil {
		t.Fatal(err)
	}
	if err := in.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	logs := in.Logs()
	if len(logs) > 100 || !bytes.HasSuffix(logs, []byte("line-199\n")) {
		t.Fatalf("logs (%d bytes) = %q; want the newest ≤100 bytes", len(logs), logs)
	}
}

func TestProcessStopGraceful(t *testing.T) {
	ctx := testCtx(t)
	d := newDriver(t, tempDir(t))
	in, err := d.Start(ctx, Spec{SessionID: "ses_d", Command: sh(`echo ready; exec sleep 600`)})
	if err != nil {
		t.Fatal(err)
	}
	stopOnCleanup(t, in)
	waitLogs(ctx, t, in, "ready")
	if err := in.Stop(ctx, time.Minute); err != nil {
		t.Fatal(err)
	}
	var ee *ExitError
	if !errors.As(in.Err(), &ee) || ee.Signal != "terminated" {
		t.Fatalf("exit = %v; want SIGTERM", in.Err())
	}
}

func TestProcessStopEscalatesToKill(t *testing.T) {
	ctx := testCtx(t)
	d := newDriver(t, tempDir(t))
	// An ignored signal stays ignored across exec, so sleep ignores TERM.
	in, err := d.Start(ctx, Spec{SessionID: "ses_e", Command: sh(`trap '' TERM; echo ready; exec sleep 600`)})
	if err != nil {
		t.Fatal(err)
	}
	stopOnCleanup(t, in)
	waitLogs(ctx, t, in, "ready")
	if err := in.Stop(ctx, 50*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	var ee *ExitError
	if !errors.As(in.Err(), &ee) || ee.Signal != "killed" {
		t.Fatalf("exit = %v; want SIGKILL", in.Err())
	}
}

func TestProcessAdoptOrphansAfterRestart(t *testing.T) {
	ctx := testCtx(t)
	dir := tempDir(t)
	before := newDriver(t, dir)
	var started []Instance
	for _, id := range []string{"ses_kept", "ses_gone"} {
		in, err := before.Start(ctx, Spec{SessionID: id, Command: sh(`echo ready; exec sleep 600`)})
		if err != nil {
			t.Fatal(err)
		}
		stopOnCleanup(t, in)
		waitLogs(ctx, t, in, "ready")
		started = append(started, in)
	}
	// The edge restarts: a new driver over the same state dir knows
	// nothing but the PID files.
	after := newDriver(t, dir)
	adopted, err := after.Adopt(ctx)
	if err != nil {
		t.Fatal(err)
	}
	bySession := map[string]Instance{}
	for _, in := range adopted {
		bySession[in.SessionID()] = in
	}
	if len(adopted) != 2 || bySession["ses_kept"] == nil || bySession["ses_gone"] == nil {
		t.Fatalf("adopted %d instances: %v", len(adopted), bySession)
	}
	// ses_gone is no longer assigned: the orphan is stopped.
	if err := bySession["ses_gone"].Stop(ctx, time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := started[1].Wait(ctx); err == nil {
		t.Fatal("orphan exited cleanly; want a signal")
	}
	select {
	case <-started[0].Done():
		t.Fatal("the kept instance was stopped too")
	default:
	}
	if _, err := os.Stat(filepath.Join(dir, "instances", started[1].ID()+".json")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("orphan's pid file: %v; want removed", err)
	}
	// A second restart adopts only the survivor.
	again, err := newDriver(t, dir).Adopt(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(again) != 1 || again[0].SessionID() != "ses_kept" {
		t.Fatalf("second adoption: %d instances", len(again))
	}
	if err := again[0].Stop(ctx, time.Minute); err != nil {
		t.Fatal(err)
	}
	if err := started[0].Wait(ctx); err == nil {
		t.Fatal("kept instance exited cleanly; want a signal")
	}
}
