//go:build linux

package edge

import (
	"bytes"
	"context"
	"fmt"
	"strconv"
	"testing"
	"time"

	"github.com/strata-edge/strata/api"
	"github.com/strata-edge/strata/edge/runtime/sandbox"
	"github.com/strata-edge/strata/internal/poll"
)

// cgroupLimits prints the CPU quota and memory limit of the cgroups the
// shell runs in, on cgroup v1 or v2.
const cgroupLimits = `
while IFS=: read -r _ ctrl path; do
  case "$ctrl" in
    cpu|cpu,cpuacct) echo "cpu=$(cat /sys/fs/cgroup/$ctrl$path/cpu.cfs_quota_us)" ;;
    memory) echo "mem=$(cat /sys/fs/cgroup/memory$path/memory.limit_in_bytes)" ;;
    "") [ -f /sys/fs/cgroup$path/cpu.max ] && echo "cpu=$(cut -d' ' -f1 /sys/fs/cgroup$path/cpu.max)" &&
        echo "mem=$(cat /sys/fs/cgroup$path/memory.max)" ;;
  esac
done < /proc/self/cgroup
echo done
exec sleep 600
`

// An app's CPU and memory limits reach its instance's cgroup.
func TestRunnerAppliesAppLimits(t *testing.T) {
	if _, err := sandbox.OpenCgroups("strata"); err != nil {
		t.Skipf("no writable cgroups here: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	origins := &runtimeAPI{reports: make(chan report, 16), apps: map[string]api.App{
		"app_capped": {Runtime: "process", Command: []string{"/bin/sh", "-c", cgroupLimits}, CPUMillis: 1500, MemoryMB: 96},
	}}
	r, _ := newProcessRunner(t, origins)
	if err := r.Reconcile(ctx, []api.Session{placed("ses_capped", "app_capped", 0)}); err != nil {
		t.Fatal(err)
	}
	if got := nextReport(ctx, t, origins); got != (report{"ses_capped", "starting", ""}) {
		t.Fatalf("first report %+v", got)
	}
	r.mu.Lock()
	in := r.inst["ses_capped"].in
	r.mu.Unlock()
	poll.For(t, 20*time.Second, 10*time.Millisecond, func() error {
		logs := in.Logs()
		if !bytes.Contains(logs, []byte("done")) {
			return fmt.Errorf("instance output so far %q", logs)
		}
		for _, want := range []string{"cpu=150000\n", "mem=" + strconv.Itoa(96<<20) + "\n"} {
			if !bytes.Contains(logs, []byte(want)) {
				t.Fatalf("instance output %q lacks %q", logs, want)
			}
		}
		return nil
	})
}
