package controller

import (
	"math/rand/v2"
	"time"
)

// Restart backoff defaults: the first restart after a failure waits about
// DefaultRestartBackoff, each further one twice as long, up to
// DefaultRestartBackoffMax.
const (
	DefaultRestartBackoff    = time.Second
	DefaultRestartBackoffMax = time.Minute
	// restartJitter spreads each delay by ±20% so sessions that failed
	// together (an edge's bad driver, a broken image) do not come back
	// in lockstep.
	restartJitter = 0.2
)

// RestartDelay is how long a session waits before its next placement
// after its instance failed, having been placed placements times so far
// (1 after the first failure). The delay doubles from base per placement
// up to ceiling, then jitter scales it by a factor in [0.8, 1.2) drawn from r
// in [0, 1). Pure: callers pass the randomness.
func RestartDelay(placements int64, base, ceiling time.Duration, r float64) time.Duration {
	if base <= 0 {
		base = DefaultRestartBackoff
	}
	if ceiling < base {
		ceiling = base
	}
	d := base
	for i := int64(1); i < placements && d < ceiling; i++ {
		d *= 2
	}
	d = min(d, ceiling)
	return time.Duration(float64(d) * (1 - restartJitter + 2*restartJitter*r))
}

// defaultRand is the jitter source when none is injected.
func defaultRand() float64 { return rand.Float64() }
