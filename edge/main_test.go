package edge

import (
	"os"
	"testing"

	"github.com/strata-edge/strata/edge/runtime/sandbox"

	"go.uber.org/goleak"
)

// TestMain checks that every goroutine the edge starts has ended. The
// ignored ones are not ours. fasthttp's (the client in-process origins
// forward with): a process-wide DNS cache cleaner and per-client and
// per-host idle connection cleaners that exit on their own schedule after
// the last request. memberlist's
// probe: Shutdown does not wait for a probe in flight, which ends at its
// own timeout; any other memberlist goroutine left over is still caught.
// The binary is also the sandbox shim of the process runtime's instances.
func TestMain(m *testing.M) {
	if sandbox.Hooked() {
		os.Exit(sandbox.Main())
	}
	goleak.VerifyTestMain(m,
		goleak.IgnoreAnyFunction("github.com/valyala/fasthttp.(*Client).mCleaner"),
		goleak.IgnoreAnyFunction("github.com/valyala/fasthttp.(*HostClient).connsCleaner"),
		goleak.IgnoreTopFunction("github.com/valyala/fasthttp.(*TCPDialer).tcpAddrsClean"),
		goleak.IgnoreAnyFunction("github.com/hashicorp/memberlist.(*Memberlist).probeNode"),
		// The in-process origins of testcluster tests serve with fasthttp:
		// its worker-pool cleaner and its process-wide date updater.
		goleak.IgnoreAnyFunction("github.com/valyala/fasthttp.(*workerPool).Start.func2"),
		goleak.IgnoreAnyFunction("github.com/valyala/fasthttp.updateServerDate.func1"),
		// The in-process ACME CA's validation loop, which has no stop.
		goleak.IgnoreTopFunction("github.com/letsencrypt/pebble/v2/va.VAImpl.processTasks"),
	)
}
