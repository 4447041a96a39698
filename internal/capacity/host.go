// Package capacity describes what one node carries: the hardware it runs
// on (a fingerprint) and its calibrated capacity profile, written by
// `strata bench calibrate` and read by the edge, which may not import the
// bench.
package capacity

import (
	"bufio"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"time"
)

// Host is the hardware a result was measured on, so that a number read
// later (or a capacity profile loaded by an edge) can be matched to the
// machine that produced it.
type Host struct {
	Cores    int      `json:"cores"`
	CPUModel string   `json:"cpu_model"`
	Kernel   string   `json:"kernel"`
	OS       string   `json:"os"`
	Arch     string   `json:"arch"`
	MemBytes uint64   `json:"mem_bytes,omitempty"`
	GPUs     []string `json:"gpus,omitempty"`
	// Fingerprint hashes what decides capacity (cores, CPU model, GPUs),
	// not the kernel: a kernel update keeps a calibration valid.
	Fingerprint string `json:"fingerprint"`
}

// ThisHost describes the machine this process runs on. Fields it cannot
// read stay empty; it never fails.
func ThisHost() Host {
	h := Host{Cores: runtime.NumCPU(), OS: runtime.GOOS, Arch: runtime.GOARCH,
		CPUModel: ProcField("/proc/cpuinfo", "model name"), GPUs: gpuNames()}
	if k, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		h.Kernel = strings.TrimSpace(string(k))
	}
	if kb := ProcField("/proc/meminfo", "MemTotal"); kb != "" {
		var n uint64
		if _, err := fmt.Sscanf(kb, "%d", &n); err == nil {
			h.MemBytes = n * 1024
		}
	}
	h.Fingerprint = h.fingerprint()
	return h
}

func (h Host) fingerprint() string {
	sum := sha256.Sum256([]byte(fmt.Sprintf("%d|%s|%s|%s", h.Cores, h.CPUModel, h.Arch, strings.Join(h.GPUs, ","))))
	return hex.EncodeToString(sum[:8])
}

// ProcField returns the value of the first "key : value" line of a /proc
// file, or "".
func ProcField(path, key string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(k) == key {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// gpuNames lists NVIDIA GPUs by name when nvidia-smi is installed.
func gpuNames() []string {
	out, err := NvidiaSMI("--query-gpu=name", "--format=csv,noheader")
	if err != nil {
		return nil
	}
	var names []string
	for l := range strings.Lines(string(out)) {
		if l = strings.TrimSpace(l); l != "" {
			names = append(names, l)
		}
	}
	return names
}

// NvidiaSMI runs nvidia-smi with a short timeout; a missing binary is an
// error the callers treat as "no GPU".
func NvidiaSMI(args ...string) ([]byte, error) {
	path, err := exec.LookPath("nvidia-smi")
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return exec.CommandContext(ctx, path, args...).Output()
}
