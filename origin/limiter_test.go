package origin

import (
	"fmt"
	"testing"
	"time"
)

// TestLimiterBounded: the limiter never holds more than maxKeys buckets;
// refilled buckets make room for new keys, and while none has refilled,
// new keys share one overflow bucket instead of each getting a fresh one.
func TestLimiterBounded(t *testing.T) {
	l := newLimiter(1, 2)
	l.maxKeys = 10
	now := time.Unix(1000, 0)
	for i := range 10 {
		l.allow(fmt.Sprint("a", i), now)
	}
	// Full, none refilled: newcomers share the overflow bucket (2 tokens).
	allowed := 0
	for i := range 5 {
		if _, ok := l.allow(fmt.Sprint("b", i), now); ok {
			allowed++
		}
	}
	if allowed != 2 || len(l.keys) != 11 {
		t.Fatalf("while full: %d newcomers allowed, %d buckets; want 2 and 11", allowed, len(l.keys))
	}
	// Later, every bucket has refilled: a newcomer gets its own.
	later := now.Add(10 * time.Second)
	if _, ok := l.allow("c", later); !ok {
		t.Fatal("newcomer refused after the buckets refilled")
	}
	if _, ok := l.keys["c"]; !ok || len(l.keys) > l.maxKeys {
		t.Fatalf("after refill: %d buckets, c has its own: %v", len(l.keys), ok)
	}
	// A refund gives a token back, up to the burst.
	l.allow("c", later)
	if _, ok := l.allow("c", later); ok {
		t.Fatal("third request within the burst of 2 allowed")
	}
	l.refund("c")
	if _, ok := l.allow("c", later); !ok {
		t.Fatal("refunded token not usable")
	}
}
