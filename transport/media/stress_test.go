package media

import (
	"errors"
	"runtime"
	"sync"
	"testing"
)

// TestMixedSpeedAccounting runs fast and slow subscribers against a small
// retention and checks, for each, that order is preserved and that every
// appended object is either delivered or counted as dropped — the figure
// metrics report.
func TestMixedSpeedAccounting(t *testing.T) {
	const subs, total, gop = 16, 3000, 10
	tr := newTestTrack(t, TrackOptions{MaxGroups: 2})
	ctx := testCtx(t)
	var wg sync.WaitGroup
	errs := make(chan error, subs)
	all := make([]*Subscription, subs)
	for i := range subs {
		s := tr.Subscribe()
		all[i] = s
		slow := i%2 == 1
		wg.Go(func() {
			var lastG, lastID uint64
			first := true
			for {
				o, err := s.Next(ctx)
				if errors.Is(err, ErrTrackEnded) {
					return
				}
				if err != nil {
					errs <- err
					return
				}
				if !first && (o.GroupID < lastG || (o.GroupID == lastG && o.ID <= lastID)) {
					errs <- errors.New("order violated")
					return
				}
				first, lastG, lastID = false, o.GroupID, o.ID
				if slow {
					for range 20 {
						runtime.Gosched()
					}
				}
			}
		})
	}
	for i := range total {
		if err := tr.Append(Object{Keyframe: i%gop == 0, Payload: []byte{byte(i)}}); err != nil {
			t.Fatal(err)
		}
	}
	tr.Close()
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	for i, s := range all {
		st := s.Stats()
		if st.Objects+st.DroppedObjects != total {
			t.Errorf("subscriber %d: delivered %d + dropped %d != %d", i, st.Objects, st.DroppedObjects, total)
		}
		s.Close()
	}
}
