package controller

import (
	"context"
	"testing"
	"time"

	"github.com/strata-edge/strata/registry"
)

// The restart schedule doubles from the base, stops at the cap, and its
// jitter stays within ±20% of the nominal delay.
func TestRestartDelaySchedule(t *testing.T) {
	base, max := time.Second, time.Minute
	nominal := []time.Duration{1, 2, 4, 8, 16, 32, 60, 60, 60, 60}
	for i, n := range nominal {
		placements := int64(i + 1)
		want := n * time.Second
		if got := RestartDelay(placements, base, max, 0.5); got != want {
			t.Errorf("placements %d: %v, want %v", placements, got, want)
		}
		lo, hi := RestartDelay(placements, base, max, 0), RestartDelay(placements, base, max, 0.999999)
		if lo != want*8/10 || hi < want*119/100 || hi >= want*12/10 {
			t.Errorf("placements %d: jitter range [%v, %v], want [%v, %v)", placements, lo, hi, want*8/10, want*12/10)
		}
	}
	if got := RestartDelay(1_000_000, base, max, 0.5); got != max {
		t.Errorf("many placements: %v, want the cap %v", got, max)
	}
	if got := RestartDelay(1, 0, 0, 0.5); got != DefaultRestartBackoff {
		t.Errorf("zero config: %v, want %v", got, DefaultRestartBackoff)
	}
	// Total time before a session that keeps failing gives up: the sum
	// of the first maxPlacements-1 delays at their shortest.
	var total time.Duration
	for p := int64(1); p < maxPlacements; p++ {
		total += RestartDelay(p, base, max, 0)
	}
	if total < 3*time.Minute {
		t.Errorf("a failing session gives up after %v of backoff, want minutes", total)
	}
}

// A session restarted after a failure waits out its backoff: the report
// records when it may be placed, a round before then leaves it pending
// (and says when the first backoff ends), a round after places it even
// though nothing changed in between, and the next failure waits longer.
func TestRestartWaitsForBackoff(t *testing.T) {
	h := newHarness(t)
	h.app("app1", 10, "always", "")
	h.edge("e1", 100)
	h.running("ses1", "app1", "e1")
	l, err := NewLifecycle(LifecycleDeps{Store: h, Placement: h, Now: h.Now,
		RestartBackoff: time.Second, RestartBackoffMax: time.Minute, Rand: func() float64 { return 0.5 }})
	if err != nil {
		t.Fatal(err)
	}
	p := h.placer()
	ctx := context.Background()

	wait := time.Second
	for i := range 3 {
		failedAt := h.Now()
		s, err := l.Report(ctx, h.session("ses1"), registry.StateFailed, nil, "segfault")
		if err != nil {
			t.Fatal(err)
		}
		if s.State != registry.StatePending || !s.RetryAt.Equal(failedAt.Add(wait)) {
			t.Fatalf("failure %d: %s retry at %v, want pending retrying at %v", i+1, s.State, s.RetryAt, failedAt.Add(wait))
		}
		if next := p.placeRound(ctx); !next.Equal(s.RetryAt) {
			t.Fatalf("failure %d: round says next due %v, want %v", i+1, next, s.RetryAt)
		}
		h.wantState("ses1", registry.StatePending, "")
		h.advance(wait - time.Millisecond)
		p.placeRound(ctx)
		h.wantState("ses1", registry.StatePending, "")
		h.advance(time.Millisecond)
		if next := p.placeRound(ctx); !next.IsZero() {
			t.Fatalf("failure %d: a backoff still pending after placing: %v", i+1, next)
		}
		h.wantState("ses1", registry.StatePlaced, "e1")
		if !h.session("ses1").RetryAt.IsZero() {
			t.Fatalf("placed session keeps its RetryAt")
		}
		wait *= 2
	}
}
