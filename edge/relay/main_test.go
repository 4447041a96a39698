package relay

import (
	"testing"

	"go.uber.org/goleak"
)

// Every relay, session and feeder goroutine must stop on Close.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
