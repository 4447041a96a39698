package gpu

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

func captured(t *testing.T, name string) Runner {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return func(ctx context.Context, bin string, args ...string) ([]byte, error) {
		if bin != "nvidia-smi" || len(args) != 2 ||
			args[0] != "--query-gpu=index,uuid,name,memory.total,memory.used,utilization.gpu,utilization.encoder,utilization.decoder" ||
			args[1] != "--format=csv,noheader,nounits" {
			return nil, fmt.Errorf("unexpected command %s %v", bin, args)
		}
		if _, ok := ctx.Deadline(); !ok {
			return nil, errors.New("no timeout on context")
		}
		return b, nil
	}
}

func TestDiscover(t *testing.T) {
	tests := []struct {
		name    string
		spec    string
		run     Runner
		count   int
		wantErr error
	}{
		{name: "auto h200 capture", spec: "auto", run: captured(t, "query-8-h200-synth.csv"), count: 1},
		{name: "none", spec: "none", count: 0},
		{name: "fake", spec: "fake:2xA10G:24GB,1xL4:24GB", count: 3},
		{name: "bad fake", spec: "fake:2xA10G", wantErr: ErrBadSpec},
		{name: "bad spec", spec: "gpu", wantErr: ErrBadSpec},
		{name: "missing binary", spec: "auto", wantErr: ErrNoNvidiaSMI,
			run: func(context.Context, string, ...string) ([]byte, error) {
				return nil, &exec.Error{Name: "nvidia-smi", Err: exec.ErrNotFound}
			}},
		{name: "driver failure", spec: "auto", wantErr: ErrNvidiaSMIFailed,
			run: func(context.Context, string, ...string) ([]byte, error) {
				return nil, errors.New("exit status 9")
			}},
		{name: "garbage output", spec: "auto", wantErr: ErrParseCSV,
			run: func(context.Context, string, ...string) ([]byte, error) {
				return []byte("NVIDIA-SMI has failed\n"), nil
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := Discoverer{Run: tt.run}
			gpus, err := d.Discover(context.Background(), tt.spec)
			if tt.wantErr != nil {
				if !errors.Is(err, tt.wantErr) {
					t.Fatalf("err = %v, want %v", err, tt.wantErr)
				}
				return
			}
			if err != nil || len(gpus) != tt.count {
				t.Fatalf("got %d gpus, err %v; want %d", len(gpus), err, tt.count)
			}
		})
	}
}

func TestDiscoverRealMissingBinary(t *testing.T) {
	d := Discoverer{Binary: "nvidia-smi-does-not-exist-strata"}
	if _, err := d.Discover(context.Background(), "auto"); !errors.Is(err, ErrNoNvidiaSMI) || !strings.Contains(err.Error(), d.Binary) {
		t.Fatalf("err = %v, want ErrNoNvidiaSMI naming the binary", err)
	}
}

func TestSummarizeAndDigest(t *testing.T) {
	gpus := []GPU{
		{Index: 0, UUID: "a", Model: "H200", MemoryTotalMB: 100, MemoryUsedMB: 10, UtilizationPct: 50},
		{Index: 1, UUID: "b", Model: "H200", MemoryTotalMB: 100, MemoryUsedMB: NotReported, UtilizationPct: NotReported},
		{Index: 2, UUID: "c", Model: "H200", MemoryTotalMB: 100, MemoryUsedMB: 30, UtilizationPct: 10},
	}
	u := Summarize(gpus)
	if u != (Usage{Count: 3, UtilizationPct: 30, MemoryUsedMB: 40, MemoryTotalMB: 300}) {
		t.Fatalf("usage = %+v", u)
	}
	if Summarize(nil).UtilizationPct != NotReported {
		t.Fatal("empty usage should be NotReported")
	}
	rev := []GPU{gpus[2], gpus[0], gpus[1]}
	if Digest(gpus) != Digest(rev) {
		t.Fatal("digest depends on order")
	}
	if Digest(gpus) == Digest(gpus[:2]) {
		t.Fatal("digest ignores a removed gpu")
	}
}

func TestSampler(t *testing.T) {
	var calls atomic.Int64
	src := func(ctx context.Context) ([]GPU, error) {
		n := calls.Add(1)
		if n == 2 {
			return nil, errors.New("transient")
		}
		return []GPU{{UUID: "a", UtilizationPct: int(n % 100)}}, nil
	}
	samples := make(chan []GPU, 100)
	s := NewSampler(src, 5*time.Millisecond, slog.New(slog.DiscardHandler), func(g []GPU) { samples <- g })
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- s.Run(ctx) }()
	for range 3 {
		select {
		case <-samples:
		case <-time.After(5 * time.Second):
			t.Fatal("no sample")
		}
	}
	gpus, at, _ := s.Latest()
	if len(gpus) != 1 || at.IsZero() {
		t.Fatalf("latest = %+v at %v", gpus, at)
	}
	cancel()
	select {
	case err := <-done:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("Run = %v", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("sampler did not stop")
	}
}

// A failing source is logged when its error first appears or changes, and
// its recovery once; not on every sample.
func TestSamplerLogsChangesOnce(t *testing.T) {
	missing := fmt.Errorf("%w: nvidia-smi: not found", ErrNoNvidiaSMI)
	steps := []error{missing, missing, missing, errors.New("driver gone"), errors.New("driver gone"), nil, nil, missing, missing}
	i := 0
	src := func(context.Context) ([]GPU, error) {
		err := steps[i]
		i++
		if err != nil {
			return nil, err
		}
		return []GPU{{UUID: "a"}}, nil
	}
	var logs strings.Builder
	s := NewSampler(src, time.Second, slog.New(slog.NewTextHandler(&logs, nil)), nil)
	s.Prime(nil, missing) // the edge logged the first reading itself
	for range steps {
		s.sample(context.Background())
	}
	out := logs.String()
	if n := strings.Count(out, "gpu sample failed"); n != 2 {
		t.Errorf("want 2 failure lines (driver gone, then missing again), got %d:\n%s", n, out)
	}
	if n := strings.Count(out, "nvidia-smi not found"); n != 1 {
		t.Errorf("want the missing binary logged once after recovery, got %d:\n%s", n, out)
	}
	if n := strings.Count(out, "succeeded again"); n != 1 {
		t.Errorf("want one recovery line, got %d:\n%s", n, out)
	}
}
