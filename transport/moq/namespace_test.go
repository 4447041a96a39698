package moq

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/strata-edge/strata/transport/moq/wire"
)

// TestPublishNamespaceAndIngest follows a relay's ingest flow: the
// publisher (client) announces a namespace with a token, the relay
// (server) accepts it, subscribes back to a track, and receives objects
// written with WriteRaw, extensions intact.
func TestPublishNamespaceAndIngest(t *testing.T) {
	for _, tr := range transports {
		t.Run(tr.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			l, cliTLS := newListener(t, Config{})
			pub, err := tr.dial(ctx, l.Addr().String(), cliTLS, Config{AuthToken: []byte("setup-token")})
			if err != nil {
				t.Fatal(err)
			}
			defer pub.Close()
			relay, err := l.Accept(ctx)
			if err != nil {
				t.Fatal(err)
			}
			defer relay.Close()
			if got := relay.SetupTokens(); len(got) != 1 || string(got[0]) != "setup-token" {
				t.Fatalf("setup tokens %q", got)
			}

			ns := wire.Namespace{"strata", "t", "s"}
			tp, err := TokenParam([]byte("ns-token"))
			if err != nil {
				t.Fatal(err)
			}
			type result struct {
				a   *Announcement
				err error
			}
			annc := make(chan result, 1)
			go func() {
				a, err := pub.PublishNamespace(ctx, ns, wire.Parameters{tp})
				annc <- result{a, err}
			}()
			in, err := relay.AcceptNamespace(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if !in.Request.Namespace.Equal(ns) || string(Tokens(in.Request.Params)[0]) != "ns-token" {
				t.Fatalf("request %+v", in.Request)
			}
			if err := in.Accept(); err != nil {
				t.Fatal(err)
			}
			r := <-annc
			if r.err != nil {
				t.Fatal(r.err)
			}

			ext, _ := wire.AppendExtensions(nil, wire.Extensions{wire.IntPair(0x10, 123456)})
			go func() {
				in, err := pub.AcceptSubscription(ctx)
				if err != nil {
					return
				}
				p, err := in.Accept(wire.GroupOrderAscending, nil)
				if err != nil {
					return
				}
				g, err := p.OpenSubgroup(ctx, wire.SubgroupHeader{GroupID: 7, Extensions: true})
				if err != nil {
					return
				}
				_ = g.WriteRaw(0, ext, []byte("key"))
				_ = g.WriteRaw(2, nil, []byte("delta"))
				_ = g.Close()
			}()
			sub, err := relay.Subscribe(ctx, wire.Subscribe{Namespace: ns, TrackName: "video",
				Forward: true, Filter: wire.Filter{Type: wire.FilterNextGroupStart}})
			if err != nil {
				t.Fatal(err)
			}
			o, err := sub.ReadObject(ctx)
			if err != nil || o.GroupID != 7 || o.ID != 0 || string(o.Payload) != "key" {
				t.Fatalf("object 0: %+v %v", o, err)
			}
			got, _ := wire.AppendExtensions(nil, o.Extensions)
			if !bytes.Equal(got, ext) {
				t.Fatalf("extensions %x, want %x", got, ext)
			}
			if o, err = sub.ReadObject(ctx); err != nil || o.ID != 2 || string(o.Payload) != "delta" {
				t.Fatalf("object 1: %+v %v", o, err)
			}

			if err := r.a.Close(); err != nil {
				t.Fatal(err)
			}
			select {
			case <-in.Done():
			case <-ctx.Done():
				t.Fatal("PUBLISH_NAMESPACE_DONE not seen")
			}
		})
	}
}

func TestPublishNamespaceRejected(t *testing.T) { forVersions(t, testPublishNamespaceRejected) }

func testPublishNamespaceRejected(t *testing.T, v wire.Version) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	pub, relay := quicPair(ctx, t, Config{}, v)
	go func() {
		if in, err := relay.AcceptNamespace(ctx); err == nil {
			_ = in.Reject(wire.NamespaceErrUnauthorized, "no")
		}
	}()
	_, err := pub.PublishNamespace(ctx, wire.Namespace{"x"}, nil)
	var re *RequestError
	if !errors.Is(err, ErrNamespaceRejected) || !errors.As(err, &re) || re.Code != wire.NamespaceErrUnauthorized {
		t.Fatalf("got %v", err)
	}
}
