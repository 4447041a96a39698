package origin_test

import (
	"os"
	"testing"

	"github.com/strata-edge/strata/edge/runtime/sandbox"
	"github.com/strata-edge/strata/internal/testcluster"
)

// TestMain lets this test binary double as a session instance: edges with
// the process runtime re-run it to publish the test clip (see
// testcluster.InstanceApp).
// It is also the sandbox shim those edges run instances through.
func TestMain(m *testing.M) {
	if sandbox.Hooked() {
		os.Exit(sandbox.Main())
	}
	if code, ok := testcluster.RunInstance(); ok {
		os.Exit(code)
	}
	os.Exit(m.Run())
}
