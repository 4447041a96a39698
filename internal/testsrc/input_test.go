package testsrc_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/strata-edge/strata/internal/poll"
	"github.com/strata-edge/strata/internal/testsrc"
	"github.com/strata-edge/strata/internal/token"
	"github.com/strata-edge/strata/transport/media"
	"github.com/strata-edge/strata/transport/msf"
)

// TestTestsrcReadsInput: events appended to the edge's input track (as
// the WHEP data channel of a controller does) reach the source, which
// counts them by kind; malformed ones are counted apart.
func TestTestsrcReadsInput(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ns := media.Namespace{Tenant: "t1", Session: "s2"}
	e := startEdge(t, ns)
	src, _ := newSource(t, testsrc.SourceOptions{})
	runCtx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() {
		stop()
		wg.Wait()
	}()
	wg.Go(func() { _ = src.Run(runCtx) })
	pub, err := testsrc.Dial(ctx, src, testsrc.PublishConfig{Addr: e.addr, TLS: e.cliTLS,
		Token: e.sign(token.RolePublisher), Namespace: ns})
	if err != nil {
		t.Fatal(err)
	}
	wg.Go(func() { _ = pub.Serve(runCtx) })

	events := []string{
		`{"type":"keydown","key":"a","code":"KeyA"}`,
		`{"type":"keyup","key":"a","code":"KeyA"}`,
		`{"type":"pointerdown","x":0.5,"y":0.25,"pointer":"mouse"}`,
		`{"type":"pointerdown","x":0.1,"y":0.2,"pointer":"touch"}`,
		`{"type":"wheel","dy":3}`,
		`not json`,
	}
	// The publisher subscribes once it has announced; wait for the hub's
	// input track, then append an event at a time until each has landed.
	deadline := time.Now().Add(20 * time.Second)
	var in *media.Track
	poll.For(t, time.Until(deadline), 10*time.Millisecond, func() error {
		if b, ok := e.relay.Hub().Broadcast(ns); ok {
			in, _ = b.Track(msf.SessionInputTrack)
		}
		if in == nil {
			return errors.New("no input track on the edge")
		}
		return nil
	})
	for i, ev := range events {
		want := int64(i + 1)
		landed := func() error {
			if st := pub.Input(); st.Events+st.Malformed < want {
				return fmt.Errorf("event %d never arrived: %+v", i, st)
			}
			return nil
		}
		// Append the event again each time it has not landed within half
		// a second.
		poll.For(t, time.Until(deadline), 0, func() error {
			if err := in.Append(media.Object{Keyframe: true, Payload: []byte(ev), CaptureMicros: time.Now().UnixMicro()}); err != nil {
				t.Fatal(err)
			}
			return poll.Until(500*time.Millisecond, 5*time.Millisecond, landed)
		})
	}
	st := pub.Input()
	if st.Keys < 2 || st.Pointer < 1 || st.Touch < 1 || st.Wheel < 1 || st.Malformed < 1 {
		t.Fatalf("input stats %+v", st)
	}
	if st.Last.Type != "wheel" {
		t.Fatalf("last event %+v", st.Last)
	}
	// The log keeps the well-formed events with their track locations.
	rec := pub.RecentInput()
	if n := len(rec); n < 5 || rec[n-1].Event.Type != "wheel" || rec[n-1].Group <= rec[0].Group {
		t.Fatalf("recent input %+v", rec)
	}
}
