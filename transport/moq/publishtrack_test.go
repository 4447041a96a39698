package moq

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/strata-edge/strata/transport/moq/wire"
)

// TestPublishTrack runs PUBLISH from a client to a server that accepts,
// rejects, or does not take PUBLISH at all.
func TestPublishTrack(t *testing.T) {
	tests := []struct {
		name     string
		accept   bool // server Config.AcceptPublish
		reject   bool // server answers PUBLISH_ERROR
		wantCode uint64
	}{
		{name: "accepted", accept: true},
		{name: "rejected", accept: true, reject: true, wantCode: wire.PublishErrUnauthorized},
		{name: "not supported", accept: false, wantCode: wire.PublishErrNotSupported},
	}
	for _, v := range testVersions {
		for _, tc := range tests {
			t.Run(v.String()+"/"+tc.name, func(t *testing.T) {
				ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
				defer cancel()
				cli, srv := quicPair(ctx, t, Config{AcceptPublish: tc.accept}, v)

				got := make(chan *Subscription, 1)
				srvErr := make(chan error, 1)
				if tc.accept {
					go func() {
						in, err := srv.AcceptPublish(ctx)
						if err != nil {
							srvErr <- err
							return
						}
						if in.Request.TrackName != "input" || !in.Request.Namespace.Equal(wire.Namespace{"strata", "t", "s"}) || !in.Request.Forward {
							srvErr <- errors.New("unexpected publish request")
							return
						}
						if tc.reject {
							srvErr <- in.Reject(wire.PublishErrUnauthorized, "no")
							return
						}
						sub, err := in.Accept(wire.PublishOK{Forward: true, GroupOrder: wire.GroupOrderAscending,
							Filter: wire.Filter{Type: wire.FilterLargestObject}})
						if err != nil {
							srvErr <- err
							return
						}
						got <- sub
						srvErr <- nil
					}()
				}

				pub, ok, err := cli.Publish(ctx, wire.Publish{Namespace: wire.Namespace{"strata", "t", "s"}, TrackName: "input",
					GroupOrder: wire.GroupOrderAscending, Forward: true})
				if tc.wantCode != 0 {
					var re *RequestError
					if !errors.Is(err, ErrPublishRejected) || !errors.As(err, &re) || re.Code != tc.wantCode {
						t.Fatalf("publish: %v, want code %#x", err, tc.wantCode)
					}
					if tc.accept {
						if err := <-srvErr; err != nil {
							t.Fatal(err)
						}
					}
					return
				}
				if err != nil {
					t.Fatalf("publish: %v", err)
				}
				if err := <-srvErr; err != nil {
					t.Fatal(err)
				}
				if !ok.Forward || ok.Filter.Type != wire.FilterLargestObject {
					t.Fatalf("publish ok %+v", ok)
				}
				sub := <-got
				if sub.OK().TrackAlias != pub.TrackAlias() {
					t.Fatalf("alias %d, want %d", sub.OK().TrackAlias, pub.TrackAlias())
				}
				for g := uint64(1); g <= 3; g++ {
					st, err := pub.OpenSubgroup(ctx, wire.SubgroupHeader{GroupID: g, IDMode: wire.SubgroupIDZero, EndOfGroup: true})
					if err != nil {
						t.Fatal(err)
					}
					if err := st.WriteObject(&wire.Object{ID: 0, Payload: []byte{byte(g)}}); err != nil {
						t.Fatal(err)
					}
					if err := st.Close(); err != nil {
						t.Fatal(err)
					}
				}
				seen := 0
				for seen < 3 {
					o, err := sub.ReadObject(ctx)
					if err != nil {
						t.Fatalf("read: %v", err)
					}
					if o.Status == wire.StatusNormal {
						if len(o.Payload) != 1 || uint64(o.Payload[0]) != o.GroupID {
							t.Fatalf("object %+v", o)
						}
						seen++
					}
				}
				// The subscriber leaving reaches the publisher as UNSUBSCRIBE.
				if err := sub.Close(); err != nil {
					t.Fatal(err)
				}
				select {
				case <-pub.Unsubscribed():
				case <-ctx.Done():
					t.Fatal("publisher never saw UNSUBSCRIBE")
				}
			})
		}
	}
}

func TestPublishDoneEndsSubscription(t *testing.T) { forVersions(t, testPublishDoneEndsSubscription) }

func testPublishDoneEndsSubscription(t *testing.T, v wire.Version) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cli, srv := quicPair(ctx, t, Config{AcceptPublish: true}, v)
	subc := make(chan *Subscription, 1)
	go func() {
		in, err := srv.AcceptPublish(ctx)
		if err != nil {
			close(subc)
			return
		}
		sub, err := in.Accept(wire.PublishOK{Forward: true, GroupOrder: wire.GroupOrderAscending, Filter: wire.Filter{Type: wire.FilterLargestObject}})
		if err != nil {
			close(subc)
			return
		}
		subc <- sub
	}()
	pub, _, err := cli.Publish(ctx, wire.Publish{Namespace: wire.Namespace{"a"}, TrackName: "input", Forward: true})
	if err != nil {
		t.Fatal(err)
	}
	sub := <-subc
	if sub == nil {
		t.Fatal("accept failed")
	}
	if err := pub.Done(wire.PublishDoneTrackEnded, "bye"); err != nil {
		t.Fatal(err)
	}
	_, err = sub.ReadObject(ctx)
	var re *RequestError
	if !errors.Is(err, ErrSubscriptionDone) || !errors.As(err, &re) || re.Code != wire.PublishDoneTrackEnded {
		t.Fatalf("after done: %v", err)
	}
}
