package moq

import (
	"context"
	"crypto/tls"
	"testing"
	"time"

	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"
	"github.com/quic-go/webtransport-go"

	"github.com/strata-edge/strata/transport/moq/wire"
)

// TestNegotiation checks the version each kind of client ends up with:
// one offering a single version gets it, one offering all gets the
// newest, and one that predates ALPN negotiation (moq-00 only, or
// WebTransport without WT-Available-Protocols) gets draft 14 via SETUP.
func TestNegotiation(t *testing.T) {
	cases := []struct {
		name   string
		offer  []wire.Version
		legacy bool // dial the way a draft-14-only client does
		want   wire.Version
	}{
		{name: "only-14", offer: []wire.Version{wire.Draft14}, want: wire.Draft14},
		{name: "only-16", offer: []wire.Version{wire.Draft16}, want: wire.Draft16},
		{name: "only-18", offer: []wire.Version{wire.Draft18}, want: wire.Draft18},
		{name: "14-and-16", offer: []wire.Version{wire.Draft14, wire.Draft16}, want: wire.Draft16},
		{name: "all", want: wire.Draft18},
		{name: "all-oldest-first", offer: []wire.Version{wire.Draft14, wire.Draft16, wire.Draft18}, want: wire.Draft18},
		{name: "old-client", legacy: true, want: wire.Draft14},
	}
	// A server restricted to older drafts answers a newer client with the
	// newest it has.
	t.Run("quic/server-without-18", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		l, cliTLS := newListener(t, Config{Versions: []wire.Version{wire.Draft16, wire.Draft14}})
		for _, tr := range []string{"quic", "webtransport"} {
			cli, err := negotiateDial(ctx, tr, l.Addr().String(), cliTLS, nil, false)
			if err != nil {
				t.Fatalf("%s: dial: %v", tr, err)
			}
			srv, err := l.Accept(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if cli.Version() != wire.Draft16 || srv.Version() != wire.Draft16 {
				t.Fatalf("%s: client %v, server %v", tr, cli.Version(), srv.Version())
			}
			_ = cli.Close()
			_ = srv.Close()
		}
	})
	for _, tr := range []string{"quic", "webtransport"} {
		for _, c := range cases {
			t.Run(tr+"/"+c.name, func(t *testing.T) {
				ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
				defer cancel()
				l, cliTLS := newListener(t, Config{})
				cli, err := negotiateDial(ctx, tr, l.Addr().String(), cliTLS, c.offer, c.legacy)
				if err != nil {
					t.Fatalf("dial: %v", err)
				}
				defer cli.Close()
				srv, err := l.Accept(ctx)
				if err != nil {
					t.Fatal(err)
				}
				defer srv.Close()
				if cli.Version() != c.want || srv.Version() != c.want {
					t.Fatalf("client %v, server %v, want %v", cli.Version(), srv.Version(), c.want)
				}
			})
		}
	}
}

// negotiateDial dials with the given offer; legacy dials as a client
// that knows only moq-00 or plain WebTransport.
func negotiateDial(ctx context.Context, tr, addr string, tc *tls.Config, offer []wire.Version, legacy bool) (*Session, error) {
	cfg := Config{Versions: offer}
	if !legacy {
		if tr == "quic" {
			return DialQUIC(ctx, addr, tc, nil, cfg)
		}
		return DialWebTransport(ctx, "https://"+addr+WebTransportPath, tc, nil, cfg)
	}
	cfg.Versions = []wire.Version{wire.Draft14}
	if tr == "quic" {
		c := tc.Clone()
		c.NextProtos = []string{wire.ALPNDraft14}
		conn, err := quic.DialAddr(ctx, addr, c, quicConfig(nil))
		if err != nil {
			return nil, err
		}
		return Client(ctx, QUICConn(conn), cfg)
	}
	c := tc.Clone()
	c.NextProtos = []string{http3.NextProtoH3}
	wt := &webtransport.Transport{TLSClientConfig: c, QUICConfig: quicConfig(nil)}
	_, wts, err := wt.Dial(ctx, "https://"+addr+WebTransportPath, nil)
	if err != nil {
		_ = wt.Close()
		return nil, err
	}
	s, err := Client(ctx, WebTransportConn(wts), cfg)
	if err != nil {
		_ = wt.Close()
		return nil, err
	}
	s.closer = func() { _ = wt.Close() }
	return s, nil
}
