package relay

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/strata-edge/strata/internal/pki"
	"github.com/strata-edge/strata/internal/testcluster/moqtest"
	"github.com/strata-edge/strata/internal/token"
	"github.com/strata-edge/strata/transport/media"
	"github.com/strata-edge/strata/transport/moq"
	"github.com/strata-edge/strata/transport/moq/wire"
)

// env is one test's key material and TLS: srvTLS and cliTLS are the
// public side viewers and publishers use, ca the cluster CA that signs
// the edges' certificates for relaying.
type env struct {
	t       *testing.T
	priv    ed25519.PrivateKey
	keys    *token.KeySet
	srvTLS  *tls.Config
	cliTLS  *tls.Config
	ca      *pki.CA
	tenant  string
	session string
}

func newEnv(t *testing.T) *env {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	ks, err := token.NewKeySet(map[string]ed25519.PublicKey{"k1": pub})
	if err != nil {
		t.Fatal(err)
	}
	srv, cli := testTLS(t)
	return &env{t: t, priv: priv, keys: ks, srvTLS: srv, cliTLS: cli, ca: newCA(t), tenant: "t1", session: "s1"}
}

func newCA(t *testing.T) *pki.CA {
	t.Helper()
	ca, err := pki.NewCA("test", time.Now())
	if err != nil {
		t.Fatal(err)
	}
	return ca
}

// holder issues ca's certificate for id.
func holder(t *testing.T, ca *pki.CA, id pki.Identity) *pki.Holder {
	t.Helper()
	certPEM, keyPEM, err := pki.IssueLocal(ca, id, nil, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	h, err := pki.NewHolder(ca.Cert, certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func (e *env) ns() media.Namespace { return media.Namespace{Tenant: e.tenant, Session: e.session} }

func (e *env) token(role token.Role, mod ...func(*token.Claims)) []byte {
	now := time.Now()
	c := token.Claims{Issuer: "test", Tenant: e.tenant, Session: e.session, Role: role,
		IssuedAt: now, ExpiresAt: now.Add(time.Minute)}
	if role == token.RoleRelay {
		c.Tenant, c.Session = "", ""
	}
	for _, f := range mod {
		f(&c)
	}
	tok, err := token.Sign(e.priv, "k1", c)
	if err != nil {
		e.t.Fatal(err)
	}
	return []byte(tok)
}

func testTLS(t *testing.T) (server, client *tls.Config) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "relay-test"},
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

// edge is a relay under test with its own metrics registry.
type edge struct {
	*Relay
	id   string // node ID
	addr string
	reg  *prometheus.Registry
}

// newEdge starts a relay holding the env's cluster certificate for
// cfg.NodeID.
func (e *env) newEdge(cfg Config, deps Deps) *edge {
	e.t.Helper()
	deps.Identity = holder(e.t, e.ca, pki.Identity{Role: pki.RoleEdge, NodeID: cfg.NodeID})
	return e.startEdge(cfg, deps)
}

// startEdge starts a relay with deps as given (no identity unless set).
func (e *env) startEdge(cfg Config, deps Deps) *edge {
	e.t.Helper()
	reg := prometheus.NewRegistry()
	deps.Keys, deps.Registerer = e.keys, reg
	if deps.RelayToken == nil {
		deps.RelayToken = func() ([]byte, error) { return e.token(token.RoleRelay), nil }
	}
	r, err := New(cfg, deps)
	if err != nil {
		e.t.Fatal(err)
	}
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		e.t.Fatal(err)
	}
	if err := r.Listen(pc, e.srvTLS, nil); err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() {
		_ = r.Close(context.Background())
		_ = pc.Close()
	})
	return &edge{Relay: r, id: cfg.NodeID, addr: pc.LocalAddr().String(), reg: reg}
}

