package origin_test

import (
	"os"
	"testing"

	"github.com/strata-edge/strata/internal/testcluster"
)

// TestMain lets this test binary double as a session instance: edges with
// the process runtime re-run it to publish the test clip (see
// testcluster.InstanceApp).
func TestMain(m *testing.M) {
	if code, ok := testcluster.RunInstance(); ok {
		os.Exit(code)
	}
	os.Exit(m.Run())
}
