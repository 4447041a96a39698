package relay

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/strata-edge/strata/internal/token"
	"github.com/strata-edge/strata/transport/media"
	"github.com/strata-edge/strata/transport/moq"
	"github.com/strata-edge/strata/transport/moq/wire"
)

// TestInputPublishAuthorization: a relay token, or a controller token of
// the session, may PUBLISH the input track of a broadcast on the edge;
// viewers, publishers and other sessions' controllers are refused, as are
// other tracks and (for relays) broadcasts not ingested there. An
// accepted PUBLISH's objects land on the local input track.
func TestInputPublishAuthorization(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	e := newEnv(t)
	a := e.newEdge(Options{IngestTracks: []string{"video"}, NodeID: "a"})
	p := e.publish(ctx, a.addr, false)
	select {
	case <-p.accepted:
	case <-ctx.Done():
		t.Fatal("edge never subscribed to the publisher")
	}
	other := media.Namespace{Tenant: e.tenant, Session: "elsewhere"}
	tests := []struct {
		name  string
		tok   []byte
		ns    media.Namespace
		track string
		code  uint64 // 0: accepted
	}{
		{"viewer", e.token(token.RoleViewer), e.ns(), inputTrack, wire.PublishErrUnauthorized},
		{"controller of another session", e.token(token.RoleController, func(c *token.Claims) { c.Session = "other" }), e.ns(), inputTrack, wire.PublishErrUnauthorized},
		{"publisher", e.token(token.RolePublisher), e.ns(), inputTrack, wire.PublishErrUnauthorized},
		{"relay, other track", e.token(token.RoleRelay), e.ns(), "video", wire.PublishErrUninterested},
		{"relay, not ingested here", e.token(token.RoleRelay), other, inputTrack, wire.PublishErrUninterested},
		{"relay", e.token(token.RoleRelay), e.ns(), inputTrack, 0},
		{"controller", e.token(token.RoleController), e.ns(), inputTrack, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := e.dial(ctx, a.addr, false, moq.Config{})
			tp, err := moq.TokenParam(tc.tok)
			if err != nil {
				t.Fatal(err)
			}
			pub, _, err := s.Publish(ctx, wire.Publish{Namespace: tc.ns.Tuple(), TrackName: tc.track,
				GroupOrder: wire.GroupOrderAscending, Forward: true, Params: wire.Parameters{tp}})
			if tc.code != 0 {
				var re *moq.RequestError
				if !errors.Is(err, moq.ErrPublishRejected) || !errors.As(err, &re) || re.Code != tc.code {
					t.Fatalf("publish: %v, want code %#x", err, tc.code)
				}
				return
			}
			if err != nil {
				t.Fatalf("publish: %v", err)
			}
			b, ok := a.Hub().Broadcast(e.ns())
			if !ok {
				t.Fatal("no broadcast")
			}
			in, ok := b.Track(inputTrack)
			if !ok {
				t.Fatal("no input track after an accepted PUBLISH")
			}
			sub := in.Subscribe()
			defer sub.Close()
			st, err := pub.OpenSubgroup(ctx, wire.SubgroupHeader{GroupID: 7, IDMode: wire.SubgroupIDZero, EndOfGroup: true})
			if err != nil {
				t.Fatal(err)
			}
			msg := `{"type":"keydown","by":"` + tc.name + `"}`
			if err := st.WriteObject(&wire.Object{ID: 0, Payload: []byte(msg)}); err != nil {
				t.Fatal(err)
			}
			_ = st.Close()
			// The cursor starts at the newest event already there.
			for {
				gr, err := sub.NextGroup(ctx)
				if err != nil {
					t.Fatal(err)
				}
				o, err := gr.NextObject(ctx)
				if err != nil {
					t.Fatal(err)
				}
				if string(o.Payload) == msg {
					break
				}
			}
		})
	}
}
