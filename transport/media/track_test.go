package media

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/strata-edge/strata/internal/poll"
)

func TestFastSubscribersReceiveEveryObjectInOrder(t *testing.T) {
	const subs, groups, perGroup = 8, 10, 30
	tr := newTestTrack(t, TrackOptions{MaxGroups: groups + 1, MaxBytes: 1 << 30, FirstGroupID: 100})
	ctx := testCtx(t)

	// Subscribe before publishing: they wait for the first keyframe.
	var wg sync.WaitGroup
	errs := make(chan error, subs)
	payloads := make([][]byte, 0, groups*perGroup)
	for range groups * perGroup {
		payloads = append(payloads, make([]byte, 8))
	}
	for range subs {
		s := tr.Subscribe()
		wg.Go(func() {
			defer s.Close()
			for i := range groups * perGroup {
				o, err := s.Next(ctx)
				if err != nil {
					errs <- err
					return
				}
				wantG, wantID := uint64(100+i/perGroup), uint64(i%perGroup)
				if o.GroupID != wantG || o.ID != wantID || o.Keyframe != (wantID == 0) {
					errs <- errors.New("out of order")
					return
				}
				if &o.Payload[0] != &payloads[i][0] {
					errs <- errors.New("payload copied")
					return
				}
			}
			if _, err := s.Next(ctx); !errors.Is(err, ErrTrackEnded) || !errors.Is(err, io.EOF) {
				errs <- err
			}
		})
	}
	poll.For(t, 10*time.Second, time.Millisecond, func() error {
		if n := tr.Stats().Subscribers; n != subs {
			return fmt.Errorf("%d subscribers, want %d", n, subs)
		}
		return nil
	})
	for i, p := range payloads {
		if err := tr.Append(Object{Keyframe: i%perGroup == 0, Payload: p}); err != nil {
			t.Fatal(err)
		}
	}
	tr.Close()
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}

func TestGroupReadersInParallel(t *testing.T) {
	const groups, perGroup = 6, 20
	tr := newTestTrack(t, TrackOptions{MaxGroups: groups + 1})
	ctx := testCtx(t)
	s := tr.Subscribe()
	defer s.Close()

	type result struct {
		id    uint64
		count int
		err   error
	}
	results := make(chan result, groups)
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			gr, err := s.NextGroup(ctx)
			if err != nil {
				if !errors.Is(err, ErrTrackEnded) {
					results <- result{err: err}
				}
				return
			}
			// One goroutine per group, as one QUIC stream per group.
			wg.Go(func() {
				n := 0
				for {
					o, err := gr.NextObject(ctx)
					if errors.Is(err, io.EOF) {
						results <- result{id: gr.GroupID(), count: n}
						return
					}
					if err != nil || o.ID != uint64(n) || o.GroupID != gr.GroupID() {
						results <- result{err: errors.Join(err, errors.New("bad object"))}
						return
					}
					n++
				}
			})
		}
	})
	poll.For(t, 10*time.Second, time.Millisecond, func() error {
		if n := tr.Stats().Subscribers; n != 1 {
			return fmt.Errorf("%d subscribers, want the first NextGroup waiting", n)
		}
		return nil
	})
	for range groups {
		appendGroup(t, tr, perGroup, 4)
	}
	tr.Close()
	wg.Wait()
	close(results)
	seen := map[uint64]bool{}
	for r := range results {
		if r.err != nil {
			t.Fatal(r.err)
		}
		if r.count != perGroup {
			t.Errorf("group %d: %d objects, want %d", r.id, r.count, perGroup)
		}
		seen[r.id] = true
	}
	// The subscriber may have joined at group 0 or later (late join), but
	// once joined it must see every following group.
	if len(seen) == 0 || !seen[groups-1] {
		t.Fatalf("groups seen %v", seen)
	}
}

