package moq

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"math/big"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/quic-go/quic-go"

	"github.com/strata-edge/strata/transport/moq/wire"
)

// testTLS makes a throwaway self-signed certificate for 127.0.0.1 and a
// client config that trusts only it.
func testTLS(t *testing.T) (server, client *tls.Config) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "moq-test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}},
		&tls.Config{RootCAs: pool, ServerName: "127.0.0.1"}
}

func newListener(t *testing.T, cfg Config) (*Listener, *tls.Config) {
	t.Helper()
	srvTLS, cliTLS := testTLS(t)
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l, err := Listen(pc, srvTLS, nil, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = l.Close()
		_ = pc.Close()
	})
	return l, cliTLS
}

type dialer func(ctx context.Context, addr string, tc *tls.Config, cfg Config) (*Session, error)

// testVersions are the versions the session tests run against.
var testVersions = []wire.Version{wire.Draft14, wire.Draft16, wire.Draft18}

// transports dials each transport with each test version: a dial whose
// Config names no versions offers only the case's one.
var transports = func() []struct {
	name string
	dial dialer
} {
	var out []struct {
		name string
		dial dialer
	}
	for _, v := range testVersions {
		pin := func(cfg Config) Config {
			if len(cfg.Versions) == 0 {
				cfg.Versions = []wire.Version{v}
			}
			return cfg
		}
		out = append(out, struct {
			name string
			dial dialer
		}{v.String() + "/quic", func(ctx context.Context, addr string, tc *tls.Config, cfg Config) (*Session, error) {
			return DialQUIC(ctx, addr, tc, nil, pin(cfg))
		}}, struct {
			name string
			dial dialer
		}{v.String() + "/webtransport", func(ctx context.Context, addr string, tc *tls.Config, cfg Config) (*Session, error) {
			return DialWebTransport(ctx, "https://"+addr+WebTransportPath, tc, nil, pin(cfg))
		}})
	}
	return out
}()

// quicPair dials a raw QUIC session offering only v to a new listener
// configured with srvCfg, and returns both ends; they close when the
// test ends.
func quicPair(ctx context.Context, t *testing.T, srvCfg Config, v wire.Version) (cli, srv *Session) {
	t.Helper()
	l, cliTLS := newListener(t, srvCfg)
	cli, err := DialQUIC(ctx, l.Addr().String(), cliTLS, nil, Config{Versions: []wire.Version{v}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cli.Close() })
	if srv, err = l.Accept(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	return cli, srv
}

// forVersions runs f once per test version, as a subtest.
func forVersions(t *testing.T, f func(t *testing.T, v wire.Version)) {
	for _, v := range testVersions {
		t.Run(v.String(), func(t *testing.T) { f(t, v) })
	}
}

func TestSubscribeAndReceive(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) { testSubscribeAndReceive(t, tr.dial, tr.name) })
	}
}

