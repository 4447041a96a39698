package gpu

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"time"
)

// QueryFields are the nvidia-smi --query-gpu properties Strata reads, in
// column order. The names are checked against `nvidia-smi
// --help-query-gpu` of driver 580.
var QueryFields = []string{
	"index", "uuid", "name", "memory.total", "memory.used",
	"utilization.gpu", "utilization.encoder", "utilization.decoder",
}

// DefaultTimeout bounds one nvidia-smi run; a wedged driver must not hang
// node startup or the sampler.
const DefaultTimeout = 5 * time.Second

// Runner runs a command and returns its stdout. It is a function so tests
// can feed captured output instead of running nvidia-smi.
type Runner func(ctx context.Context, name string, args ...string) ([]byte, error)

// ExecRunner runs the command with os/exec.
func ExecRunner(ctx context.Context, name string, args ...string) ([]byte, error) {
	return exec.CommandContext(ctx, name, args...).Output()
}

// Discoverer finds GPUs. The zero value is ready to use: it runs the real
// nvidia-smi with DefaultTimeout. It logs nothing: it runs every sample,
// so its caller logs a condition once, when it changes (see Sampler).
type Discoverer struct {
	Run     Runner        // nil means ExecRunner
	Binary  string        // "" means "nvidia-smi"
	Timeout time.Duration // 0 means DefaultTimeout
}

// Discover resolves spec with a zero Discoverer.
func Discover(ctx context.Context, spec string) ([]GPU, error) {
	var d Discoverer
	return d.Discover(ctx, spec)
}

// Discover resolves spec: "auto", "none" or "fake:SPEC" (see the package
// doc). With "auto" and no nvidia-smi installed it returns no GPUs and an
// error wrapping ErrNoNvidiaSMI, so the caller decides whether a GPU-less
// edge is acceptable.
func (d *Discoverer) Discover(ctx context.Context, spec string) ([]GPU, error) {
	switch {
	case spec == "auto":
		return d.query(ctx)
	case spec == "none" || spec == "":
		return nil, nil
	case strings.HasPrefix(spec, "fake:"):
		return ParseFakeSpec(strings.TrimPrefix(spec, "fake:"))
	default:
		return nil, fmt.Errorf("%w: %q (want auto, none or fake:SPEC)", ErrBadSpec, spec)
	}
}

func (d *Discoverer) query(ctx context.Context) ([]GPU, error) {
	run, bin, timeout := d.Run, d.Binary, d.Timeout
	if run == nil {
		run = ExecRunner
	}
	if bin == "" {
		bin = "nvidia-smi"
	}
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	out, err := run(ctx, bin,
		"--query-gpu="+strings.Join(QueryFields, ","),
		"--format=csv,noheader,nounits")
	if err != nil {
		if errors.Is(err, exec.ErrNotFound) {
			return nil, fmt.Errorf("%w: %s: %w", ErrNoNvidiaSMI, bin, err)
		}
		var ee *exec.ExitError
		if errors.As(err, &ee) && len(ee.Stderr) > 0 {
			return nil, fmt.Errorf("%w: %w: %s", ErrNvidiaSMIFailed, err, bytes.TrimSpace(ee.Stderr))
		}
		return nil, fmt.Errorf("%w: %w", ErrNvidiaSMIFailed, err)
	}
	return ParseCSV(out)
}
