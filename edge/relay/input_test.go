package relay

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/strata-edge/strata/internal/poll"
	"github.com/strata-edge/strata/internal/token"
	"github.com/strata-edge/strata/transport/media"
	"github.com/strata-edge/strata/transport/moq"
	"github.com/strata-edge/strata/transport/moq/wire"
)

// TestInputPublishAuthorization: a relay token from a cluster edge, or a
// controller token of the session, may PUBLISH the input track of a
// broadcast on the edge; viewers, publishers, other sessions' controllers
// and a relay token on a viewer's connection are refused, as are other
// tracks and (for relays) broadcasts not ingested there. An
// accepted PUBLISH's objects land on the local input track.
func TestInputPublishAuthorization(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	e := newEnv(t)
	a := ingestEdge(ctx, t, e)
	other := media.Namespace{Tenant: e.tenant, Session: "elsewhere"}
	tests := []struct {
		name  string
		tok   []byte
		peer  bool // over a relay connection from a cluster edge
		ns    media.Namespace
		track string
		code  uint64 // 0: accepted
	}{
		{"viewer", e.token(token.RoleViewer), false, e.ns(), inputTrack, wire.PublishErrUnauthorized},
		{"controller of another session", e.token(token.RoleController, func(c *token.Claims) { c.Session = "other" }), false, e.ns(), inputTrack, wire.PublishErrUnauthorized},
		{"publisher", e.token(token.RolePublisher), false, e.ns(), inputTrack, wire.PublishErrUnauthorized},
		{"relay, other track", e.token(token.RoleRelay), true, e.ns(), "video", wire.PublishErrUninterested},
		{"relay, not ingested here", e.token(token.RoleRelay), true, other, inputTrack, wire.PublishErrUninterested},
		{"relay token, viewer connection", e.token(token.RoleRelay), false, e.ns(), inputTrack, wire.PublishErrUnauthorized},
		{"relay", e.token(token.RoleRelay), true, e.ns(), inputTrack, 0},
		{"controller", e.token(token.RoleController), false, e.ns(), inputTrack, 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := e.dial(ctx, a.addr, false, moq.Config{})
			if tc.peer {
				s = e.dialPeer(ctx, a, "b", moq.Config{})
			}
			pub, err := publishInput(ctx, s, tc.tok, tc.ns, tc.track)
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
			sub := localInput(t, e, a).Subscribe()
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
			// The cursor starts at the newest group, which may hold earlier
			// events: input events share a group (AppendInput).
			for {
				o, err := sub.Next(ctx)
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

// TestInputStreamReopensAfterReset: a relay forwards input events as the
// objects of one subgroup stream; when that stream fails (reset), the
// event goes once more on a new stream in a later group, the events after
// it follow on that stream, and the ingest edge gets them all in order.
func TestInputStreamReopensAfterReset(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	e := newEnv(t)
	a := ingestEdge(ctx, t, e)
	pub, err := publishInput(ctx, e.dialPeer(ctx, a, "b", moq.Config{}), e.token(token.RoleRelay), e.ns(), inputTrack)
	if err != nil {
		t.Fatalf("publish: %v", err)
	}
	sub := localInput(t, e, a).Subscribe()
	defer sub.Close()
	next := func() string {
		t.Helper()
		o, err := sub.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		return string(o.Payload)
	}

	w := inputStream{pub: pub}
	send := func(i int) {
		t.Helper()
		if err := w.write(ctx, media.Object{GroupID: 100, Payload: fmt.Appendf(nil, "e%d", i)}); err != nil {
			t.Fatalf("event %d: %v", i, err)
		}
	}
	send(0)
	if got := next(); got != "e0" {
		t.Fatalf("first event %q", got)
	}
	first := w.group
	w.st.Cancel(wire.StreamErrCancelled) // as a reset from the peer would
	for i := 1; i <= 3; i++ {
		send(i)
	}
	w.close()
	if w.group <= first || w.next != 3 {
		t.Fatalf("after the reset: group %d (first %d), next object %d; want a later group holding 3 objects", w.group, first, w.next)
	}
	for i := 1; i <= 3; i++ {
		if got, want := next(), fmt.Sprintf("e%d", i); got != want {
			t.Fatalf("event %q, want %q", got, want)
		}
	}
}

// ingestEdge starts an edge that ingests the env's broadcast from a test
// publisher.
func ingestEdge(ctx context.Context, t *testing.T, e *env) *edge {
	t.Helper()
	a := e.newEdge(Config{IngestTracks: []string{"video"}, NodeID: "a"}, Deps{})
	p := e.publish(ctx, a.addr, false)
	select {
	case <-p.accepted:
	case <-ctx.Done():
		t.Fatal("edge never subscribed to the publisher")
	}
	return a
}

// publishInput sends PUBLISH of ns's track on s, with tok.
func publishInput(ctx context.Context, s *moq.Session, tok []byte, ns media.Namespace, track string) (*moq.Publication, error) {
	tp, err := moq.TokenParam(tok)
	if err != nil {
		return nil, err
	}
	pub, _, err := s.Publish(ctx, wire.Publish{Namespace: ns.Tuple(), TrackName: track,
		GroupOrder: wire.GroupOrderAscending, Forward: true, Params: wire.Parameters{tp}})
	return pub, err
}

// localInput returns the env's input track on edge a, which an accepted
// PUBLISH has created.
func localInput(t *testing.T, e *env, a *edge) *media.Track {
	t.Helper()
	b, ok := a.Hub().Broadcast(e.ns())
	if !ok {
		t.Fatal("no broadcast")
	}
	in, ok := b.Track(inputTrack)
	if !ok {
		t.Fatal("no input track after an accepted PUBLISH")
	}
	return in
}

// TestInputBurstReachesPublisherInOrder: a controller's burst of events
// lands as consecutive objects of one group of the local input track, so
// the session's publisher, subscribed to that track, receives them in
// send order on one stream.
func TestInputBurstReachesPublisherInOrder(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	e := newEnv(t)
	a := ingestEdge(ctx, t, e)
	pub, err := publishInput(ctx, e.dial(ctx, a.addr, false, moq.Config{}), e.token(token.RoleController), e.ns(), inputTrack)
	if err != nil {
		t.Fatalf("publish: %v", err)
	}
	st, err := pub.OpenSubgroup(ctx, wire.SubgroupHeader{GroupID: 1, IDMode: wire.SubgroupIDZero})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Cancel(wire.StreamErrCancelled)
	var id uint64
	send := func(msg string) {
		t.Helper()
		if err := st.WriteObject(&wire.Object{ID: id, Payload: []byte(msg)}); err != nil {
			t.Fatal(err)
		}
		id++
	}
	send("warm-up") // creates the local input track
	localInput(t, e, a)

	s := e.dial(ctx, a.addr, false, moq.Config{})
	tp, err := moq.TokenParam(e.token(token.RolePublisher))
	if err != nil {
		t.Fatal(err)
	}
	sub, err := s.Subscribe(ctx, wire.Subscribe{Namespace: e.ns().Tuple(), TrackName: inputTrack, Forward: true,
		GroupOrder: wire.GroupOrderAscending, Filter: wire.Filter{Type: wire.FilterLargestObject}, Params: wire.Parameters{tp}})
	if err != nil {
		t.Fatalf("subscribe input as the publisher: %v", err)
	}
	defer func() { _ = sub.Close() }()
	const burst = 32
	for i := range burst {
		send(fmt.Sprintf("e%d", i))
	}
	var got []wire.Object
	for len(got) < burst {
		o, err := sub.ReadObject(ctx)
		if err != nil {
			t.Fatalf("after %d burst events: %v", len(got), err)
		}
		if o.Status != wire.StatusNormal || string(o.Payload) == "warm-up" {
			continue
		}
		got = append(got, o)
	}
	for i, o := range got {
		if want := fmt.Sprintf("e%d", i); string(o.Payload) != want {
			t.Fatalf("event %d is %q, want %q", i, o.Payload, want)
		}
		if i > 0 && (o.GroupID != got[i-1].GroupID || o.ID != got[i-1].ID+1) {
			t.Fatalf("event %d at %d/%d after %d/%d: want the next object of one group", i, o.GroupID, o.ID, got[i-1].GroupID, got[i-1].ID)
		}
	}
}

// TestInputMark: after a retry the forwarder skips the events at or
// before the last one it sent, in the local track's numbering.
func TestInputMark(t *testing.T) {
	tests := []struct {
		name      string
		sent      []uint64 // group, object of the last event sent; nil: none
		group, id uint64
		want      bool
	}{
		{"nothing sent", nil, 5, 0, true},
		{"same event", []uint64{5, 3}, 5, 3, false},
		{"earlier in the group", []uint64{5, 3}, 5, 1, false},
		{"next in the group", []uint64{5, 3}, 5, 4, true},
		{"earlier group", []uint64{5, 3}, 4, 9, false},
		{"later group", []uint64{5, 3}, 6, 0, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var m inputMark
			if tc.sent != nil {
				m.move(media.Object{GroupID: tc.sent[0], ID: tc.sent[1]})
			}
			if got := m.after(media.Object{GroupID: tc.group, ID: tc.id}); got != tc.want {
				t.Fatalf("after(%d/%d) = %v, want %v", tc.group, tc.id, got, tc.want)
			}
		})
	}
}

// TestInputForwardRetryNoReplay: a relaying edge forwards its local input
// track to the ingest edge; when the upstream connection is cut, the
// forwarder publishes again from the local track's newest group, and the
// events of that group it already sent are not sent twice: the ingest
// edge's input track holds every event exactly once, in order.
func TestInputForwardRetryNoReplay(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	e := newEnv(t)
	a := ingestEdge(ctx, t, e)
	b := e.newEdge(Config{NodeID: "b", RetryMin: 10 * time.Millisecond}, Deps{Locator: e.locator(a.source())})

	ab, ok := a.Hub().Broadcast(e.ns())
	if !ok {
		t.Fatal("no broadcast on the ingest edge")
	}
	if err := a.createInputTrack(ab, inputTrack); err != nil {
		t.Fatal(err)
	}
	got := localInput(t, e, a).Subscribe() // before any event: sees them all
	defer got.Close()

	lb, err := media.NewBroadcast(e.ns())
	if err != nil {
		t.Fatal(err)
	}
	lt, err := lb.CreateTrack(media.TrackInfo{Name: inputTrack, Kind: media.KindInput}, media.TrackOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pctx, stop := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		b.pushInput(pctx, lb, lt)
	}()
	defer func() { stop(); <-done }()

	upstream := func() *moq.Session {
		b.mu.Lock()
		defer b.mu.Unlock()
		if rm := b.remotes[a.source()]; rm != nil && rm.s.Err() == nil {
			return rm.s
		}
		return nil
	}
	var seen []string
	send := func(from, to int) {
		t.Helper()
		for i := from; i < to; i++ {
			if err := lt.AppendInput(media.Object{Payload: fmt.Appendf(nil, "e%d", i)}); err != nil {
				t.Fatal(err)
			}
		}
		want := fmt.Sprintf("e%d", to-1)
		for len(seen) == 0 || seen[len(seen)-1] != want {
			o, err := got.Next(ctx)
			if err != nil {
				t.Fatalf("ingest edge got %v: %v", seen, err)
			}
			seen = append(seen, string(o.Payload))
		}
	}
	send(0, 5)
	first := upstream()
	if first == nil {
		t.Fatal("no upstream session after forwarding")
	}
	_ = first.Close() // cut the upstream
	// The retry starts once the cut attempt has ended: a new upstream
	// session means the forwarder is publishing again.
	poll.For(t, 10*time.Second, 5*time.Millisecond, func() error {
		s := upstream()
		if s != nil && s != first {
			return nil
		}
		return errors.New("waiting for the forwarder to reconnect")
	})
	send(5, 10)
	if len(seen) != 10 {
		t.Fatalf("ingest edge got %v, want e0..e9 once each", seen)
	}
	for i, p := range seen {
		if want := fmt.Sprintf("e%d", i); p != want {
			t.Fatalf("ingest edge got %v, want e0..e9 once each", seen)
		}
	}
}
