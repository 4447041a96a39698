package media

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/strata-edge/strata/internal/poll"
)

var testNS = Namespace{Tenant: "acme", Session: "s1"}

func TestNamespace(t *testing.T) {
	tests := []struct {
		in      string
		want    Namespace
		wantErr bool
	}{
		{"strata/acme/s1", testNS, false},
		{"strata/acme", Namespace{}, true},
		{"other/acme/s1", Namespace{}, true},
		{"strata//s1", Namespace{}, true},
		{"strata/acme/s1/x", Namespace{}, true},
	}
	for _, tc := range tests {
		got, err := ParseNamespace(tc.in)
		if (err != nil) != tc.wantErr || got != tc.want {
			t.Errorf("ParseNamespace(%q) = %v, %v", tc.in, got, err)
		}
		if err != nil && !errors.Is(err, ErrInvalidNamespace) {
			t.Errorf("%q: error %v not ErrInvalidNamespace", tc.in, err)
		}
		if err == nil && got.String() != tc.in {
			t.Errorf("round trip %q -> %q", tc.in, got.String())
		}
	}
}

func nextEvent(t *testing.T, w *Watcher) Event {
	t.Helper()
	e, err := w.Next(testCtx(t))
	if err != nil {
		t.Fatalf("watcher: %v", err)
	}
	return e
}

func TestHubPublishReplaceAndEvents(t *testing.T) {
	h := NewHub(HubOptions{})
	b1, err := h.Publish(testNS)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b1.CreateTrack(TrackInfo{Name: "video", Kind: KindVideo}, TrackOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := b1.CreateTrack(TrackInfo{Name: "video", Kind: KindVideo}, TrackOptions{}); !errors.Is(err, ErrTrackExists) {
		t.Fatalf("duplicate track: %v", err)
	}

	w := h.Watch()
	defer w.Close()
	// Snapshot first.
	want := []Event{
		{Kind: BroadcastAdded, Namespace: testNS},
		{Kind: TrackAdded, Namespace: testNS, Track: "video"},
	}
	for _, we := range want {
		if e := nextEvent(t, w); e != we {
			t.Fatalf("got %+v, want %+v", e, we)
		}
	}

	// A reconnecting publisher replaces the broadcast; the old one's tracks end.
	oldTrack, _ := b1.Track("video")
	b2, err := h.Publish(testNS)
	if err != nil {
		t.Fatal(err)
	}
	if !oldTrack.Closed() {
		t.Fatal("old track still open")
	}
	select {
	case <-b1.Done():
	default:
		t.Fatal("old broadcast not done")
	}
	if got, _ := h.Broadcast(testNS); got != b2 {
		t.Fatal("lookup did not return the new broadcast")
	}
	if _, err := b2.CreateTrack(TrackInfo{Name: "audio", Kind: KindAudio}, TrackOptions{}); err != nil {
		t.Fatal(err)
	}
	b1.Close() // closing a replaced broadcast must not remove the new one
	if got, ok := h.Broadcast(testNS); !ok || got != b2 {
		t.Fatal("stale Close removed the new broadcast")
	}
	if !b2.RemoveTrack("audio") {
		t.Fatal("RemoveTrack")
	}
	b2.Close()
	want = []Event{
		{Kind: TrackRemoved, Namespace: testNS, Track: "video"},
		{Kind: BroadcastRemoved, Namespace: testNS},
		{Kind: BroadcastAdded, Namespace: testNS},
		{Kind: TrackAdded, Namespace: testNS, Track: "audio"},
		{Kind: TrackRemoved, Namespace: testNS, Track: "audio"},
		{Kind: BroadcastRemoved, Namespace: testNS},
	}
	for _, we := range want {
		if e := nextEvent(t, w); e != we {
			t.Fatalf("got %+v, want %+v", e, we)
		}
	}
	if len(h.Namespaces()) != 0 {
		t.Fatal("namespaces left")
	}
	h.Close()
	if _, err := w.Next(testCtx(t)); !errors.Is(err, ErrWatcherClosed) {
		t.Fatalf("after hub close: %v", err)
	}
	if _, err := h.Publish(testNS); !errors.Is(err, ErrHubClosed) {
		t.Fatalf("publish after close: %v", err)
	}
}

func TestHubSubscribeLocalAndMissing(t *testing.T) {
	h := NewHub(HubOptions{})
	defer h.Close()
	ctx := testCtx(t)
	if _, err := h.Subscribe(ctx, testNS, "video"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing: %v", err)
	}
	b, _ := h.Publish(testNS)
	tr, _ := b.CreateTrack(TrackInfo{Name: "video", Kind: KindVideo}, TrackOptions{})
	appendGroup(t, tr, 2, 10)
	s, err := h.Subscribe(ctx, testNS, "video")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	if o, err := s.Next(ctx); err != nil || !o.Keyframe {
		t.Fatalf("got %+v %v", o, err)
	}
}

func TestHubUpstreamOncePerTrack(t *testing.T) {
	var calls atomic.Int32
	release := make(chan struct{})
	h := NewHub(HubOptions{Upstream: func(ctx context.Context, b *Broadcast, track string) error {
		calls.Add(1)
		if !b.Remote() {
			return errors.New("not marked remote")
		}
		<-release // hold the fetch so every subscriber piles onto it
		tr, err := b.CreateTrack(TrackInfo{Name: track, Kind: KindVideo}, TrackOptions{})
		if err != nil {
			return err
		}
		return tr.Append(Object{Keyframe: true, Payload: []byte("k")})
	}})
	defer h.Close()
	ctx := testCtx(t)

	const n = 10
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for range n {
		wg.Go(func() {
			s, err := h.Subscribe(ctx, testNS, "video")
			if err != nil {
				errs <- err
				return
			}
			defer s.Close()
			_, err = s.Next(ctx)
			errs <- err
		})
	}
	poll.For(t, 10*time.Second, time.Millisecond, func() error {
		if n := calls.Load(); n != 1 {
			return fmt.Errorf("%d fetches started, want 1", n)
		}
		return nil
	})
	close(release)
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Error(err)
		}
	}
	if c := calls.Load(); c != 1 {
		t.Fatalf("upstream called %d times", c)
	}
}

