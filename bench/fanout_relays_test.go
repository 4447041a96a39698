package bench

import (
	"math"
	"testing"
)

func TestHistogramQuantileSince(t *testing.T) {
	before := histogram{upper: []float64{1, 2, 4}, counts: []uint64{10, 10, 10}, total: 10}
	after := histogram{upper: []float64{1, 2, 4}, counts: []uint64{10, 60, 110}, total: 110}
	for _, tc := range []struct {
		q, want float64
	}{
		{0.5, 2},    // 50 of 100 new: the end of (1,2]
		{0.25, 1.5}, // 25: half-way through (1,2]
		{0.99, 3.96},
		{1, 4},
	} {
		if got := after.quantileSince(before, tc.q); math.Abs(got-tc.want) > 1e-9 {
			t.Errorf("q%.2f = %v, want %v", tc.q, got, tc.want)
		}
	}
	if got := before.quantileSince(before, 0.5); got != 0 {
		t.Errorf("no new observations: %v", got)
	}
	over := histogram{upper: []float64{1}, counts: []uint64{0}, total: 5}
	if got := over.quantileSince(histogram{}, 0.5); got != 1 {
		t.Errorf("beyond the last bound: %v", got)
	}
}
