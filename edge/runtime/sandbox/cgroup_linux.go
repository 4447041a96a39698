package sandbox

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// CgroupRoot is where the cgroup file systems are mounted.
const CgroupRoot = "/sys/fs/cgroup"

const (
	cgroup2Magic = 0x63677270 // CGROUP2_SUPER_MAGIC
	cgroup1Magic = 0x27e0eb   // CGROUP_SUPER_MAGIC
	cpuPeriodUs  = 100000     // the CFS period quotas are counted in
)

// Resources are one instance's cgroup limits; zero means unlimited.
type Resources struct {
	CPUMillis int64 // thousandths of a CPU
	MemoryMB  int64
	Pids      int64 // tasks: processes and threads
}

// Cgroups makes one cgroup per instance under a parent: on cgroup v2 one
// directory, on v1 one in each of the cpu, memory and (if mounted) pids
// hierarchies.
type Cgroups struct {
	v2   bool
	dirs map[string]string // controller ("" on v2) → the parent's directory
}

// OpenCgroups finds the cgroup version at CgroupRoot and makes parent
// (a relative path, e.g. "strata") in it. An error says why instances
// cannot have cgroups here (not mounted, not writable, controllers off).
func OpenCgroups(parent string) (*Cgroups, error) {
	return openCgroupsAt(CgroupRoot, parent)
}

func openCgroupsAt(root, parent string) (*Cgroups, error) {
	if parent == "" || filepath.IsAbs(parent) || filepath.Clean(parent) != parent || strings.HasPrefix(parent, "..") {
		return nil, fmt.Errorf("cgroup parent %q: want a relative path inside the hierarchy", parent)
	}
	var st syscall.Statfs_t
	if err := syscall.Statfs(root, &st); err != nil {
		return nil, fmt.Errorf("cgroups: %w", err)
	}
	if st.Type == cgroup2Magic {
		return openV2(root, parent)
	}
	return openV1(root, parent)
}

func openV2(root, parent string) (*Cgroups, error) {
	avail, err := os.ReadFile(filepath.Join(root, "cgroup.controllers"))
	if err != nil {
		return nil, fmt.Errorf("cgroup v2: %w", err)
	}
	have := strings.Fields(string(avail))
	var want []string
	for _, c := range []string{"cpu", "memory", "pids"} {
		if slices.Contains(have, c) {
			want = append(want, c)
		}
	}
	if !slices.Contains(want, "cpu") || !slices.Contains(want, "memory") {
		return nil, fmt.Errorf("cgroup v2 at %s lacks the cpu or memory controller (has %q)", root, have)
	}
	dir := filepath.Join(root, parent)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("cgroup v2: %w", err)
	}
	if err := writable(dir); err != nil {
		return nil, fmt.Errorf("cgroup v2: %w", err)
	}
	// Controllers reach a cgroup only when every ancestor delegates them.
	enable := []byte("+" + strings.Join(want, " +"))
	for d := root; ; {
		if err := writeFile(filepath.Join(d, "cgroup.subtree_control"), enable); err != nil {
			return nil, fmt.Errorf("cgroup v2: enable %s in %s: %w", want, d, err)
		}
		if d == dir {
			break
		}
		rel, _ := filepath.Rel(d, dir)
		d = filepath.Join(d, strings.Split(rel, string(filepath.Separator))[0])
	}
	return &Cgroups{v2: true, dirs: map[string]string{"": dir}}, nil
}

func openV1(root, parent string) (*Cgroups, error) {
	c := &Cgroups{dirs: map[string]string{}}
	for _, ctrl := range []string{"cpu", "memory", "pids"} {
		mnt := filepath.Join(root, ctrl)
		var st syscall.Statfs_t
		if err := syscall.Statfs(mnt, &st); err != nil || st.Type != cgroup1Magic {
			if ctrl == "pids" {
				continue // optional: RLIMIT_NPROC still bounds processes
			}
			return nil, fmt.Errorf("no cgroup v2 at %s and no cgroup v1 %s hierarchy at %s", root, ctrl, mnt)
		}
		dir := filepath.Join(mnt, parent)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return nil, fmt.Errorf("cgroup v1 %s: %w", ctrl, err)
		}
		if err := writable(dir); err != nil {
			return nil, fmt.Errorf("cgroup v1 %s: %w", ctrl, err)
		}
		c.dirs[ctrl] = dir
	}
	return c, nil
}