// value reads a gauge or counter, or a histogram's sample count.
func value(c prometheus.Metric) float64 {
	var m dto.Metric
	if err := c.Write(&m); err != nil {
		return -1
	}
	switch {
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	case m.Counter != nil:
		return m.Counter.GetValue()
	case m.Histogram != nil:
		return float64(m.Histogram.GetSampleCount())
	}
	return -1
}

// dial connects to an edge over raw QUIC or WebTransport.
func (e *env) dial(ctx context.Context, addr string, wt bool, cfg moq.Config) *moq.Session {
	e.t.Helper()
	var s *moq.Session
	var err error
	if wt {
		s, err = moq.DialWebTransport(ctx, "https://"+addr+moq.WebTransportPath, e.cliTLS, nil, cfg)
	} else {
		s, err = moq.DialQUIC(ctx, addr, e.cliTLS, nil, cfg)
	}
	if err != nil {
		e.t.Fatalf("dial %s: %v", addr, err)
	}
	e.t.Cleanup(func() { _ = s.Close() })
	return s
}

// peerTLS is the client side of a relay connection to edge a from the
// cluster edge named as, as dialTLS makes it.
func (e *env) peerTLS(a *edge, as string) *tls.Config {
	e.t.Helper()
	r := &Relay{opts: options{Deps: Deps{Identity: holder(e.t, e.ca, pki.Identity{Role: pki.RoleEdge, NodeID: as})}}}
	tc, err := r.dialTLS(a.source())
	if err != nil {
		e.t.Fatal(err)
	}
	return tc
}

// dialPeer connects to edge a as the cluster edge named as would relay
// from it: mutual TLS with the env's cluster certificates.
func (e *env) dialPeer(ctx context.Context, a *edge, as string, cfg moq.Config) *moq.Session {
	e.t.Helper()
	s, err := moq.DialQUIC(ctx, a.addr, e.peerTLS(a, as), nil, cfg)
	if err != nil {
		e.t.Fatalf("dial %s as edge %s: %v", a.addr, as, err)
	}
	e.t.Cleanup(func() { _ = s.Close() })
	return s
}

// testPublisher announces the env's namespace on an edge and serves the
// "video" track from a local media.Track the test appends to.
type testPublisher struct {
	track    *media.Track
	accepted chan struct{} // one value per accepted subscription
	wg       sync.WaitGroup
}

func (e *env) publish(ctx context.Context, addr string, wt bool) *testPublisher {
	e.t.Helper()
	return e.publishWith(ctx, addr, wt, moq.Config{})
}

// publishWith is publish with the publisher's session configuration.
func (e *env) publishWith(ctx context.Context, addr string, wt bool, cfg moq.Config) *testPublisher {
	e.t.Helper()
	s := e.dial(ctx, addr, wt, cfg)
	tr, err := media.NewTrack(media.TrackInfo{Name: "video", Kind: media.KindVideo}, media.TrackOptions{MaxGroups: 64})
	if err != nil {
		e.t.Fatal(err)
	}
	p := &testPublisher{track: tr, accepted: make(chan struct{}, 16)}
	tp, _ := moq.TokenParam(e.token(token.RolePublisher))
	if _, err := s.PublishNamespace(ctx, e.ns().Tuple(), wire.Parameters{tp}); err != nil {
		e.t.Fatalf("publish namespace: %v", err)
	}
	p.wg.Go(func() { moqtest.ServeTrack(s, tr, &p.wg, moqtest.ServeOptions{Extensions: true, Accepted: p.accepted}) })
	e.t.Cleanup(func() {
		tr.Close()
		_ = s.Close()
		p.wg.Wait()
	})
	return p
}

// appendGroup appends one keyframe group of n objects with a LOC
// wall-clock timestamp; object payloads encode (group, object).
func (p *testPublisher) appendGroup(t *testing.T, g, n, size int) {
	t.Helper()
	for i := range n {
		ext, _ := wire.AppendExtensions(nil, wire.Extensions{wire.IntPair(locTimestamp, uint64(time.Now().UnixMicro()))})
		payload := make([]byte, max(size, 16))
		copy(payload, fmt.Sprintf("g%06do%06d", g, i))
		if err := p.track.Append(media.Object{Keyframe: i == 0, Payload: payload, Extensions: ext}); err != nil {
			t.Fatal(err)
		}
	}
}

