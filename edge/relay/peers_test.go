package relay

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/quic-go/quic-go"

	"github.com/strata-edge/strata/internal/pki"
	"github.com/strata-edge/strata/internal/poll"
	"github.com/strata-edge/strata/internal/token"
	"github.com/strata-edge/strata/transport/moq"
	"github.com/strata-edge/strata/transport/moq/wire"
)

// presenting is a client that shows h's certificate (none for nil) and
// asks for sni, accepting any server: whatever refuses it is the server.
func presenting(h *pki.Holder, sni string) *tls.Config {
	tc := &tls.Config{MinVersion: tls.VersionTLS13, ServerName: sni, InsecureSkipVerify: true} //nolint:gosec // the server is under test
	if h != nil {
		tc.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return h.Certificate(), nil }
	}
	return tc
}

// refusedInHandshake reports whether err is a QUIC connection closed
// with a TLS alert (CRYPTO_ERROR): the peer refused the handshake.
func refusedInHandshake(err error) bool {
	var te *quic.TransportError
	return errors.As(err, &te) && te.ErrorCode.IsCryptoError()
}

// TestRelayHandshakeRefusesNonEdges: on the relay server name, an edge
// takes only a client certificate the cluster CA signed for an edge. A
// certificate of another CA, an origin's certificate, no certificate at
// all, and an edge certificate asking for another node's name are all
// refused in the TLS handshake, before any MoQ message; the cluster edge
// gets through. Viewers on the public name are not asked for anything.
func TestRelayHandshakeRefusesNonEdges(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	e := newEnv(t)
	a := e.newEdge(Config{NodeID: "a"}, Deps{})
	otherCA := newCA(t)
	edgeB := holder(t, e.ca, pki.Identity{Role: pki.RoleEdge, NodeID: "b"})
	cases := []struct {
		name string
		tc   *tls.Config
		ok   bool
	}{
		{"cluster edge", presenting(edgeB, PeerServerName("a")), true},
		{"viewer, public name", presenting(nil, "127.0.0.1"), true},
		{"edge of another CA", presenting(holder(t, otherCA, pki.Identity{Role: pki.RoleEdge, NodeID: "b"}), PeerServerName("a")), false},
		{"origin of this cluster", presenting(holder(t, e.ca, pki.Identity{Role: pki.RoleOrigin, NodeID: "o1"}), PeerServerName("a")), false},
		{"no client certificate", presenting(nil, PeerServerName("a")), false},
		{"cluster edge, another node's name", presenting(edgeB, PeerServerName("c")), false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s, err := moq.DialQUIC(ctx, a.addr, tc.tc, nil, moq.Config{})
			if tc.ok {
				if err != nil {
					t.Fatalf("refused: %v", err)
				}
				_ = s.Close()
				return
			}
			if err == nil {
				_ = s.Close()
				t.Fatal("handshake accepted")
			}
			if !refusedInHandshake(err) {
				t.Fatalf("got %v, want a TLS alert", err)
			}
		})
	}
}

// TestRelayTokenTakenOnlyFromClusterEdges: a relay token opens a
// broadcast to a verified cluster edge's connection, and to nothing else:
// on a viewer's connection (the public name) it is refused in SUBSCRIBE
// and, in CLIENT_SETUP, closes the session. A stolen relay token is
// useless to a viewer.
func TestRelayTokenTakenOnlyFromClusterEdges(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	e := newEnv(t)
	a := ingestEdge(ctx, t, e)
	relayTok := e.token(token.RoleRelay)

	peer := e.dialPeer(ctx, a, "b", moq.Config{})
	sub, err := e.subscribe(ctx, peer, relayTok)
	if err != nil {
		t.Fatalf("relay token from a cluster edge: %v", err)
	}
	_ = sub.Close()
	if got := a.peerIDs(); len(got) != 1 || got[0] != (pki.Identity{Role: pki.RoleEdge, NodeID: "b"}) {
		t.Fatalf("edge A's relay peers %v, want [edge/b]", got)
	}

	viewer := e.dial(ctx, a.addr, false, moq.Config{})
	_, err = e.subscribe(ctx, viewer, relayTok)
	var re *moq.RequestError
	if !errors.As(err, &re) || re.Code != wire.SubscribeErrUnauthorized {
		t.Fatalf("relay token on a viewer connection: got %v, want UNAUTHORIZED", err)
	}
	wt := e.dial(ctx, a.addr, true, moq.Config{})
	if _, err = e.subscribe(ctx, wt, relayTok); !errors.As(err, &re) || re.Code != wire.SubscribeErrUnauthorized {
		t.Fatalf("relay token over WebTransport: got %v, want UNAUTHORIZED", err)
	}

	// In CLIENT_SETUP: the session is closed during the handshake (the
	// dial fails) or right after it.
	s, err := moq.DialQUIC(ctx, a.addr, e.cliTLS, nil, moq.Config{AuthToken: relayTok})
	if err == nil {
		defer s.Close()
	}
	if err := refusedSession(t, s, err, wire.CodeUnauthorized); err != nil {
		t.Fatalf("relay token in a viewer's setup: %v", err)
	}
}

