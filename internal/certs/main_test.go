package certs

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain checks that the sources' goroutines end with Close. The
// in-process test CA's validation authority runs a task loop with no
// way to stop it; it is not ours.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.IgnoreTopFunction("github.com/letsencrypt/pebble/v2/va.VAImpl.processTasks"))
}
