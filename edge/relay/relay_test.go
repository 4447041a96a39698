package relay

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/quic-go/quic-go"

	"github.com/strata-edge/strata/internal/pki"
	"github.com/strata-edge/strata/internal/poll"
	"github.com/strata-edge/strata/internal/token"
	"github.com/strata-edge/strata/transport/media"
	"github.com/strata-edge/strata/transport/moq"
	"github.com/strata-edge/strata/transport/moq/wire"
)

// chain builds publisher -> edge A -> edge B, with A ingesting "video"
// eagerly and B relaying from A.
func chain(t *testing.T, ctx context.Context, e *env, bcfg Config) (a, b *edge, p *testPublisher) {
	a = e.newEdge(Config{IngestTracks: []string{"video"}, NodeID: "a"}, Deps{})
	bcfg.NodeID = "b"
	b = e.newEdge(bcfg, Deps{Locator: e.locator(a.source())})
	p = e.publish(ctx, a.addr, false)
	select {
	case <-p.accepted: // A subscribed to the publisher's track
	case <-ctx.Done():
		t.Fatal("edge A never subscribed to the publisher")
	}
	return a, b, p
}

// TestRelayChainDeliversEverything: fast subscribers on edge B, over raw
// QUIC and WebTransport, receive every object of every group in order,
// and a stalled subscriber skips groups without delaying them.
func TestRelayChainDeliversEverything(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	e := newEnv(t)
	_, b, p := chain(t, ctx, e, Config{Track: media.TrackOptions{MaxGroups: 2}})

	const viewers, groups, objects, size = 4, 16, 8, 128 << 10
	var fast []*viewer
	for i := range viewers {
		s := e.dial(ctx, b.addr, i%2 == 1, moq.Config{})
		fast = append(fast, e.watch(ctx, s, nil))
	}
	gate := make(chan struct{})
	slow := e.watch(ctx, e.dial(ctx, b.addr, false, moq.Config{}), gate)

	for g := range groups {
		p.appendGroup(t, g, objects, size)
		// Pace by the fast viewers only: the stalled one must not matter.
		poll.For(t, 20*time.Second, 5*time.Millisecond, func() error {
			for _, v := range fast {
				if !v.complete(uint64(g), objects) {
					return errors.New("waiting for fast viewers to get a group")
				}
			}
			return nil
		})
	}
	p.track.EndGroup()
	for i, v := range fast {
		if err := v.check(0, groups-1, objects); err != nil {
			t.Fatalf("viewer %d: %v", i, err)
		}
	}
	close(gate)
	poll.For(t, 20*time.Second, 5*time.Millisecond, func() error {
		if slow.complete(groups-1, objects) {
			return nil
		}
		return errors.New("waiting for stalled viewer to catch up to the last group")
	})
	slow.mu.Lock()
	got := len(slow.groups)
	slow.mu.Unlock()
	if got >= groups {
		t.Fatalf("stalled viewer got all %d groups; expected skips", got)
	}
	if err := slow.check(groups-1, groups-1, objects); err != nil {
		t.Fatalf("stalled viewer's last group: %v", err)
	}
	if d := value(b.m.dropped); d < 1 {
		t.Fatalf("dropped groups metric %v", d)
	}
	if n := value(b.m.latency); n == 0 {
		t.Fatal("no added-latency samples")
	}
	if v := value(b.m.egress); v < float64(viewers*groups*objects*size) {
		t.Fatalf("egress bytes %v too small", v)
	}
}

