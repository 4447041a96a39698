// Package poll waits in tests for a condition that becomes true on its
// own time (a leader elected, a member seen, a frame arrived), so tests
// never sleep a fixed time in its place and fail with what was last
// wrong rather than with a bare timeout.
package poll

import (
	"fmt"
	"time"
)

// TB is the part of testing.TB that For uses; it is an interface of its
// own so this package does not link the testing package into harnesses
// built outside tests.
type TB interface {
	Helper()
	Fatalf(format string, args ...any)
}

// For calls f, pausing every between calls, until it returns nil, and
// fails t with f's last error once total has passed.
func For(t TB, total, every time.Duration, f func() error) {
	t.Helper()
	if err := Until(total, every, f); err != nil {
		t.Fatalf("%v", err)
	}
}

// Until calls f, pausing every between calls, until it returns nil, and
// returns f's last error, wrapped, once total has passed. f is always called at least once
// and once more at the deadline, so a short total still gets a fair try.
func Until(total, every time.Duration, f func() error) error {
	deadline := time.Now().Add(total)
	for {
		err := f()
		if err == nil {
			return nil
		}
		left := time.Until(deadline)
		if left <= 0 {
			return fmt.Errorf("not within %s: %w", total, err)
		}
		time.Sleep(min(every, left))
	}
}
