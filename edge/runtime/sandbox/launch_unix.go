//go:build unix

package sandbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"syscall"
	"time"
)

// Start runs the shim with spec in a new process group, its output going
// to stdout and stderr, and returns once the command has replaced the
// shim (same PID) or the shim has failed, with the shim's reason. ctx
// bounds the start only. The caller owns the returned Cmd and Waits on it.
func (s Shim) Start(ctx context.Context, spec Spec, stdout, stderr io.Writer) (*exec.Cmd, error) {
	if s.Path == "" {
		return nil, errors.New("sandbox: no shim to run")
	}
	b, err := json.Marshal(spec)
	if err != nil {
		return nil, fmt.Errorf("sandbox spec: %w", err)
	}
	specR, specW, err := os.Pipe()
	if err != nil {
		return nil, fmt.Errorf("sandbox: %w", err)
	}
	statR, statW, err := os.Pipe()
	if err != nil {
		_, _ = specR.Close(), specW.Close()
		return nil, fmt.Errorf("sandbox: %w", err)
	}
	defer statR.Close()
	cmd := exec.Command(s.Path, s.Args...)
	// Never nil: a nil Env would hand the shim the edge's environment.
	cmd.Env = append([]string{}, s.Env...)
	cmd.ExtraFiles = []*os.File{specR, statW} // descriptors 3 and 4
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Stdout, cmd.Stderr = stdout, stderr
	// A grandchild that escapes the group and keeps the pipes open must
	// not hold Wait forever.
	cmd.WaitDelay = 2 * time.Second
	err = cmd.Start()
	_, _ = specR.Close(), statW.Close()
	if err != nil {
		_ = specW.Close()
		return nil, fmt.Errorf("sandbox shim: %w", err)
	}
	_, werr := specW.Write(b)
	_ = specW.Close()
	stop := context.AfterFunc(ctx, func() { _ = statR.SetReadDeadline(time.Now()) })
	msg, rerr := io.ReadAll(statR)
	stop()
	if werr == nil && rerr == nil && len(msg) == 0 {
		return cmd, nil
	}
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	_ = cmd.Wait()
	switch {
	case len(msg) > 0:
		return nil, fmt.Errorf("sandbox: %s", msg)
	case rerr != nil && ctx.Err() != nil:
		return nil, fmt.Errorf("sandbox: %w", ctx.Err())
	default:
		return nil, fmt.Errorf("sandbox: %w", errors.Join(werr, rerr))
	}
}