// TestLateJoinerStartsAtKeyframe: a viewer joining mid-group starts at
// object 0 of the newest group.
func TestLateJoinerStartsAtKeyframe(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	e := newEnv(t)
	a, _, p := chain(t, ctx, e, Config{})
	held := func(n uint64) func() error {
		return func() error {
			b, ok := a.hub.Broadcast(e.ns())
			if !ok {
				return errors.New("edge A has no broadcast")
			}
			vt, ok := b.Track("video")
			if !ok {
				return errors.New("edge A has no video track")
			}
			if got := vt.Stats().Objects; got < n {
				return fmt.Errorf("edge A holds %d objects, want %d", got, n)
			}
			return nil
		}
	}
	// Paced like live media: each group reaches edge A before the next
	// starts (a burst at subscription start may reorder first groups).
	p.appendGroup(t, 0, 5, 100)
	poll.For(t, 10*time.Second, 5*time.Millisecond, held(5))
	p.appendGroup(t, 1, 5, 100)
	poll.For(t, 10*time.Second, 5*time.Millisecond, held(10))
	p.appendGroup(t, 2, 3, 100) // open group: keyframe + 2 deltas
	poll.For(t, 10*time.Second, 5*time.Millisecond, held(13))
	v := e.watch(ctx, e.dial(ctx, a.addr, true, moq.Config{}), nil)
	poll.For(t, 10*time.Second, 5*time.Millisecond, func() error {
		if v.complete(2, 3) {
			return nil
		}
		return errors.New("waiting for late joiner to get group 2")
	})
	v.mu.Lock()
	defer v.mu.Unlock()
	if *v.first != (wire.Location{Group: 2, Object: 0}) {
		t.Fatalf("first object %+v, want group 2 object 0", *v.first)
	}
}

// TestOneUpstreamPerTrack: 100 viewers on edge B share one connection and
// one subscription to edge A, a mutual-TLS connection on which A knows B
// as a cluster edge; after they leave the upstream lingers and closes.
func TestOneUpstreamPerTrack(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	e := newEnv(t)
	a, b, p := chain(t, ctx, e, Config{Linger: 200 * time.Millisecond})
	const conns, perConn = 20, 5
	var vs []*viewer
	for i := range conns {
		s := e.dial(ctx, b.addr, i%4 == 0, moq.Config{})
		for range perConn {
			vs = append(vs, e.watch(ctx, s, nil))
		}
	}
	poll.For(t, 10*time.Second, 5*time.Millisecond, func() error {
		if value(b.m.subscribers) == conns*perConn {
			return nil
		}
		return errors.New("waiting for B to count every viewer")
	})
	if got := value(b.m.upstreams); got != 1 {
		t.Fatalf("B upstream subscriptions %v, want 1", got)
	}
	if got := value(a.m.subscribers); got != 1 {
		t.Fatalf("A subscribers %v, want 1 (edge B)", got)
	}
	if got := b.RemoteConnections(); got != 1 {
		t.Fatalf("B remote connections %d, want 1", got)
	}
	// That connection is mutual TLS: A knows B by its cluster certificate.
	if got := a.peerIDs(); len(got) != 1 || got[0] != (pki.Identity{Role: pki.RoleEdge, NodeID: "b"}) {
		t.Fatalf("A's relay peers %v, want [edge/b]", got)
	}
	p.appendGroup(t, 0, 4, 1000)
	poll.For(t, 20*time.Second, 5*time.Millisecond, func() error {
		for _, v := range vs {
			if !v.complete(0, 4) {
				return errors.New("waiting for all viewers to get group 0")
			}
		}
		return nil
	})
	for _, v := range vs {
		_ = v.sub.Close()
	}
	poll.For(t, 10*time.Second, 5*time.Millisecond, func() error {
		if value(b.m.upstreams) == 0 && b.RemoteConnections() == 0 {
			return nil
		}
		return errors.New("waiting for idle upstream to close")
	})
	poll.For(t, 10*time.Second, 5*time.Millisecond, func() error {
		if value(a.m.subscribers) == 0 {
			return nil
		}
		return errors.New("waiting for A to drop B's subscription")
	})
}

