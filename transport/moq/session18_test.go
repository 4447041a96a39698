package moq

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/strata-edge/strata/transport/moq/wire"
)

// TestDraft18StopSendingUnsubscribes: a draft-18 subscriber may cancel a
// subscription with STOP_SENDING alone; the publisher sees it as
// UNSUBSCRIBE. A FIN of the subscriber's half is not a cancellation.
func TestDraft18StopSendingUnsubscribes(t *testing.T) {
	for _, stopOnly := range []bool{true, false} {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		cli, srv := quicPair(ctx, t, Config{}, wire.Draft18)
		pubCh := make(chan *Publication, 1)
		go func() {
			in, err := srv.AcceptSubscription(ctx)
			if err != nil {
				return
			}
			p, err := in.Accept(wire.GroupOrderAscending, nil)
			if err == nil {
				pubCh <- p
			}
		}()
		sub, err := cli.Subscribe(ctx, wire.Subscribe{Namespace: wire.Namespace{"a"}, TrackName: "x", Forward: true,
			Filter: wire.Filter{Type: wire.FilterLargestObject}})
		if err != nil {
			t.Fatal(err)
		}
		pub := <-pubCh
		rq := cli.request(sub.RequestID())
		if stopOnly {
			rq.st.CancelRead(wire.StreamErrCancelled)
			select {
			case <-pub.Unsubscribed():
			case <-ctx.Done():
				t.Fatal("STOP_SENDING did not unsubscribe")
			}
			continue
		}
		// FIN of the subscriber's half: the subscription goes on, and the
		// publisher can still end it with PUBLISH_DONE.
		rq.closeWrite()
		select {
		case <-pub.Unsubscribed():
			t.Fatal("FIN unsubscribed")
		case <-time.After(100 * time.Millisecond):
		}
		if err := pub.Done(wire.PublishDoneTrackEnded, "bye"); err != nil {
			t.Fatal(err)
		}
		if _, err := sub.ReadObject(ctx); err == nil {
			t.Fatal("subscription did not end")
		}
	}
}

// TestGoAway: GOAWAY reaches the client in every version (on draft 18's
// control stream), and a second one is a protocol violation.
func TestGoAway(t *testing.T) {
	forVersions(t, func(t *testing.T, v wire.Version) {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		cli, srv := quicPair(ctx, t, Config{}, v)
		for range 2 {
			if err := srv.GoAway("https://other.example/moq"); err != nil {
				t.Fatal(err)
			}
		}
		select {
		case <-cli.Context().Done():
		case <-ctx.Done():
			t.Fatal("second GOAWAY did not end the session")
		}
		var se *SessionError
		if !errors.As(cli.Err(), &se) || se.Code != wire.CodeProtocolViolation || se.Remote {
			t.Fatalf("client ended with %v", cli.Err())
		}
	})
}
