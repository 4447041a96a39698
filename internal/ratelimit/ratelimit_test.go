package ratelimit

import (
	"fmt"
	"net"
	"testing"
	"time"
)

// TestLimiterBounded: the limiter never holds more than maxKeys buckets;
// refilled buckets make room for new keys, and while none has refilled,
// new keys share one overflow bucket instead of each getting a fresh one.
func TestLimiterBounded(t *testing.T) {
	l := New(1, 2).WithMaxKeys(10)
	now := time.Unix(1000, 0)
	for i := range 10 {
		l.Allow(fmt.Sprint("a", i), now)
	}
	// Full, none refilled: newcomers share the overflow bucket (2 tokens).
	allowed := 0
	for i := range 5 {
		if _, ok := l.Allow(fmt.Sprint("b", i), now); ok {
			allowed++
		}
	}
	if allowed != 2 || l.Keys() != 11 {
		t.Fatalf("while full: %d newcomers allowed, %d buckets; want 2 and 11", allowed, l.Keys())
	}
	// Later, every bucket has refilled: a newcomer gets its own.
	later := now.Add(10 * time.Second)
	if _, ok := l.Allow("c", later); !ok {
		t.Fatal("newcomer refused after the buckets refilled")
	}
	if _, ok := l.keys["c"]; !ok || l.Keys() > l.maxKeys {
		t.Fatalf("after refill: %d buckets, c has its own: %v", l.Keys(), ok)
	}
	// A refund gives a token back, up to the burst.
	l.Allow("c", later)
	if _, ok := l.Allow("c", later); ok {
		t.Fatal("third request within the burst of 2 allowed")
	}
	l.Refund("c")
	if _, ok := l.Allow("c", later); !ok {
		t.Fatal("refunded token not usable")
	}
}

// TestLimiterRefills: an emptied bucket says how long until its next
// token, and has it then.
func TestLimiterRefills(t *testing.T) {
	l := New(0.5, 1)
	now := time.Unix(1000, 0)
	if _, ok := l.Allow("k", now); !ok {
		t.Fatal("first request refused")
	}
	wait, ok := l.Allow("k", now)
	if ok || wait != 2*time.Second {
		t.Fatalf("second request: allowed %v, wait %s; want refused, 2s", ok, wait)
	}
	if _, ok := l.Allow("k", now.Add(wait)); !ok {
		t.Fatal("refused after the announced wait")
	}
	if _, ok := New(0, 0).Allow("k", now); !ok {
		t.Fatal("a zero rate must allow everything")
	}
}

func TestAddrKey(t *testing.T) {
	a := AddrKey(net.ParseIP("2001:db8::1"))
	b := AddrKey(net.ParseIP("2001:db8::ffff:1"))
	c := AddrKey(net.ParseIP("2001:db8:0:1::1"))
	if a != b || a == c {
		t.Fatalf("IPv6 keys: same /64 %q %q, other /64 %q", a, b, c)
	}
	if AddrKey(net.ParseIP("192.0.2.1")) == AddrKey(net.ParseIP("192.0.2.2")) {
		t.Fatal("two IPv4 addresses share a key")
	}
}
