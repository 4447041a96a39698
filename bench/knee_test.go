package bench

import (
	"math"
	"testing"
)

// curve builds a sweep of n steps of 50 viewers whose p99 and loss come
// from f.
func curve(n int, f func(viewers int) (p99, loss float64)) []KneePoint {
	out := make([]KneePoint, n)
	for i := range out {
		v := 50 * (i + 1)
		p, l := f(v)
		out[i] = KneePoint{Viewers: v, P99Ms: p, Loss: l}
	}
	return out
}

func TestKneeOnSyntheticCurves(t *testing.T) {
	slo := SLO{P99Ms: 100, Loss: 0.01}
	// noise is a deterministic jitter of ±15 ms around a base that rises
	// slowly until 400 viewers and steeply after.
	noise := func(v int) float64 { return 15 * math.Sin(float64(v)*1.7) }
	tests := []struct {
		name      string
		points    []KneePoint
		wantKnee  int // viewers at the knee, 0 for none
		wantBroke bool
	}{
		{"flat never breaks", curve(8, func(int) (float64, float64) { return 20, 0 }), 400, false},
		{"sudden knee", curve(8, func(v int) (float64, float64) {
			if v > 250 {
				return 900, 0
			}
			return 20, 0
		}), 250, true},
		{"loss breaks before latency", curve(8, func(v int) (float64, float64) {
			if v >= 300 {
				return 40, 0.05
			}
			return 40, 0.001
		}), 250, true},
		{"noisy under the SLO then a rise", curve(12, func(v int) (float64, float64) {
			base := 50.0
			if v > 400 {
				base += float64(v-400) * 0.5
			}
			return base + noise(v), 0
		}), 450, true},
		{"recovery after a break is ignored", []KneePoint{{50, 10, 0}, {100, 200, 0}, {150, 10, 0}}, 50, true},
		{"first step already breaks", curve(4, func(int) (float64, float64) { return 500, 0 }), 0, true},
		{"empty", nil, 0, false},
		{"zero SLO fields are not checked", curve(3, func(int) (float64, float64) { return 1e6, 0 }), 150, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := slo
			if tt.name == "zero SLO fields are not checked" {
				s = SLO{}
			}
			i, broke := Knee(tt.points, s)
			got := 0
			if i >= 0 {
				got = tt.points[i].Viewers
			}
			if got != tt.wantKnee || broke != tt.wantBroke {
				t.Fatalf("knee at %d viewers (broke %v), want %d (broke %v)", got, broke, tt.wantKnee, tt.wantBroke)
			}
		})
	}
}
