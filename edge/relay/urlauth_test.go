package relay

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"testing"
	"time"

	"github.com/quic-go/quic-go"

	"github.com/strata-edge/strata/internal/poll"
	"github.com/strata-edge/strata/internal/token"
	"github.com/strata-edge/strata/transport/media"
	"github.com/strata-edge/strata/transport/moq"
	"github.com/strata-edge/strata/transport/moq/wire"
)

// dialURL connects to a over WebTransport with query on the CONNECT URL,
// or over raw QUIC with it in PATH.
func (e *env) dialURL(ctx context.Context, a *edge, wt bool, query string, cfg moq.Config) (*moq.Session, error) {
	var s *moq.Session
	var err error
	if wt {
		s, err = moq.DialWebTransport(ctx, "https://"+a.addr+moq.WebTransportPath+query, e.cliTLS, nil, cfg)
	} else {
		cfg.Path = moq.WebTransportPath + query
		s, err = moq.DialQUIC(ctx, a.addr, e.cliTLS, nil, cfg)
	}
	if err == nil {
		e.t.Cleanup(func() { _ = s.Close() })
	}
	return s, err
}

// TestURLTokenAuthorizes: a client whose token is only in the session
// URL's jwt parameter (no setup parameter, none per request) is admitted
// and receives the track; a token in CLIENT_SETUP wins over the URL's;
// a relay token in the URL of a viewer's connection closes it as one in
// setup does.
func TestURLTokenAuthorizes(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	e := newEnv(t)
	a := e.newEdge(Config{IngestTracks: []string{"video"}, NodeID: "a"}, Deps{})
	p := e.publish(ctx, a.addr, false)
	jwt := "?jwt=" + url.QueryEscape(string(e.token(token.RoleViewer)))

	for _, wt := range []bool{true, false} {
		name := map[bool]string{true: "webtransport", false: "quic"}[wt]
		t.Run(name, func(t *testing.T) {
			s, err := e.dialURL(ctx, a, wt, jwt, moq.Config{})
			if err != nil {
				t.Fatalf("dial with ?jwt=: %v", err)
			}
			v := e.watchWith(ctx, s, nil)
			poll.For(t, 10*time.Second, 10*time.Millisecond, func() error {
				p.appendGroup(t, 0, 3, 32)
				v.mu.Lock()
				defer v.mu.Unlock()
				if len(v.groups) == 0 {
					return errors.New("no object yet")
				}
				return nil
			})

			// Setup wins: a valid viewer token for another session in
			// CLIENT_SETUP, the right one in the URL, is not this session's.
			other := e.token(token.RoleViewer, func(c *token.Claims) { c.Session = "s2" })
			s2, err := e.dialURL(ctx, a, wt, jwt, moq.Config{AuthToken: other})
			if err != nil {
				t.Fatalf("dial: %v", err)
			}
			var re *moq.RequestError
			if _, err := e.subscribe(ctx, s2, nil); !errors.As(err, &re) || re.Code != wire.SubscribeErrUnauthorized {
				t.Fatalf("setup token for s2, URL token for s1: got %v, want UNAUTHORIZED", err)
			}

			// A relay token in a viewer's URL is refused as in setup.
			relay := "?jwt=" + url.QueryEscape(string(e.token(token.RoleRelay)))
			s3, err := e.dialURL(ctx, a, wt, relay, moq.Config{})
			if err := refusedSession(t, s3, err, wire.CodeUnauthorized); err != nil {
				t.Fatalf("relay token in a viewer's URL: %v", err)
			}
		})
	}
}

// watchWith is watch with the session's setup or URL token only.
func (e *env) watchWith(ctx context.Context, s *moq.Session, tok []byte) *viewer {
	e.t.Helper()
	sub, err := e.subscribe(ctx, s, tok)
	if err != nil {
		e.t.Fatalf("subscribe: %v", err)
	}
	v := &viewer{sub: sub, groups: map[uint64][]uint64{}, done: make(chan struct{})}
	go func() {
		defer close(v.done)
		for {
			o, err := sub.ReadObject(ctx)
			if err != nil {
				return
			}
			if o.Status != wire.StatusNormal {
				continue
			}
			v.mu.Lock()
			v.groups[o.GroupID] = append(v.groups[o.GroupID], o.ID)
			v.mu.Unlock()
		}
	}()
	return v
}

// TestSubscribeMissingTrack: a SUBSCRIBE for a track nobody has is
// answered TRACK_DOES_NOT_EXIST (0x4), not INTERNAL_ERROR: on a broadcast
// a MoQ publisher feeds, on one fed without a MoQ publisher (as WHIP
// ingest feeds the hub), and for a session that is not live.
func TestSubscribeMissingTrack(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	e := newEnv(t)
	a := e.newEdge(Config{IngestTracks: []string{"video"}, NodeID: "a"}, Deps{})
	e.publish(ctx, a.addr, false)
	hubOnly := media.Namespace{Tenant: e.tenant, Session: "s-hub"}
	b, err := a.Hub().Publish(hubOnly)
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	if _, err := b.CreateTrack(media.TrackInfo{Name: "video", Kind: media.KindVideo}, media.TrackOptions{}); err != nil {
		t.Fatal(err)
	}
	s := e.dial(ctx, a.addr, true, moq.Config{})
	cases := []struct {
		name  string
		ns    media.Namespace
		track string
	}{
		{"moq publisher", e.ns(), "no-such-track"},
		{"hub publisher", hubOnly, "no-such-track"},
		{"not live", media.Namespace{Tenant: e.tenant, Session: "s-none"}, "video"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tok := e.token(token.RoleViewer, func(c *token.Claims) { c.Session = tc.ns.Session })
			tp, _ := moq.TokenParam(tok)
			_, err := s.Subscribe(ctx, wire.Subscribe{Namespace: tc.ns.Tuple(), TrackName: tc.track, Forward: true,
				GroupOrder: wire.GroupOrderAscending, Filter: wire.Filter{Type: wire.FilterLargestObject}, Params: wire.Parameters{tp}})
			var re *moq.RequestError
			if !errors.As(err, &re) || re.Code != wire.SubscribeErrTrackDoesNotExist {
				t.Fatalf("got %v, want TRACK_DOES_NOT_EXIST (0x4)", err)
			}
		})
	}
}

// refusedSession checks a session the edge refuses at setup: either the
// dial failed (err) or the session closes soon after, with code.
func refusedSession(t *testing.T, s *moq.Session, err error, code wire.ErrorCode) error {
	t.Helper()
	if err == nil {
		poll.For(t, 10*time.Second, 5*time.Millisecond, func() error {
			if s.Err() != nil {
				return nil
			}
			return errors.New("waiting for the edge to close the session")
		})
		err = s.Err()
	}
	var se *moq.SessionError
	var ae *quic.ApplicationError
	if (errors.As(err, &se) && se.Code == code) || (errors.As(err, &ae) && uint64(ae.ErrorCode) == uint64(code)) {
		return nil
	}
	return fmt.Errorf("got %v, want session code 0x%x", err, uint64(code))
}