// viewer is one subscription with what it received.
type viewer struct {
	sub *moq.Subscription

	mu     sync.Mutex
	groups map[uint64][]uint64 // group -> object IDs in arrival order
	first  *wire.Location
	err    error
	done   chan struct{}
}

func (e *env) subscribe(ctx context.Context, s *moq.Session, tok []byte) (*moq.Subscription, error) {
	req := wire.Subscribe{Namespace: e.ns().Tuple(), TrackName: "video", Forward: true,
		GroupOrder: wire.GroupOrderAscending, Filter: wire.Filter{Type: wire.FilterLargestObject}}
	if tok != nil {
		tp, _ := moq.TokenParam(tok)
		req.Params = wire.Parameters{tp}
	}
	return s.Subscribe(ctx, req)
}

// watch subscribes and records objects until ctx ends; gate, if not nil,
// holds reading back until it is closed (a stalled subscriber).
func (e *env) watch(ctx context.Context, s *moq.Session, gate <-chan struct{}) *viewer {
	e.t.Helper()
	sub, err := e.subscribe(ctx, s, e.token(token.RoleViewer))
	if err != nil {
		e.t.Fatalf("subscribe: %v", err)
	}
	v := &viewer{sub: sub, groups: map[uint64][]uint64{}, done: make(chan struct{})}
	go func() {
		defer close(v.done)
		if gate != nil {
			select {
			case <-gate:
			case <-ctx.Done():
				return
			}
		}
		for {
			o, err := sub.ReadObject(ctx)
			if err != nil {
				if !errors.Is(err, context.Canceled) && !errors.Is(err, context.DeadlineExceeded) && !errors.Is(err, io.EOF) {
					v.mu.Lock()
					v.err = err
					v.mu.Unlock()
				}
				return
			}
			if o.Status != wire.StatusNormal {
				continue // end-of-group markers
			}
			v.mu.Lock()
			if v.first == nil {
				v.first = &wire.Location{Group: o.GroupID, Object: o.ID}
			}
			v.groups[o.GroupID] = append(v.groups[o.GroupID], o.ID)
			v.mu.Unlock()
		}
	}()
	return v
}

// complete reports whether the viewer has objects 0..n-1 of group g.
func (v *viewer) complete(g uint64, n int) bool {
	v.mu.Lock()
	defer v.mu.Unlock()
	return len(v.groups[g]) >= n
}

// check verifies groups [from, to] arrived whole and in order.
func (v *viewer) check(from, to uint64, n int) error {
	v.mu.Lock()
	defer v.mu.Unlock()
	for g := from; g <= to; g++ {
		ids := v.groups[g]
		if len(ids) != n {
			return fmt.Errorf("group %d: %d objects, want %d", g, len(ids), n)
		}
		for i, id := range ids {
			if id != uint64(i) {
				return fmt.Errorf("group %d: object %d has id %d", g, i, id)
			}
		}
	}
	return nil
}

// locator names src as the ingest edge of the env's namespace.
func (e *env) locator(src Source) Locator {
	return func(_ context.Context, ns media.Namespace) (Source, error) {
		if ns == e.ns() {
			return src, nil
		}
		return Source{}, media.ErrNotFound
	}
}

// peerIDs lists the cluster edges with relay sessions open on a.
func (a *edge) peerIDs() []pki.Identity {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []pki.Identity
	for _, id := range a.peers {
		out = append(out, id)
	}
	return out
}

// source is a as the Locator names it.
func (a *edge) source() Source { return Source{Addr: a.addr, NodeID: a.id} }
