package poll

import (
	"errors"
	"fmt"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeTB records a failure the way testing.T does: Fatalf ends the
// calling goroutine.
type fakeTB struct {
	mu     sync.Mutex
	failed string
}

var (
	_ TB = (*fakeTB)(nil)
	_ TB = testing.TB(nil)
)

func (f *fakeTB) Helper() {}

func (f *fakeTB) Fatalf(format string, args ...any) {
	f.mu.Lock()
	f.failed = fmt.Sprintf(format, args...)
	f.mu.Unlock()
	runtime.Goexit()
}

// run calls For on a fake in a goroutine of its own, as testing does, and
// returns the failure message ("" when it passed).
func run(total, every time.Duration, f func() error) string {
	tb := &fakeTB{}
	done := make(chan struct{})
	go func() {
		defer close(done)
		For(tb, total, every, f)
	}()
	<-done
	tb.mu.Lock()
	defer tb.mu.Unlock()
	return tb.failed
}

func TestForPassesWhenConditionHoldsLater(t *testing.T) {
	calls := 0
	msg := run(5*time.Second, time.Millisecond, func() error {
		calls++
		if calls < 3 {
			return fmt.Errorf("call %d", calls)
		}
		return nil
	})
	if msg != "" {
		t.Fatalf("failed: %s", msg)
	}
	if calls != 3 {
		t.Fatalf("f called %d times, want 3", calls)
	}
}

func TestForPassesAtOnce(t *testing.T) {
	calls := 0
	if msg := run(0, time.Hour, func() error { calls++; return nil }); msg != "" || calls != 1 {
		t.Fatalf("failed %q after %d calls; want a pass after one", msg, calls)
	}
}

func TestForFailsWithLastError(t *testing.T) {
	calls := 0
	start := time.Now()
	msg := run(50*time.Millisecond, 5*time.Millisecond, func() error {
		calls++
		return fmt.Errorf("still wrong (call %d)", calls)
	})
	took := time.Since(start)
	if want := fmt.Sprintf("still wrong (call %d)", calls); !strings.Contains(msg, want) || !strings.Contains(msg, "50ms") {
		t.Fatalf("failure %q; want the total and the last error %q", msg, want)
	}
	if calls < 2 {
		t.Fatalf("f called %d times in 50ms every 5ms", calls)
	}
	if took < 50*time.Millisecond {
		t.Fatalf("gave up after %s, before the total", took)
	}
}

func TestUntilWrapsLastError(t *testing.T) {
	sentinel := errors.New("not yet")
	calls := 0
	err := Until(20*time.Millisecond, time.Hour, func() error { calls++; return sentinel })
	if !errors.Is(err, sentinel) {
		t.Fatalf("Until = %v; want it to wrap the last error", err)
	}
	// A pause longer than the total still leaves a last try at the deadline.
	if calls != 2 {
		t.Fatalf("f called %d times; want once at the start and once at the deadline", calls)
	}
}

func TestUntilPausesBetweenCalls(t *testing.T) {
	var at []time.Time
	_ = Until(time.Second, 20*time.Millisecond, func() error {
		at = append(at, time.Now())
		if len(at) == 3 {
			return nil
		}
		return errors.New("again")
	})
	for i := 1; i < len(at); i++ {
		if gap := at[i].Sub(at[i-1]); gap < 20*time.Millisecond {
			t.Fatalf("call %d came %s after the one before; want at least 20ms", i, gap)
		}
	}
}
