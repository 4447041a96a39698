// Package ratelimit is a token bucket per key (an API key, a client
// address, a viewer) with bounded memory, shared by the origin's API and
// the edge's viewer beacons.
package ratelimit

import (
	"net"
	"sync"
	"time"
)

// Limiter is a token bucket per key, local to one process. Memory is
// bounded: at most MaxKeys buckets, beyond which buckets that have
// refilled (as good as absent) are dropped, and if none has, new keys
// share one overflow bucket.
type Limiter struct {
	rate    float64 // tokens per second; 0 disables
	burst   float64
	maxKeys int
	mu      sync.Mutex
	keys    map[string]*bucket
	pruned  time.Time // last sweep for refilled buckets
}

type bucket struct {
	tokens float64
	last   time.Time
}

// overflowKey is the shared bucket of keys that found the limiter full.
const overflowKey = "\x00overflow"

// DefaultMaxKeys bounds the buckets of a Limiter made by New.
const DefaultMaxKeys = 100000

// New returns a limiter of rate tokens per second per key, with burst
// tokens at most (rate, rounded down, when burst is not positive). A rate
// of 0 allows everything.
func New(rate float64, burst int) *Limiter {
	if burst <= 0 {
		burst = int(rate)
	}
	return &Limiter{rate: rate, burst: float64(max(burst, 1)), maxKeys: DefaultMaxKeys, keys: map[string]*bucket{}}
}

// WithMaxKeys sets the bound on buckets (tests use small ones).
func (l *Limiter) WithMaxKeys(n int) *Limiter {
	l.maxKeys = max(n, 1)
	return l
}

// Keys is the number of buckets held.
func (l *Limiter) Keys() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.keys)
}

// Allow takes a token for key, or says how long until one is available.
func (l *Limiter) Allow(key string, now time.Time) (time.Duration, bool) {
	if l.rate <= 0 {
		return 0, true
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.keys[key]
	if b == nil {
		b = l.add(key, now)
	}
	b.tokens = min(l.burst, b.tokens+now.Sub(b.last).Seconds()*l.rate)
	b.last = now
	if b.tokens < 1 {
		return time.Duration((1 - b.tokens) / l.rate * float64(time.Second)), false
	}
	b.tokens--
	return 0, true
}

// Refund gives back a token Allow took for key.
func (l *Limiter) Refund(key string) {
	if l.rate <= 0 {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if b := l.keys[key]; b != nil {
		b.tokens = min(l.burst, b.tokens+1)
	}
}

// add makes a full bucket for key, making room first if the limiter is
// full. The caller holds l.mu.
func (l *Limiter) add(key string, now time.Time) *bucket {
	if len(l.keys) >= l.maxKeys && now.Sub(l.pruned) >= time.Second {
		l.pruned = now
		for k, b := range l.keys {
			if b.tokens+now.Sub(b.last).Seconds()*l.rate >= l.burst {
				delete(l.keys, k)
			}
		}
	}
	if len(l.keys) >= l.maxKeys {
		key = overflowKey
		if b := l.keys[key]; b != nil {
			return b
		}
	}
	b := &bucket{tokens: l.burst, last: now}
	l.keys[key] = b
	return b
}

// AddrKey is the bucket key of a client address: an IPv4 address, or the
// /64 of an IPv6 one (one host usually holds a whole /64, so single
// addresses would not bound an attacker).
func AddrKey(ip net.IP) string {
	if ip4 := ip.To4(); ip4 != nil {
		return string(ip4)
	}
	return string(ip.Mask(net.CIDRMask(64, 128)))
}
