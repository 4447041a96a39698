package bench

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
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
		CPUModel: procField("/proc/cpuinfo", "model name"), GPUs: gpuNames()}
	if k, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		h.Kernel = strings.TrimSpace(string(k))
	}
	if kb := procField("/proc/meminfo", "MemTotal"); kb != "" {
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

// procField returns the value of the first "key : value" line of a /proc
// file, or "".
func procField(path, key string) string {
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
	out, err := nvidiaSMI("--query-gpu=name", "--format=csv,noheader")
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

// nvidiaSMI runs nvidia-smi with a short timeout; a missing binary is an
// error the callers treat as "no GPU".
func nvidiaSMI(args ...string) ([]byte, error) {
	path, err := exec.LookPath("nvidia-smi")
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return exec.CommandContext(ctx, path, args...).Output()
}

// Stamped is a suite's JSON result with the host it ran on and the
// command line that produced it appended as "host" and "command", so a
// file read later says where it came from. The result's own fields keep
// their order.
func Stamped(result any, host Host, argv []string) ([]byte, error) {
	raw, err := json.Marshal(result)
	if err != nil {
		return nil, err
	}
	raw = bytes.TrimSpace(raw)
	if len(raw) < 2 || raw[0] != '{' {
		return nil, fmt.Errorf("bench: a result must be a JSON object, got %.20s", raw)
	}
	extra, err := json.Marshal(struct {
		Host    Host     `json:"host"`
		Command []string `json:"command"`
	}{host, argv})
	if err != nil {
		return nil, err
	}
	body := raw[:len(raw)-1]
	if len(bytes.TrimSpace(body)) > 1 {
		body = append(body, ',')
	}
	return append(body, extra[1:]...), nil
}