func TestHubUpstreamFailureCleansUp(t *testing.T) {
	boom := errors.New("edge unreachable")
	h := NewHub(HubOptions{Upstream: func(context.Context, *Broadcast, string) error { return boom }})
	defer h.Close()
	if _, err := h.Subscribe(testCtx(t), testNS, "video"); !errors.Is(err, boom) {
		t.Fatalf("got %v", err)
	}
	if _, ok := h.Broadcast(testNS); ok {
		t.Fatal("empty relayed broadcast left behind")
	}
}

func TestHubCloseEndsTracks(t *testing.T) {
	h := NewHub(HubOptions{})
	b, _ := h.Publish(testNS)
	tr, _ := b.CreateTrack(TrackInfo{Name: "audio", Kind: KindAudio}, TrackOptions{})
	s := tr.Subscribe()
	defer s.Close()
	done := make(chan error, 1)
	go func() {
		_, err := s.Next(context.Background())
		done <- err
	}()
	h.Close()
	if err := <-done; !errors.Is(err, ErrTrackEnded) {
		t.Fatalf("got %v", err)
	}
	if _, err := b.CreateTrack(TrackInfo{Name: "x", Kind: KindAudio}, TrackOptions{}); !errors.Is(err, ErrBroadcastClosed) {
		t.Fatalf("create on closed: %v", err)
	}
}

// One publisher per namespace: an older or equal credential is refused
// while the broadcast lives; a newer one replaces it; a relayed broadcast
// or a closed one never stands in the way.
func TestHubPublishNewer(t *testing.T) {
	h := NewHub(HubOptions{})
	t0 := time.Unix(1_800_000_000, 0)
	b1, prev, err := h.PublishNewer(testNS, t0)
	if err != nil || prev != nil {
		t.Fatalf("first publisher: %v, prev %v", err, prev)
	}
	for _, at := range []time.Time{t0, t0.Add(-time.Microsecond)} {
		b, prev, err := h.PublishNewer(testNS, at)
		if !errors.Is(err, ErrPublisherLive) || b != nil || prev != b1 {
			t.Fatalf("publisher issued %v: %v, %v, prev %v; want ErrPublisherLive from the live one", at, b, err, prev)
		}
	}
	if cur, _ := h.Broadcast(testNS); cur != b1 {
		t.Fatal("a refused publisher replaced the live broadcast")
	}
	b2, prev, err := h.PublishNewer(testNS, t0.Add(time.Microsecond))
	if err != nil || prev != b1 || !b2.Issued().Equal(t0.Add(time.Microsecond)) {
		t.Fatalf("newer publisher: %v, prev %v", err, prev)
	}
	select {
	case <-b1.Done():
	default:
		t.Fatal("the replaced broadcast is still open")
	}
	// Gone publisher: the next one, however old, is welcome.
	b2.Close()
	b3, prev, err := h.PublishNewer(testNS, t0)
	if err != nil || prev != nil {
		t.Fatalf("after the publisher left: %v, prev %v", err, prev)
	}
	b3.Close()
	// A relayed broadcast is not a publisher here.
	r, err := h.publish(testNS, true)
	if err != nil {
		t.Fatal(err)
	}
	if _, prev, err := h.PublishNewer(testNS, t0); err != nil || prev != nil {
		t.Fatalf("over a relayed broadcast: %v, prev %v", err, prev)
	}
	if _, ok := <-r.Done(); ok {
		t.Fatal("relayed broadcast not replaced")
	}
}
