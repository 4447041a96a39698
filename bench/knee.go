package bench

// SLO is what a viewer must get for a load step to count: a ceiling on
// glass-to-glass p99 and on the share of frames (objects) lost. A zero
// field is not checked.
type SLO struct {
	P99Ms float64 `json:"p99_ms"`
	Loss  float64 `json:"loss"` // 0.01 is 1% of frames
}

// Met reports whether one step's viewers got what the SLO asks.
func (s SLO) Met(p99Ms, loss float64) bool {
	if s.P99Ms > 0 && p99Ms > s.P99Ms {
		return false
	}
	return s.Loss <= 0 || loss <= s.Loss
}

// KneePoint is one measured step as the knee detector sees it.
type KneePoint struct {
	Viewers int
	P99Ms   float64
	Loss    float64
}

// Knee finds the knee of a load curve: the index of the last step that
// meets slo before the first that breaks it, and whether any broke. A
// curve that never breaks has its knee at its last step (the real knee
// lies beyond what was measured); one whose first step breaks has none
// (-1). Steps after the first break are ignored, so a curve that
// recovers under more load (noise, or a warm-up spike in a later step)
// does not move the knee past a break: the sweep's confirmation re-run
// is what filters noise, before the point reaches this function.
func Knee(points []KneePoint, slo SLO) (knee int, broke bool) {
	knee = -1
	for i, p := range points {
		if !slo.Met(p.P99Ms, p.Loss) {
			return knee, true
		}
		knee = i
	}
	return knee, false
}
