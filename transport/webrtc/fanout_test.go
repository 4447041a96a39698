package webrtc

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/strata-edge/strata/internal/poll"
	"github.com/strata-edge/strata/transport/media"
	"github.com/strata-edge/strata/transport/msf"
)

// TestWHIPToWHEPAndHub publishes over WHIP and checks that many WHEP
// viewers and a media-core subscriber all get decodable, ordered frames.
func TestWHIPToWHEPAndHub(t *testing.T) {
	e := newEnv(t, nil)
	pub := e.publish("s1", "")
	ns := media.Namespace{Tenant: "acme", Session: "s1"}

	// The hub track appears once the first RTP arrives.
	pub.run(30, 15, 3000)
	var sub *media.Subscription
	poll.For(t, 20*time.Second, 5*time.Millisecond, func() error {
		s, err := e.hub.Subscribe(context.Background(), ns, msf.SessionVideoTrack)
		if err != nil {
			return fmt.Errorf("hub video track: %w", err)
		}
		sub = s
		return nil
	})
	defer sub.Close()

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	last := -1
	for i := range 20 {
		o, err := sub.Next(ctx)
		if err != nil {
			t.Fatalf("hub Next: %v", err)
		}
		if i == 0 && (!o.Keyframe || !msf.H264IsKeyframe(o.Payload)) {
			t.Fatalf("first hub object is not a keyframe")
		}
		n, ok := frameNumber(o.Payload)
		if !ok || n <= last {
			t.Fatalf("hub frame %d (ok %v) after %d", n, ok, last)
		}
		if o.CaptureMicros == 0 {
			t.Fatalf("capture time not stamped")
		}
		last = n
	}
	if _, err := e.hub.Subscribe(ctx, ns, msf.SessionAudioTrack); err != nil {
		t.Fatalf("hub audio track: %v", err)
	}

	const viewers = 20
	vs := make([]*viewer, viewers)
	for i := range vs {
		vs[i] = e.view("s1", "", false)
	}
	for i, v := range vs {
		poll.For(t, 20*time.Second, 5*time.Millisecond, func() error {
			f, a := v.got()
			if f >= 10 && a >= 5 {
				return nil
			}
			return errors.New("waiting for viewer media")
		})
		v.check(t)
		_ = i
	}
	if pubs, views := e.srv.Counts(); pubs != 1 || views != viewers {
		t.Fatalf("counts = %d publishers, %d viewers", pubs, views)
	}
	// One feed per track, however many viewers.
	e.srv.mu.Lock()
	nfeeds := len(e.srv.feeds)
	e.srv.mu.Unlock()
	if nfeeds != 2 {
		t.Fatalf("feeds = %d, want 2 (video, audio)", nfeeds)
	}
}

// TestHubToWHEP serves a viewer from frames appended straight into the hub,
// as MoQ-published media would be.
func TestHubToWHEP(t *testing.T) {
	e := newEnv(t, nil)
	b, err := e.hub.Publish(media.Namespace{Tenant: "acme", Session: "moq"})
	if err != nil {
		t.Fatal(err)
	}
	tr, err := b.CreateTrack(media.TrackInfo{Name: msf.SessionVideoTrack, Kind: media.KindVideo}, media.TrackOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// A first GOP exists before the viewer arrives; it must start there.
	n := 0
	appendFrame := func() {
		if err := tr.Append(media.Object{Keyframe: n%10 == 0, Timestamp: time.Duration(n) * time.Second / 30, CaptureMicros: time.Now().UnixMicro(), Payload: testFrame(n, n%10 == 0, 2500)}); err != nil {
			t.Fatal(err)
		}
		n++
	}
	for range 3 {
		appendFrame()
	}
	v := e.view("moq", "", false)
	// A frame per poll, at 30 per second, until the viewer has 20.
	poll.For(t, 20*time.Second, time.Second/30, func() error {
		if f, _ := v.got(); f < 20 {
			appendFrame()
			return fmt.Errorf("viewer got %d frames", f)
		}
		return nil
	})
	v.check(t)
	v.mu.Lock()
	first := v.frames[0]
	v.mu.Unlock()
	if first != 0 {
		t.Fatalf("viewer started at frame %d, want the newest keyframe (0)", first)
	}
}

// TestDeleteFreesEverything checks DELETE tears down peers, feeds and the
// published broadcast; goleak in TestMain checks the goroutines.
func TestDeleteFreesEverything(t *testing.T) {
	e := newEnv(t, nil)
	pub := e.publish("s2", "")
	pub.run(30, 10, 1500)
	v := e.view2(t, "s2")
	poll.For(t, 20*time.Second, 5*time.Millisecond, func() error {
		f, _ := v.got()
		if f >= 3 {
			return nil
		}
		return errors.New("waiting for viewer media")
	})

	if st, _, _ := e.do(http.MethodDelete, v.url, "", "", nil); st != http.StatusOK {
		t.Fatalf("DELETE viewer: %d", st)
	}
	poll.For(t, 20*time.Second, 5*time.Millisecond, func() error {
		e.srv.mu.Lock()
		defer e.srv.mu.Unlock()
		if len(e.srv.feeds) == 0 && len(e.srv.whep) == 0 {
			return nil
		}
		return errors.New("waiting for feeds released")
	})
	if st, _, _ := e.do(http.MethodDelete, v.url, "", "", nil); st != http.StatusNotFound {
		t.Fatalf("second DELETE: %d, want 404", st)
	}
	if st, _, _ := e.do(http.MethodDelete, pub.url, "", "", nil); st != http.StatusOK {
		t.Fatalf("DELETE publisher: %d", st)
	}
	if _, ok := e.hub.Broadcast(media.Namespace{Tenant: "acme", Session: "s2"}); ok {
		t.Fatal("broadcast still published after DELETE")
	}
	if p, w := e.srv.Counts(); p != 0 || w != 0 {
		t.Fatalf("counts after DELETE: %d, %d", p, w)
	}
}

// view2 waits until the session is live before viewing it.
func (e *testEnv) view2(t *testing.T, session string) *viewer {
	t.Helper()
	poll.For(t, 20*time.Second, 5*time.Millisecond, func() error {
		b, ok := e.hub.Broadcast(media.Namespace{Tenant: "acme", Session: session})
		if !ok {
			return errors.New("waiting for session live")
		}
		_, ok = b.Track(msf.SessionVideoTrack)
		if ok {
			return nil
		}
		return errors.New("waiting for session live")
	})
	return e.view(session, "", false)
}