// wOK is access(2)'s W_OK.
const wOK = 0x2

// writable fails when this process cannot make cgroups in dir: a parent
// that exists (made by an edge run as root before) but was never
// delegated to this user. Found at open, "auto" runs instances without
// cgroups instead of failing every start.
func writable(dir string) error {
	if err := syscall.Access(dir, wOK); err != nil {
		return fmt.Errorf("cannot make cgroups in %s as uid %d: %w (delegate it to this user, or run the edge as root)", dir, os.Geteuid(), err)
	}
	return nil
}

// Version is 2 or 1.
func (c *Cgroups) Version() int {
	if c.v2 {
		return 2
	}
	return 1
}

// Dirs are the instance id's cgroup directories, whether or not they
// exist.
func (c *Cgroups) Dirs(id string) []string {
	out := make([]string, 0, len(c.dirs))
	for _, d := range c.dirs {
		out = append(out, filepath.Join(d, id))
	}
	slices.Sort(out)
	return out
}

// Create makes id's cgroups with r's limits and returns the
// cgroup.procs files the instance joins (Spec.CgroupProcs).
func (c *Cgroups) Create(id string, r Resources) ([]string, error) {
	var procs []string
	for ctrl, parent := range c.dirs {
		dir := filepath.Join(parent, id)
		if err := os.Mkdir(dir, 0o755); err != nil && !errors.Is(err, os.ErrExist) {
			c.Remove(id)
			return nil, fmt.Errorf("cgroup: %w", err)
		}
		for name, v := range c.limits(ctrl, r) {
			if err := writeFile(filepath.Join(dir, name), []byte(v)); err != nil {
				c.Remove(id)
				return nil, fmt.Errorf("cgroup %s: %w", name, err)
			}
		}
		procs = append(procs, filepath.Join(dir, "cgroup.procs"))
	}
	slices.Sort(procs)
	return procs, nil
}

// limits are the files to write for ctrl ("" on v2: all of them).
func (c *Cgroups) limits(ctrl string, r Resources) map[string]string {
	m := map[string]string{}
	itoa := func(v int64) string { return strconv.FormatInt(v, 10) }
	if r.CPUMillis > 0 {
		quota := r.CPUMillis * cpuPeriodUs / 1000
		if c.v2 {
			m["cpu.max"] = itoa(quota) + " " + itoa(cpuPeriodUs)
		} else if ctrl == "cpu" {
			m["cpu.cfs_period_us"] = itoa(cpuPeriodUs)
			m["cpu.cfs_quota_us"] = itoa(quota)
		}
	}
	if r.MemoryMB > 0 {
		if c.v2 {
			m["memory.max"] = itoa(r.MemoryMB << 20)
		} else if ctrl == "memory" {
			m["memory.limit_in_bytes"] = itoa(r.MemoryMB << 20)
		}
	}
	if r.Pids > 0 && (ctrl == "pids" || (c.v2 && c.hasPids())) {
		m["pids.max"] = itoa(r.Pids)
	}
	return m
}

func (c *Cgroups) hasPids() bool {
	b, _ := os.ReadFile(filepath.Join(c.dirs[""], "cgroup.subtree_control"))
	return slices.Contains(strings.Fields(string(b)), "pids")
}

// Remove kills what is left in id's cgroups (descendants that outlived
// the instance) and removes them. Missing cgroups are fine.
func (c *Cgroups) Remove(id string) {
	for _, dir := range c.Dirs(id) {
		for range 100 {
			killAll(dir)
			// Only a cgroup still holding tasks is worth another try.
			if err := syscall.Rmdir(dir); !errors.Is(err, syscall.EBUSY) {
				break
			}
			// Killed tasks leave the cgroup a moment after the signal.
			time.Sleep(20 * time.Millisecond)
		}
	}
}

func killAll(dir string) {
	b, err := os.ReadFile(filepath.Join(dir, "cgroup.procs"))
	if err != nil {
		return
	}
	for _, f := range strings.Fields(string(b)) {
		if pid, err := strconv.Atoi(f); err == nil && pid > 1 {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}
