package runtime_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/strata-edge/strata/edge/runtime"
	"github.com/strata-edge/strata/edge/runtime/runtimetest"
)

// TestProcessConformance runs the drivers' conformance suite against the
// process driver; a second driver over the same state directory is a
// restarted edge.
func TestProcessConformance(t *testing.T) {
	bin := runtimetest.Workload(t)
	dir := t.TempDir()
	for _, d := range []string{filepath.Dir(dir), dir} { // instance users pass through
		if err := os.Chmod(d, 0o711); err != nil {
			t.Fatal(err)
		}
	}
	runtimetest.Run(t, runtimetest.Harness{
		New: func(t *testing.T) runtime.Driver {
			d, err := runtime.NewProcess(runtime.ProcessConfig{StateDir: dir, PollInterval: 20e6, Cgroups: runtime.CgroupsOff}, runtime.ProcessDeps{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { _ = d.Close(context.Background()) })
			return d
		},
		Spec: func(session string, args ...string) runtime.Spec {
			return runtime.Spec{SessionID: session, TenantID: "ten_1", AppID: "app_1", Command: []string{bin}, Args: args}
		},
	})
}
