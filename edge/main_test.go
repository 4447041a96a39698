package edge

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain checks that every goroutine the edge starts has ended. The two
// ignored ones are fasthttp's (the registry client's transport): a
// process-wide DNS cache cleaner and per-client and per-host idle
// connection cleaners that exit on their own schedule after the last
// request (registry/client has no Close to end them sooner).
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		goleak.IgnoreAnyFunction("github.com/valyala/fasthttp.(*Client).mCleaner"),
		goleak.IgnoreAnyFunction("github.com/valyala/fasthttp.(*HostClient).connsCleaner"),
		goleak.IgnoreTopFunction("github.com/valyala/fasthttp.(*TCPDialer).tcpAddrsClean"),
	)
}
