package moq

import (
	"testing"

	"go.uber.org/goleak"
)

// Every session goroutine must stop when its session closes.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
