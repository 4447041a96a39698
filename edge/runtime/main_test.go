package runtime

import (
	"os"
	"testing"

	"github.com/strata-edge/strata/edge/runtime/sandbox"
)

// TestMain lets this test binary serve as the process driver's sandbox
// shim, as `strata sandbox-exec` does for the real binary.
func TestMain(m *testing.M) {
	if sandbox.Hooked() {
		os.Exit(sandbox.Main())
	}
	os.Exit(m.Run())
}
