package media

import (
	"errors"
	"testing"
	"time"
)

// TestMaxLagSkipsToNewest: with a lag bound, a subscriber still inside an
// older group once a newer one has run past the bound abandons it and
// jumps to the newest group, long before retention would evict anything;
// one that finishes each group in time loses nothing; without a bound
// nothing retained is skipped.
func TestMaxLagSkipsToNewest(t *testing.T) {
	const per = 4
	tests := []struct {
		name     string
		lag      time.Duration
		wantSkip bool
	}{
		{"tiny bound skips", time.Nanosecond, true},
		{"long bound waits", time.Hour, false},
		{"no bound waits", 0, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := testCtx(t)
			tr := newTestTrack(t, TrackOptions{MaxGroups: 16})
			slow, fast := tr.Subscribe(), tr.Subscribe()
			slow.SetMaxLag(tc.lag)
			fast.SetMaxLag(tc.lag)
			defer slow.Close()
			defer fast.Close()

			appendGroup(t, tr, per, 8)
			sg, err := slow.NextGroup(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := sg.NextObject(ctx); err != nil { // slow reads one object of group 0
				t.Fatal(err)
			}
			// The fast one drains each group before the next starts.
			var fastGot int
			for g := range 3 {
				if g > 0 {
					appendGroup(t, tr, per, 8)
				}
				fg, err := fast.NextGroup(ctx)
				if err != nil {
					t.Fatal(err)
				}
				for range per {
					if _, err := fg.NextObject(ctx); err != nil {
						t.Fatalf("fast reader group %d: %v", g, err)
					}
					fastGot++
				}
			}
			if fastGot != 3*per {
				t.Fatalf("fast reader got %d objects, want %d", fastGot, 3*per)
			}

			if !tc.wantSkip {
				for i := 1; i < per; i++ {
					if _, err := sg.NextObject(ctx); err != nil {
						t.Fatalf("slow reader object %d: %v", i, err)
					}
				}
				next, err := slow.NextGroup(ctx)
				if err != nil || next.GroupID() != 1 {
					t.Fatalf("slow reader's next group %v, %v; want 1", next, err)
				}
				if st := slow.Stats(); st.SkippedGroups != 0 || st.DroppedObjects != 0 {
					t.Fatalf("stats %+v, want no loss", st)
				}
				return
			}
			_, err = sg.NextObject(ctx)
			if !errors.Is(err, ErrFellBehind) || !errors.Is(err, ErrGroupDropped) {
				t.Fatalf("slow reader got %v, want ErrFellBehind", err)
			}
			next, err := slow.NextGroup(ctx)
			if err != nil || next.GroupID() != 2 {
				t.Fatalf("slow reader's next group %v, %v; want the newest, 2", next, err)
			}
			st := slow.Stats()
			if st.SkippedGroups != 1 || st.DroppedObjects != uint64(2*per-1) {
				t.Fatalf("stats %+v, want 1 skipped group and %d dropped objects", st, 2*per-1)
			}
			// The newest group is not superseded: it reads to the end.
			for i := range per {
				if _, err := next.NextObject(ctx); err != nil {
					t.Fatalf("newest group object %d: %v", i, err)
				}
			}
		})
	}
}