func testSubscribeAndReceive(t *testing.T, dial dialer, name string) {
	var v wire.Version
	for _, tv := range testVersions {
		if strings.HasPrefix(name, tv.String()+"/") {
			v = tv
		}
	}
	{
		{
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			l, cliTLS := newListener(t, Config{})
			cli, err := dial(ctx, l.Addr().String(), cliTLS, Config{Path: "/live?tenant=1"})
			if err != nil {
				t.Fatalf("dial: %v", err)
			}
			defer cli.Close()
			srv, err := l.Accept(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer srv.Close()
			if cli.Version() != v || srv.Version() != v {
				t.Fatalf("versions %v %v", cli.Version(), srv.Version())
			}
			wantPath := "/live?tenant=1"
			if strings.HasSuffix(name, "webtransport") {
				wantPath = "" // PATH is forbidden over WebTransport
			}
			if srv.Path() != wantPath {
				t.Fatalf("path %q, want %q", srv.Path(), wantPath)
			}

			payloads := [][]byte{[]byte("keyframe"), []byte("delta-1"), []byte("delta-2")}
			pubErr := make(chan error, 1)
			go func() { pubErr <- publish(ctx, srv, payloads) }()

			sub, err := cli.Subscribe(ctx, wire.Subscribe{
				Namespace: wire.Namespace{"strata", "s1"}, TrackName: "video",
				GroupOrder: wire.GroupOrderAscending, Forward: true,
				Filter: wire.Filter{Type: wire.FilterLargestObject},
			})
			if err != nil {
				t.Fatalf("subscribe: %v", err)
			}
			if !sub.OK().ContentExists || sub.OK().Largest != (wire.Location{Group: 4, Object: 9}) {
				t.Fatalf("subscribe ok %+v", sub.OK())
			}
			for i, want := range payloads {
				o, err := sub.ReadObject(ctx)
				if err != nil {
					t.Fatalf("object %d: %v", i, err)
				}
				if string(o.Payload) != string(want) || o.ID != uint64(i) || o.GroupID != 5 {
					t.Fatalf("object %d: %+v", i, o)
				}
			}
			if err := <-pubErr; err != nil {
				t.Fatalf("publish: %v", err)
			}
			// The End of Group header bit surfaces as a marker object.
			if o, err := sub.ReadObject(ctx); err != nil || o.Status != wire.StatusEndOfGroup || o.GroupID != 5 || o.ID != 3 {
				t.Fatalf("end of group: %+v %v", o, err)
			}
			_, err = sub.ReadObject(ctx)
			var re *RequestError
			if !errors.Is(err, ErrSubscriptionDone) || !errors.As(err, &re) || re.Code != wire.PublishDoneTrackEnded {
				t.Fatalf("after done: %v", err)
			}
		}
	}
}

// publish answers one subscription and sends payloads on one subgroup.
func publish(ctx context.Context, s *Session, payloads [][]byte) error {
	in, err := s.AcceptSubscription(ctx)
	if err != nil {
		return err
	}
	if in.Request.TrackName != "video" || !in.Request.Namespace.Equal(wire.Namespace{"strata", "s1"}) {
		return fmt.Errorf("unexpected request %+v", in.Request)
	}
	pub, err := in.Accept(wire.GroupOrderAscending, &wire.Location{Group: 4, Object: 9})
	if err != nil {
		return err
	}
	g, err := pub.OpenSubgroup(ctx, wire.SubgroupHeader{GroupID: 5, IDMode: wire.SubgroupIDZero, EndOfGroup: true})
	if err != nil {
		return err
	}
	for i, p := range payloads {
		if err := g.WriteObject(&wire.Object{ID: uint64(i), Payload: p}); err != nil {
			return err
		}
	}
	if err := g.Close(); err != nil {
		return err
	}
	// PUBLISH_DONE may overtake the stream; the subscriber drains the
	// queue first, and the test reads every object before expecting it.
	return pub.Done(wire.PublishDoneTrackEnded, "end")
}

// TestRequestIDWindow drives more requests than the initial window so the
// server must slide it with MAX_REQUEST_ID, and checks rejections.
func TestRequestIDWindow(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	// MAX_REQUEST_ID exists up to draft 16 only.
	cli, srv := quicPair(ctx, t, Config{MaxRequestID: 2}, wire.Draft14)
	go func() {
		for {
			in, err := srv.AcceptSubscription(ctx)
			if err != nil {
				return
			}
			_ = in.Reject(wire.SubscribeErrTrackDoesNotExist, "nope")
		}
	}()
	for i := range 5 {
		_, err := cli.Subscribe(ctx, wire.Subscribe{Namespace: wire.Namespace{"a"}, TrackName: "x",
			Filter: wire.Filter{Type: wire.FilterNextGroupStart}})
		var re *RequestError
		if !errors.Is(err, ErrSubscribeRejected) || !errors.As(err, &re) || re.Code != wire.SubscribeErrTrackDoesNotExist {
			t.Fatalf("subscribe %d: %v", i, err)
		}
	}
	if cli.Err() != nil || srv.Err() != nil {
		t.Fatalf("sessions ended: %v %v", cli.Err(), srv.Err())
	}
}

func TestVersionNegotiationFails(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	l, cliTLS := newListener(t, Config{})
	// Draft 13 negotiates in CLIENT_SETUP (ALPN moq-00), where the
	// server finds nothing in common.
	_, err := DialQUIC(ctx, l.Addr().String(), cliTLS, nil, Config{Versions: []wire.Version{0xff00000d}})
	var ae *quic.ApplicationError
	if !errors.As(err, &ae) || ae.ErrorCode != quic.ApplicationErrorCode(wire.CodeVersionNegotiationFail) {
		t.Fatalf("got %v, want VERSION_NEGOTIATION_FAILED", err)
	}
}

func TestCloseEndsSubscriber(t *testing.T) { forVersions(t, testCloseEndsSubscriber) }

func testCloseEndsSubscriber(t *testing.T, v wire.Version) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cli, srv := quicPair(ctx, t, Config{}, v)
	go func() {
		in, err := srv.AcceptSubscription(ctx)
		if err == nil {
			_, _ = in.Accept(wire.GroupOrderAscending, nil)
		}
	}()
	sub, err := cli.Subscribe(ctx, wire.Subscribe{Namespace: wire.Namespace{"a"}, TrackName: "x",
		Filter: wire.Filter{Type: wire.FilterLargestObject}})
	if err != nil {
		t.Fatal(err)
	}
	_ = srv.CloseWithError(wire.CodeGoawayTimeout, "bye")
	if _, err := sub.ReadObject(ctx); !errors.Is(err, ErrSessionClosed) {
		t.Fatalf("got %v", err)
	}
	_ = cli.Close()
}