// fakeUpstream is a QUIC server that completes a handshake with tc and
// counts the connections that did.
type fakeUpstream struct {
	addr     string
	accepted chan struct{}
}

func newFakeUpstream(t *testing.T, tc *tls.Config) *fakeUpstream {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	tc = tc.Clone()
	tc.NextProtos = []string{wire.ALPNDraft14}
	ln, err := quic.Listen(pc, tc, &quic.Config{EnableDatagrams: true, EnableStreamResetPartialDelivery: true})
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeUpstream{addr: pc.LocalAddr().String(), accepted: make(chan struct{}, 16)}
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			c, err := ln.Accept(context.Background())
			if err != nil {
				return
			}
			f.accepted <- struct{}{}
			_ = c.CloseWithError(0, "")
		}
	}()
	t.Cleanup(func() {
		_ = ln.Close()
		<-done
		_ = pc.Close()
	})
	return f
}

// TestRelayRefusesUnverifiedUpstream: the relaying edge accepts the
// upstream only if the cluster CA signed its certificate for the edge the
// Locator named. Another edge at that address, an origin, a certificate
// of another CA and a public certificate all fail its handshake, so the
// server never completes one and never sees the relay token.
func TestRelayRefusesUnverifiedUpstream(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	e := newEnv(t)
	edgeRole := pki.RolesOf(pki.RoleEdge)
	cases := []struct {
		name   string
		server *tls.Config
	}{
		{"another cluster edge", holder(t, e.ca, pki.Identity{Role: pki.RoleEdge, NodeID: "c"}).ServerConfig(edgeRole)},
		{"origin of this cluster", holder(t, e.ca, pki.Identity{Role: pki.RoleOrigin, NodeID: "a"}).ServerConfig(edgeRole)},
		{"edge of another CA", holder(t, newCA(t), pki.Identity{Role: pki.RoleEdge, NodeID: "a"}).ServerConfig(nil)},
		{"public certificate", e.srvTLS},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			up := newFakeUpstream(t, tc.server)
			b := e.newEdge(Config{NodeID: "b"}, Deps{Locator: e.locator(Source{Addr: up.addr, NodeID: "a"})})
			_, err := b.Hub().Subscribe(ctx, e.ns(), "video")
			if err == nil {
				t.Fatal("relayed from an unverified upstream")
			}
			if !errors.Is(err, pki.ErrUntrusted) && !errors.Is(err, pki.ErrWrongRole) && !errors.Is(err, ErrWrongPeer) {
				t.Fatalf("got %v, want the upstream's certificate refused", err)
			}
			// The client refused before its Finished: the server cannot
			// have completed a handshake, now or later.
			select {
			case <-up.accepted:
				t.Fatal("the upstream completed a handshake")
			default:
			}
		})
	}
}

// TestRelayWithoutIdentity: an edge without a cluster certificate does
// not relay (a clear error, no unverified fallback) and takes no relay
// connections; its own broadcasts still reach viewers.
func TestRelayWithoutIdentity(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	e := newEnv(t)
	a := e.newEdge(Config{NodeID: "a"}, Deps{})
	b := e.startEdge(Config{NodeID: "b"}, Deps{Locator: e.locator(a.source())})
	if _, err := b.Hub().Subscribe(ctx, e.ns(), "video"); !errors.Is(err, ErrNoIdentity) {
		t.Fatalf("relaying without a certificate: got %v, want ErrNoIdentity", err)
	}
	edgeA := holder(t, e.ca, pki.Identity{Role: pki.RoleEdge, NodeID: "a"})
	_, err := moq.DialQUIC(ctx, b.addr, presenting(edgeA, PeerServerName("b")), nil, moq.Config{})
	if !refusedInHandshake(err) {
		t.Fatalf("relay connection to an edge without a certificate: got %v, want a TLS alert", err)
	}
	c := e.startEdge(Config{NodeID: "c", IngestTracks: []string{"video"}}, Deps{})
	p := e.publish(ctx, c.addr, false)
	v := e.watch(ctx, e.dial(ctx, c.addr, false, moq.Config{}), nil)
	p.appendGroup(t, 0, 3, 100)
	poll.For(t, 10*time.Second, 5*time.Millisecond, func() error {
		if v.complete(0, 3) {
			return nil
		}
		return errors.New("waiting for a local viewer")
	})
}
