package bench

import "time"

// freezeGap is how long a viewer may go without a frame before a person
// sees the picture stop: three frame intervals, and never less than one
// interval plus 150 ms (the usual definition of a video freeze in
// receiver statistics).
func freezeGap(fps int) time.Duration {
	if fps <= 0 {
		fps = 60
	}
	iv := time.Second / time.Duration(fps)
	return max(3*iv, iv+150*time.Millisecond)
}

// freezeClock counts freezes at one viewer from its frame arrival times.
// It is used by the one goroutine reading that viewer's media.
type freezeClock struct {
	gap  time.Duration
	last time.Time
}

// frame records a frame arriving at now and reports whether the gap
// since the previous one was a freeze.
func (f *freezeClock) frame(now time.Time) bool {
	froze := !f.last.IsZero() && now.Sub(f.last) > f.gap
	f.last = now
	return froze
}
