package authz

import (
	"context"
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/strata-edge/strata/internal/token"
	"github.com/strata-edge/strata/transport/media"
)

var (
	t0 = time.Unix(1_800_000_000, 0)
	ns = media.Namespace{Tenant: "t1", Session: "s1"}
)

// signer is one signing key, the way an origin holds it.
type signer struct {
	kid  string
	pub  ed25519.PublicKey
	priv ed25519.PrivateKey
}

func newSigner(t *testing.T, kid string, seed byte) signer {
	t.Helper()
	s := make([]byte, ed25519.SeedSize)
	for i := range s {
		s[i] = seed
	}
	priv := ed25519.NewKeyFromSeed(s)
	return signer{kid: kid, pub: priv.Public().(ed25519.PublicKey), priv: priv}
}

// sign makes a token for ns with role, valid for five minutes from t0,
// changed by mod.
func (s signer) sign(t *testing.T, role token.Role, mod ...func(*token.Claims)) string {
	t.Helper()
	c := token.Claims{Issuer: "origin-1", Tenant: ns.Tenant, Session: ns.Session, Role: role,
		IssuedAt: t0, ExpiresAt: t0.Add(5 * time.Minute)}
	if role == token.RoleRelay {
		c.Tenant, c.Session = "", ""
	}
	for _, f := range mod {
		f(&c)
	}
	tok, err := token.Sign(s.priv, s.kid, c)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func jwks(t *testing.T, signers ...signer) []byte {
	t.Helper()
	var set token.JWKS
	for _, s := range signers {
		set.Keys = append(set.Keys, token.PublicJWK(s.kid, s.pub))
	}
	doc, err := json.Marshal(set)
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

func bound(node string) func(*token.Claims) { return func(c *token.Claims) { c.Node = node } }

func newAuthorizer(t *testing.T, v Verifier, now time.Time) *Authorizer {
	t.Helper()
	a, err := New(Config{Keys: v, NodeID: "edge-1", Now: func() time.Time { return now }})
	if err != nil {
		t.Fatal(err)
	}
	return a
}

func TestAuthorize(t *testing.T) {
	k1, other := newSigner(t, "k1", 1), newSigner(t, "k1", 2)
	ks, err := token.ParseJWKS(jwks(t, k1))
	if err != nil {
		t.Fatal(err)
	}
	a := newAuthorizer(t, ks, t0.Add(time.Minute))
	cases := []struct {
		name  string
		tok   string
		roles []token.Role
		want  error // nil: granted
	}{
		{"viewer views", k1.sign(t, token.RoleViewer), []token.Role{token.RoleViewer}, nil},
		{"bound to this node", k1.sign(t, token.RoleViewer, bound("edge-1")), []token.Role{token.RoleViewer}, nil},
		{"controller views", k1.sign(t, token.RoleController), []token.Role{token.RoleViewer}, nil},
		{"relay views any session", k1.sign(t, token.RoleRelay), []token.Role{token.RoleViewer}, nil},
		{"publisher publishes", k1.sign(t, token.RolePublisher), []token.Role{token.RolePublisher}, nil},
		{"relay sends input", k1.sign(t, token.RoleRelay), []token.Role{token.RoleController, token.RoleRelay}, nil},
		{"controller sends input", k1.sign(t, token.RoleController), []token.Role{token.RoleController, token.RoleRelay}, nil},
		{"viewer sends no input", k1.sign(t, token.RoleViewer), []token.Role{token.RoleController, token.RoleRelay}, ErrUnauthorized},
		{"bound to another node", k1.sign(t, token.RoleViewer, bound("edge-2")), []token.Role{token.RoleViewer}, ErrUnauthorized},
		{"other session", k1.sign(t, token.RoleViewer, func(c *token.Claims) { c.Session = "s2" }), []token.Role{token.RoleViewer}, ErrUnauthorized},
		{"other tenant", k1.sign(t, token.RoleViewer, func(c *token.Claims) { c.Tenant = "t2" }), []token.Role{token.RoleViewer}, ErrUnauthorized},
		{"viewer cannot publish", k1.sign(t, token.RoleViewer), []token.Role{token.RolePublisher}, ErrUnauthorized},
		{"publisher cannot view", k1.sign(t, token.RolePublisher), []token.Role{token.RoleViewer}, ErrUnauthorized},
		{"expired", k1.sign(t, token.RoleViewer, func(c *token.Claims) { c.ExpiresAt = t0.Add(-time.Hour); c.IssuedAt = t0.Add(-2 * time.Hour) }), []token.Role{token.RoleViewer}, token.ErrExpired},
		{"bad signature", other.sign(t, token.RoleViewer), []token.Role{token.RoleViewer}, token.ErrBadSignature},
		{"unknown kid", newSigner(t, "k9", 9).sign(t, token.RoleViewer), []token.Role{token.RoleViewer}, token.ErrUnknownKey},
		{"empty", "", []token.Role{token.RoleViewer}, token.ErrMalformed},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := a.Authorize(tc.tok, ns, tc.roles...)
			if tc.want == nil {
				if err != nil {
					t.Fatalf("Authorize: %v", err)
				}
				if c.Role == "" {
					t.Fatalf("granted with empty claims %+v", c)
				}
				return
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
}

func TestClaimsChecksOnlyTheNode(t *testing.T) {
	k1 := newSigner(t, "k1", 1)
	ks, _ := token.ParseJWKS(jwks(t, k1))
	a := newAuthorizer(t, ks, t0)
	if _, err := a.Claims(k1.sign(t, token.RolePublisher, func(c *token.Claims) { c.Session = "elsewhere" })); err != nil {
		t.Fatalf("a token for any session passes Claims: %v", err)
	}
	if _, err := a.Claims(k1.sign(t, token.RoleViewer, bound("edge-2"))); !errors.Is(err, ErrUnauthorized) {
		t.Fatalf("bound to another node: got %v", err)
	}
}

func TestBoundElsewhere(t *testing.T) {
	k1 := newSigner(t, "k1", 1)
	ks, _ := token.ParseJWKS(jwks(t, k1))
	a := newAuthorizer(t, ks, t0)
	cases := []struct {
		name string
		tok  string
		node string // "" means no redirect
	}{
		{"bound to another node", k1.sign(t, token.RoleViewer, bound("edge-2")), "edge-2"},
		{"bound here", k1.sign(t, token.RoleViewer, bound("edge-1")), ""},
		{"unbound", k1.sign(t, token.RoleViewer), ""},
		{"other session", k1.sign(t, token.RoleViewer, bound("edge-2"), func(c *token.Claims) { c.Session = "s2" }), ""},
		{"relay token", k1.sign(t, token.RoleRelay, bound("edge-2")), ""},
		{"bad signature", newSigner(t, "k1", 2).sign(t, token.RoleViewer, bound("edge-2")), ""},
		{"garbage", "x.y.z", ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			node, ok := a.BoundElsewhere(tc.tok, ns)
			if node != tc.node || ok != (tc.node != "") {
				t.Fatalf("BoundElsewhere = %q, %v; want %q", node, ok, tc.node)
			}
		})
	}
}

// fakeSource is the origins' key endpoint: doc answers each call.
type fakeSource struct {
	mu    sync.Mutex
	doc   []byte
	err   error
	calls int
	seen  chan struct{} // if set, receives after each call
}

func (f *fakeSource) TokenKeys(context.Context) ([]byte, error) {
	f.mu.Lock()
	f.calls++
	doc, err := f.doc, f.err
	f.mu.Unlock()
	if f.seen != nil {
		f.seen <- struct{}{}
	}
	return doc, err
}

func (f *fakeSource) set(doc []byte, err error) {
	f.mu.Lock()
	f.doc, f.err = doc, err
	f.mu.Unlock()
}

func (f *fakeSource) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls
}

// clock is a settable time for the refresh bound.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func newKeys(t *testing.T, src KeySource, clk *clock) *Keys {
	t.Helper()
	k, err := NewKeys(KeysConfig{MinInterval: time.Second}, KeysDeps{Source: src, Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = k.Close(context.Background()) })
	return k
}

func TestKeysRefreshOnUnknownKid(t *testing.T) {
	k1, k2, k3 := newSigner(t, "k1", 1), newSigner(t, "k2", 2), newSigner(t, "k3", 3)
	src := &fakeSource{doc: jwks(t, k1)}
	clk := &clock{now: t0}
	keys := newKeys(t, src, clk)
	a := newAuthorizer(t, keys, t0)

	// The first token fetches the keys: none were read yet.
	if _, err := a.Authorize(k1.sign(t, token.RoleViewer), ns, token.RoleViewer); err != nil {
		t.Fatalf("first token: %v", err)
	}
	if n := src.count(); n != 1 {
		t.Fatalf("%d fetches after the first token, want 1", n)
	}
	// Known keys verify offline.
	if _, err := a.Authorize(k1.sign(t, token.RoleViewer), ns, token.RoleViewer); err != nil || src.count() != 1 {
		t.Fatalf("known key: err %v, %d fetches", err, src.count())
	}

	// The origins rotate to k2: a k2 token triggers a refresh and passes.
	src.set(jwks(t, k1, k2), nil)
	clk.add(2 * time.Second)
	if _, err := a.Authorize(k2.sign(t, token.RoleViewer), ns, token.RoleViewer); err != nil {
		t.Fatalf("rotated key: %v", err)
	}
	if n := src.count(); n != 2 {
		t.Fatalf("%d fetches after rotation, want 2", n)
	}

	// Within MinInterval an unknown kid does not reach the origins.
	src.set(jwks(t, k1, k2, k3), nil)
	clk.add(time.Second / 2)
	if _, err := a.Authorize(k3.sign(t, token.RoleViewer), ns, token.RoleViewer); !errors.Is(err, token.ErrUnknownKey) {
		t.Fatalf("unknown kid within the bound: got %v", err)
	}
	if n := src.count(); n != 2 {
		t.Fatalf("%d fetches within the bound, want 2", n)
	}
	// After it, the same token refreshes and passes.
	clk.add(time.Second)
	if _, err := a.Authorize(k3.sign(t, token.RoleViewer), ns, token.RoleViewer); err != nil {
		t.Fatalf("after the bound: %v", err)
	}
	if n := src.count(); n != 3 {
		t.Fatalf("%d fetches after the bound, want 3", n)
	}
}

func TestKeysOriginError(t *testing.T) {
	k1 := newSigner(t, "k1", 1)
	src := &fakeSource{err: errors.New("origins down")}
	clk := &clock{now: t0}
	keys := newKeys(t, src, clk)
	if _, err := keys.Verify(k1.sign(t, token.RoleViewer), t0); !errors.Is(err, token.ErrUnknownKey) {
		t.Fatalf("no keys yet: got %v", err)
	}
	// Keys already read survive a failed refresh.
	src.set(jwks(t, k1), nil)
	clk.add(2 * time.Second)
	if _, err := keys.Verify(k1.sign(t, token.RoleViewer), t0); err != nil {
		t.Fatal(err)
	}
	src.set(nil, errors.New("origins down again"))
	clk.add(2 * time.Second)
	if _, err := keys.Verify(newSigner(t, "k9", 9).sign(t, token.RoleViewer), t0); !errors.Is(err, token.ErrUnknownKey) {
		t.Fatalf("unknown kid with origins down: got %v", err)
	}
	if _, err := keys.Verify(k1.sign(t, token.RoleViewer), t0); err != nil {
		t.Fatalf("known key after a failed refresh: %v", err)
	}
	// A broken document does not replace the keys either.
	src.set([]byte(`{"keys":[{"kty":"OKP","crv":"Ed25519","kid":"k1","x":"AAAA"}]}`), nil)
	clk.add(2 * time.Second)
	if err := keys.fetch(false); !errors.Is(err, token.ErrBadKeySet) {
		t.Fatalf("broken JWKS: got %v", err)
	}
	if _, err := keys.Verify(k1.sign(t, token.RoleViewer), t0); err != nil {
		t.Fatalf("known key after a broken document: %v", err)
	}
}

func TestKeysStartReadsAtOnce(t *testing.T) {
	k1 := newSigner(t, "k1", 1)
	src := &fakeSource{doc: jwks(t, k1), seen: make(chan struct{}, 1)}
	k, err := NewKeys(KeysConfig{Refresh: time.Hour}, KeysDeps{Source: src})
	if err != nil {
		t.Fatal(err)
	}
	ctx, stop := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- k.Run(ctx) }()
	select {
	case <-src.seen:
	case <-time.After(10 * time.Second):
		t.Fatal("Run did not read the keys")
	}
	stop()
	if err := <-ran; err != nil {
		t.Fatalf("Run: %v", err)
	}
	_ = k.Close(context.Background())
	if k.set.Load() == nil {
		t.Fatal("keys read by Run were not kept")
	}
	// Verify reads the stored set without another fetch.
	if _, err := k.Verify(k1.sign(t, token.RoleViewer), t0); err != nil || src.count() != 1 {
		t.Fatalf("Verify after Run: %v, %d fetches", err, src.count())
	}
}

func TestNewRejects(t *testing.T) {
	if _, err := New(Config{}); !errors.Is(err, ErrBadConfig) {
		t.Fatalf("New without keys: %v", err)
	}
	if _, err := NewKeys(KeysConfig{}, KeysDeps{}); !errors.Is(err, ErrBadConfig) {
		t.Fatalf("NewKeys without a source: %v", err)
	}
}