// TestAuthRefused: bad tokens get the spec's error codes.
func TestAuthRefused(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	e := newEnv(t)
	a, _, _ := chain(t, ctx, e, Config{})
	other := newEnv(t)
	expired := func(c *token.Claims) {
		c.IssuedAt, c.ExpiresAt = time.Now().Add(-time.Hour), time.Now().Add(-10*time.Minute)
	}
	cases := []struct {
		name string
		tok  []byte
		code uint64
	}{
		{"no token", nil, wire.SubscribeErrUnauthorized},
		{"wrong key", other.token(token.RoleViewer), wire.SubscribeErrUnauthorized},
		{"expired", e.token(token.RoleViewer, expired), wire.SubscribeErrExpiredAuthToken},
		{"garbage", []byte("not-a-token"), wire.SubscribeErrMalformedAuthToken},
		{"other session", e.token(token.RoleViewer, func(c *token.Claims) { c.Session = "s2" }), wire.SubscribeErrUnauthorized},
		{"publisher token", e.token(token.RolePublisher), wire.SubscribeErrUnauthorized},
		{"other node", e.token(token.RoleViewer, func(c *token.Claims) { c.Node = "zz" }), wire.SubscribeErrUnauthorized},
	}
	s := e.dial(ctx, a.addr, false, moq.Config{})
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := e.subscribe(ctx, s, tc.tok)
			var re *moq.RequestError
			if !errors.As(err, &re) || re.Code != tc.code {
				t.Fatalf("got %v, want code 0x%x", err, tc.code)
			}
		})
	}
	// A viewer token cannot publish.
	tp, _ := moq.TokenParam(e.token(token.RoleViewer))
	_, err := s.PublishNamespace(ctx, e.ns().Tuple(), wire.Parameters{tp})
	var re *moq.RequestError
	if !errors.As(err, &re) || re.Code != wire.NamespaceErrUnauthorized {
		t.Fatalf("publish with viewer token: %v", err)
	}
	// An expired token in CLIENT_SETUP closes the session with
	// EXPIRED_AUTH_TOKEN: during the handshake (the dial fails) or right
	// after it, depending on which side gets there first.
	bad, err := moq.DialQUIC(ctx, a.addr, e.cliTLS, nil, moq.Config{AuthToken: e.token(token.RoleViewer, expired)})
	if err != nil {
		var ae *quic.ApplicationError
		if !errors.As(err, &ae) || uint64(ae.ErrorCode) != uint64(wire.CodeExpiredAuthToken) {
			t.Fatalf("setup with expired token: dial: %v", err)
		}
		return
	}
	defer bad.Close()
	poll.For(t, 10*time.Second, 5*time.Millisecond, func() error {
		if bad.Err() != nil {
			return nil
		}
		return errors.New("waiting for expired setup token to close the session")
	})
	var se *moq.SessionError
	if err := bad.Err(); !errors.As(err, &se) || se.Code != wire.CodeExpiredAuthToken {
		t.Fatalf("setup with expired token: %v", err)
	}
}

// TestMalformedClosesOnlyThatSession: garbage on one control stream ends
// that session with PROTOCOL_VIOLATION; a viewer on the same edge keeps
// receiving.
func TestMalformedClosesOnlyThatSession(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	e := newEnv(t)
	a, _, p := chain(t, ctx, e, Config{})
	v := e.watch(ctx, e.dial(ctx, a.addr, false, moq.Config{}), nil)

	tc := e.cliTLS.Clone()
	tc.NextProtos = []string{wire.ALPNDraft14}
	conn, err := quic.DialAddr(ctx, a.addr, tc, &quic.Config{EnableDatagrams: true, EnableStreamResetPartialDelivery: true})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.CloseWithError(0, "")
	st, err := conn.OpenStreamSync(ctx)
	if err != nil {
		t.Fatal(err)
	}
	codec, _ := wire.CodecFor(wire.Draft14)
	msg, err := codec.AppendMessage(nil, &wire.ClientSetup{Versions: []wire.Version{wire.Draft14},
		Params: wire.Parameters{wire.IntPair(wire.SetupParamMaxRequestID, 10)}})
	if err != nil {
		t.Fatal(err)
	}
	// An unknown control message type follows the setup.
	msg = append(msg, 0x3f, 0x00, 0x01, 0xff)
	if _, err := st.Write(msg); err != nil {
		t.Fatal(err)
	}
	select {
	case <-conn.Context().Done():
	case <-ctx.Done():
		t.Fatal("malformed session not closed")
	}
	var ae *quic.ApplicationError
	if err := context.Cause(conn.Context()); !errors.As(err, &ae) || ae.ErrorCode != quic.ApplicationErrorCode(wire.CodeProtocolViolation) {
		t.Fatalf("closed with %v, want PROTOCOL_VIOLATION", err)
	}
	p.appendGroup(t, 0, 3, 100)
	poll.For(t, 10*time.Second, 5*time.Millisecond, func() error {
		if v.complete(0, 3) {
			return nil
		}
		return errors.New("waiting for other viewer still served")
	})
}