func TestSlowSubscriberSkipsWithoutDelayingOthers(t *testing.T) {
	const groups, perGroup = 10, 5
	tr := newTestTrack(t, TrackOptions{MaxGroups: 3, MaxBytes: 1 << 20})
	ctx := testCtx(t)

	fast := tr.Subscribe()
	slow := tr.Subscribe()
	defer fast.Close()
	defer slow.Close()

	if err := tr.Append(Object{Keyframe: true, Payload: []byte{0}}); err != nil {
		t.Fatal(err)
	}
	slowGroup, err := slow.NextGroup(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := slowGroup.NextObject(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := fast.Next(ctx); err != nil {
		t.Fatal(err)
	}

	// The slow subscriber now stalls. The publisher and the fast subscriber
	// run in this goroutine: if anything waited on the slow one, this
	// would deadlock instead of finishing.
	for i := 1; i < groups*perGroup; i++ {
		if err := tr.Append(Object{Keyframe: i%perGroup == 0, Payload: []byte{byte(i)}}); err != nil {
			t.Fatal(err)
		}
		o, err := fast.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if o.GroupID != uint64(i/perGroup) || o.ID != uint64(i%perGroup) {
			t.Fatalf("fast got %d/%d at %d", o.GroupID, o.ID, i)
		}
	}
	if st := fast.Stats(); st.DroppedObjects != 0 || st.Objects != groups*perGroup {
		t.Fatalf("fast stats %+v", st)
	}

	if _, err := slowGroup.NextObject(ctx); !errors.Is(err, ErrGroupDropped) {
		t.Fatalf("slow group read: %v, want ErrGroupDropped", err)
	}
	next, err := slow.NextGroup(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if next.GroupID() != groups-1 {
		t.Fatalf("slow resumed at group %d, want newest %d", next.GroupID(), groups-1)
	}
	st := slow.Stats()
	// Skipped groups 1..8 (40 objects) plus the 4 unread objects of group 0.
	if st.SkippedGroups != groups-2 || st.DroppedObjects != (groups-2)*perGroup+perGroup-1 {
		t.Fatalf("slow stats %+v", st)
	}
	tr.Close()
	n := 0
	for {
		_, err := next.NextObject(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		n++
	}
	if n != perGroup {
		t.Fatalf("newest group gave %d objects, want %d", n, perGroup)
	}
	if _, err := slow.NextGroup(ctx); !errors.Is(err, ErrTrackEnded) {
		t.Fatalf("after close: %v", err)
	}
}

func TestLateJoinerStartsAtLatestKeyframe(t *testing.T) {
	tests := []struct {
		name      string
		groups    []int // objects per group; the last may be partial
		wantGroup uint64
	}{
		{"one group", []int{4}, 0},
		{"several groups", []int{3, 3, 2}, 2},
		{"keyframe only", []int{5, 1}, 1},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tr := newTestTrack(t, TrackOptions{})
			for _, n := range tc.groups {
				appendGroup(t, tr, n, 10)
			}
			s := tr.Subscribe()
			defer s.Close()
			o, err := s.Next(testCtx(t))
			if err != nil {
				t.Fatal(err)
			}
			if !o.Keyframe || o.ID != 0 || o.GroupID != tc.wantGroup {
				t.Fatalf("first object %d/%d key=%v, want keyframe of group %d", o.GroupID, o.ID, o.Keyframe, tc.wantGroup)
			}
			tr.Close()
		})
	}
}

func TestMemoryBound(t *testing.T) {
	tests := []struct {
		name string
		opts TrackOptions
		size func(i int) int
	}{
		{"max groups", TrackOptions{MaxGroups: 4, MaxBytes: 1 << 30}, func(int) int { return 100 }},
		{"max bytes", TrackOptions{MaxGroups: 1000, MaxBytes: 64 << 10}, func(i int) int { return 500 + i%7*300 }},
		{"big keyframes", TrackOptions{MaxGroups: 1000, MaxBytes: 64 << 10}, func(i int) int {
			if i%30 == 0 {
				return 20 << 10
			}
			return 200
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tr := newTestTrack(t, tc.opts)
			defer tr.Close()
			s := tr.Subscribe() // a subscriber that never reads must not pin memory accounting
			defer s.Close()
			for i := range 3000 {
				if err := tr.Append(Object{Keyframe: i%30 == 0, Payload: make([]byte, tc.size(i))}); err != nil {
					t.Fatalf("append %d: %v", i, err)
				}
				st := tr.Stats()
				if st.Bytes > tc.opts.MaxBytes || st.Groups > tc.opts.MaxGroups {
					t.Fatalf("append %d: %+v exceeds %+v", i, st, tc.opts)
				}
			}
			if st := tr.Stats(); st.EvictedGroups == 0 || st.Objects != 3000 {
				t.Fatalf("stats %+v", st)
			}
		})
	}
}

func TestGroupTooLargeRefusesUntilKeyframe(t *testing.T) {
	tr := newTestTrack(t, TrackOptions{MaxBytes: 4096})
	defer tr.Close()
	appendGroup(t, tr, 2, 100)
	if err := tr.Append(Object{Payload: make([]byte, 8192)}); !errors.Is(err, ErrGroupTooLarge) {
		t.Fatalf("oversized: %v", err)
	}
	if err := tr.Append(Object{Payload: make([]byte, 10)}); !errors.Is(err, ErrNoKeyframe) {
		t.Fatalf("delta after refusal: %v", err)
	}
	if err := tr.Append(Object{Keyframe: true, Payload: make([]byte, 10)}); err != nil {
		t.Fatalf("keyframe after refusal: %v", err)
	}
	if st := tr.Stats(); st.Rejected != 1 || st.Bytes > 4096 {
		t.Fatalf("stats %+v", st)
	}
}

func TestWriteErrors(t *testing.T) {
	tests := []struct {
		name string
		run  func(tr *Track) error
		want error
	}{
		{"delta first", func(tr *Track) error { return tr.Append(Object{}) }, ErrNoKeyframe},
		{"object before group", func(tr *Track) error { return tr.AppendObject(Object{}) }, ErrNoKeyframe},
		{"group ID repeats", func(tr *Track) error {
			_ = tr.StartGroup(5)
			return tr.StartGroup(5)
		}, ErrGroupOrder},
		{"object ID repeats", func(tr *Track) error {
			_ = tr.StartGroup(1)
			_ = tr.AppendObject(Object{ID: 3})
			return tr.AppendObject(Object{ID: 3})
		}, ErrObjectOrder},
		{"object ID gap ok", func(tr *Track) error {
			_ = tr.StartGroup(1)
			_ = tr.AppendObject(Object{ID: 0})
			return tr.AppendObject(Object{ID: 7})
		}, nil},
		{"delta after EndGroup", func(tr *Track) error {
			_ = tr.Append(Object{Keyframe: true})
			tr.EndGroup()
			return tr.Append(Object{})
		}, ErrNoKeyframe},
		{"append after close", func(tr *Track) error {
			tr.Close()
			return tr.Append(Object{Keyframe: true})
		}, ErrTrackClosed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tr := newTestTrack(t, TrackOptions{})
			defer tr.Close()
			if err := tc.run(tr); !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
}

func TestRelayNumberingIsKept(t *testing.T) {
	tr := newTestTrack(t, TrackOptions{})
	s := tr.Subscribe()
	defer s.Close()
	ctx := testCtx(t)
	if err := tr.StartGroup(1_700_000_000_000); err != nil {
		t.Fatal(err)
	}
	for _, id := range []uint64{0, 2, 5} {
		if err := tr.AppendObject(Object{ID: id, Keyframe: id == 0}); err != nil {
			t.Fatal(err)
		}
	}
	tr.EndGroup()
	for _, id := range []uint64{0, 2, 5} {
		o, err := s.Next(ctx)
		if err != nil || o.ID != id || o.GroupID != 1_700_000_000_000 {
			t.Fatalf("got %+v %v, want id %d", o, err, id)
		}
	}
	tr.Close()
	if _, err := s.Next(ctx); !errors.Is(err, ErrTrackEnded) {
		t.Fatal(err)
	}
}

func TestCloseWakesEveryone(t *testing.T) {
	tr := newTestTrack(t, TrackOptions{})
	ctx := testCtx(t)
	var wg sync.WaitGroup
	errs := make(chan error, 100)
	// Half wait for the first group, half wait inside a group.
	for range 50 {
		s := tr.Subscribe()
		wg.Go(func() {
			defer s.Close()
			_, err := s.NextGroup(ctx)
			errs <- err
		})
	}
	poll.For(t, 10*time.Second, time.Millisecond, func() error {
		if n := tr.Stats().Subscribers; n != 50 {
			return fmt.Errorf("%d group waiters, want 50", n)
		}
		return nil
	})
	appendGroup(t, tr, 1, 1)
	// The 50 waiters above each got group 0 (or will); now start object waiters.
	for range 50 {
		s := tr.Subscribe()
		gr, err := s.NextGroup(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := gr.NextObject(ctx); err != nil {
			t.Fatal(err)
		}
		wg.Go(func() {
			defer s.Close()
			_, err := gr.NextObject(ctx)
			if errors.Is(err, io.EOF) {
				_, err = s.NextGroup(ctx)
			}
			errs <- err
		})
	}
	tr.Close()
	wg.Wait()
	close(errs)
	n := 0
	for err := range errs {
		n++
		// Group waiters may have received group 0 before the close.
		if err != nil && !errors.Is(err, ErrTrackEnded) {
			t.Errorf("reader ended with %v", err)
		}
	}
	if n != 100 {
		t.Fatalf("%d readers returned", n)
	}
}

func TestContextCancelUnblocks(t *testing.T) {
	tr := newTestTrack(t, TrackOptions{})
	defer tr.Close()
	s := tr.Subscribe()
	defer s.Close()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := s.Next(ctx)
		done <- err
	}()
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("got %v", err)
	}
}
