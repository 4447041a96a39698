package media

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
)

const benchGOP = 60

var benchPayload = make([]byte, 1200)

func benchTrack(b *testing.B, opts TrackOptions) *Track {
	b.Helper()
	tr, err := NewTrack(TrackInfo{Name: "video", Kind: KindVideo}, opts)
	if err != nil {
		b.Fatal(err)
	}
	return tr
}

// BenchmarkFanout measures throughput: the publisher appends b.N objects
// while N subscribers drain them concurrently, with retention large enough
// that nobody skips. ns/op and allocs/op are per appended object, including
// waiting for every subscriber to finish; ns/delivery is the wall time per
// object delivered to one subscriber, i.e. the fan-out cost per subscriber.
func BenchmarkFanout(b *testing.B) {
	for _, subs := range []int{1, 100, 1000} {
		b.Run(fmt.Sprintf("subscribers=%d", subs), func(b *testing.B) {
			tr := benchTrack(b, TrackOptions{MaxGroups: b.N/benchGOP + 2, MaxBytes: 1 << 50})
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			all := make([]*Subscription, subs)
			var wg sync.WaitGroup
			for i := range subs {
				s := tr.Subscribe()
				all[i] = s
				wg.Go(func() { drain(b, ctx, s, nil) })
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				if err := tr.Append(Object{Keyframe: i%benchGOP == 0, Payload: benchPayload}); err != nil {
					b.Fatal(err)
				}
			}
			tr.Close()
			wg.Wait()
			b.StopTimer()
			report(b, all)
		})
	}
}

// BenchmarkFanoutPaced measures latency-bound fan-out: after each append
// the publisher waits until all N subscribers have read the object, so
// every object pays a full wake-up of every subscriber. ns/op is the time
// from append to the last subscriber holding the object.
func BenchmarkFanoutPaced(b *testing.B) {
	for _, subs := range []int{1, 100, 1000} {
		b.Run(fmt.Sprintf("subscribers=%d", subs), func(b *testing.B) {
			tr := benchTrack(b, TrackOptions{})
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			all := make([]*Subscription, subs)
			var readers, got sync.WaitGroup
			for i := range subs {
				s := tr.Subscribe()
				all[i] = s
				readers.Go(func() { drain(b, ctx, s, &got) })
			}
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				got.Add(subs)
				if err := tr.Append(Object{Keyframe: i%benchGOP == 0, Payload: benchPayload}); err != nil {
					b.Fatal(err)
				}
				got.Wait()
			}
			b.StopTimer()
			tr.Close()
			readers.Wait()
			report(b, all)
		})
	}
}

// BenchmarkAppendSlowSubscribers is the publisher's cost when every
// subscriber is hopelessly behind: it must stay flat as they skip.
func BenchmarkAppendSlowSubscribers(b *testing.B) {
	tr := benchTrack(b, TrackOptions{MaxGroups: 2})
	subs := make([]*Subscription, 1000)
	for i := range subs {
		subs[i] = tr.Subscribe()
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		if err := tr.Append(Object{Keyframe: i%benchGOP == 0, Payload: benchPayload}); err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	tr.Close()
	for _, s := range subs {
		s.Close()
	}
}

func drain(b *testing.B, ctx context.Context, s *Subscription, got *sync.WaitGroup) {
	for {
		if _, err := s.Next(ctx); err != nil {
			if !errors.Is(err, ErrTrackEnded) {
				b.Error(err)
			}
			return
		}
		if got != nil {
			got.Done()
		}
	}
}

func report(b *testing.B, all []*Subscription) {
	var delivered, dropped uint64
	for _, s := range all {
		st := s.Stats()
		delivered += st.Objects
		dropped += st.DroppedObjects
		s.Close()
	}
	if delivered > 0 {
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(delivered), "ns/delivery")
	}
	b.ReportMetric(float64(dropped)/float64(b.N), "dropped/op")
}
