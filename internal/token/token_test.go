package token

import (
	"crypto/ed25519"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

var t0 = time.Unix(1_800_000_000, 0)

// testKey is deterministic so fuzz seeds stay valid across runs.
func testKey(seed byte) (ed25519.PublicKey, ed25519.PrivateKey) {
	s := make([]byte, ed25519.SeedSize)
	for i := range s {
		s[i] = seed
	}
	priv := ed25519.NewKeyFromSeed(s)
	return priv.Public().(ed25519.PublicKey), priv
}

func viewerClaims() Claims {
	return Claims{Issuer: "origin-1", Tenant: "t1", Session: "s1", Role: RoleViewer,
		IssuedAt: t0, NotBefore: t0, ExpiresAt: t0.Add(5 * time.Minute)}
}

func mustSign(t testing.TB, priv ed25519.PrivateKey, kid string, c Claims) string {
	t.Helper()
	tok, err := Sign(priv, kid, c)
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func TestVerify(t *testing.T) {
	pubA, privA := testKey(1)
	_, privB := testKey(2)
	ks, err := NewKeySet(map[string]ed25519.PublicKey{"a": pubA})
	if err != nil {
		t.Fatal(err)
	}
	good := mustSign(t, privA, "a", viewerClaims())
	parts := strings.Split(good, ".")
	tampered := viewerClaims()
	tampered.Session = "s2"
	tamperedPayload, _ := json.Marshal(tampered.toWire())
	noneHeader := b64.EncodeToString([]byte(`{"alg":"none","kid":"a"}`))

	cases := []struct {
		name string
		tok  string
		now  time.Time
		want error
	}{
		{"valid", good, t0.Add(time.Minute), nil},
		{"within leeway before nbf", good, t0.Add(-Leeway / 2), nil},
		{"expired", good, t0.Add(6 * time.Minute), ErrExpired},
		{"not yet valid", good, t0.Add(-time.Hour), ErrNotYetValid},
		{"other key same kid", mustSign(t, privB, "a", viewerClaims()), t0, ErrBadSignature},
		{"unknown kid", mustSign(t, privA, "zz", viewerClaims()), t0, ErrUnknownKey},
		{"tampered payload", parts[0] + "." + b64.EncodeToString(tamperedPayload) + "." + parts[2], t0, ErrBadSignature},
		{"alg none", noneHeader + "." + parts[1] + "." + parts[2], t0, ErrMalformed},
		{"two parts", parts[0] + "." + parts[1], t0, ErrMalformed},
		{"four parts", good + ".x", t0, ErrMalformed},
		{"empty", "", t0, ErrMalformed},
		{"bad base64", "!!." + parts[1] + "." + parts[2], t0, ErrMalformed},
		{"short signature", parts[0] + "." + parts[1] + "." + b64.EncodeToString([]byte("x")), t0, ErrMalformed},
		{"too long", strings.Repeat("a", MaxTokenLen+1), t0, ErrMalformed},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := ks.Verify(tc.tok, tc.now)
			if tc.want == nil {
				if err != nil {
					t.Fatalf("Verify: %v", err)
				}
				if c.Tenant != "t1" || c.Session != "s1" || c.Role != RoleViewer || !c.ExpiresAt.Equal(t0.Add(5*time.Minute)) {
					t.Fatalf("claims %+v", c)
				}
				return
			}
			if !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
}

func TestSignRejects(t *testing.T) {
	_, priv := testKey(1)
	mod := func(f func(*Claims)) Claims { c := viewerClaims(); f(&c); return c }
	cases := []struct {
		name string
		key  ed25519.PrivateKey
		kid  string
		c    Claims
	}{
		{"short key", priv[:10], "a", viewerClaims()},
		{"empty kid", priv, "", viewerClaims()},
		{"bad role", priv, "a", mod(func(c *Claims) { c.Role = "admin" })},
		{"no tenant", priv, "a", mod(func(c *Claims) { c.Tenant = "" })},
		{"no session", priv, "a", mod(func(c *Claims) { c.Session = "" })},
		{"no expiry", priv, "a", mod(func(c *Claims) { c.ExpiresAt = time.Time{} })},
		{"expires before issued", priv, "a", mod(func(c *Claims) { c.ExpiresAt = t0.Add(-time.Second) })},
		{"huge claim", priv, "a", mod(func(c *Claims) { c.Issuer = strings.Repeat("x", 300) })},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := Sign(tc.key, tc.kid, tc.c); err == nil {
				t.Fatal("Sign accepted")
			}
		})
	}
}

func TestAllows(t *testing.T) {
	relay := Claims{Role: RoleRelay}
	ctrl := Claims{Tenant: "t", Session: "s", Role: RoleController}
	pub := Claims{Tenant: "t", Session: "s", Role: RolePublisher}
	cases := []struct {
		name    string
		c       Claims
		role    Role
		t, s    string
		allowed bool
	}{
		{"controller views", ctrl, RoleViewer, "t", "s", true},
		{"controller other session", ctrl, RoleViewer, "t", "x", false},
		{"controller other tenant", ctrl, RoleViewer, "x", "s", false},
		{"publisher publishes", pub, RolePublisher, "t", "s", true},
		{"publisher cannot view", pub, RoleViewer, "t", "s", false},
		{"viewer cannot publish", Claims{Tenant: "t", Session: "s", Role: RoleViewer}, RolePublisher, "t", "s", false},
		{"relay views anything", relay, RoleViewer, "a", "b", true},
		{"relay cannot publish", relay, RolePublisher, "a", "b", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.c.Allows(tc.role, tc.t, tc.s); got != tc.allowed {
				t.Fatalf("Allows = %v", got)
			}
		})
	}
}

func TestParseJWKS(t *testing.T) {
	pub, priv := testKey(3)
	doc, _ := json.Marshal(JWKS{Keys: []JWK{PublicJWK("k3", pub), {Kty: "EC", Crv: "P-256", Kid: "ec"}}})
	ks, err := ParseJWKS(doc)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ks.Verify(mustSign(t, priv, "k3", viewerClaims()), t0); err != nil {
		t.Fatal(err)
	}
	bad := []string{
		`not json`,
		`{"keys":[{"kty":"OKP","crv":"Ed25519","kid":"a","x":"AAAA"}]}`,
		`{"keys":[{"kty":"OKP","crv":"Ed25519","kid":"","x":"` + b64.EncodeToString(pub) + `"}]}`,
		`{"keys":[{"kty":"OKP","crv":"Ed25519","kid":"a","x":"` + b64.EncodeToString(pub) + `"},{"kty":"OKP","crv":"Ed25519","kid":"a","x":"` + b64.EncodeToString(pub) + `"}]}`,
	}
	for i, d := range bad {
		if _, err := ParseJWKS([]byte(d)); !errors.Is(err, ErrBadKeySet) {
			t.Fatalf("doc %d: got %v", i, err)
		}
	}
}

// Two publisher tokens minted within one second are still ordered: an
// edge hands a live broadcast only to a newer one.
func TestPublisherIssueOrder(t *testing.T) {
	pub, priv := testKey(1)
	ks, err := NewKeySet(map[string]ed25519.PublicKey{"a": pub})
	if err != nil {
		t.Fatal(err)
	}
	claims := func(role Role, at time.Time) Claims {
		return Claims{Issuer: "o", Tenant: "t1", Session: "s1", Role: role, IssuedAt: at, ExpiresAt: at.Add(time.Hour)}
	}
	verify := func(c Claims) Claims {
		t.Helper()
		got, err := ks.Verify(mustSign(t, priv, "a", c), t0.Add(time.Minute))
		if err != nil {
			t.Fatal(err)
		}
		return got
	}
	older := verify(claims(RolePublisher, t0.Add(100*time.Millisecond)))
	newer := verify(claims(RolePublisher, t0.Add(400*time.Millisecond)))
	if !newer.NewerThan(older) || older.NewerThan(newer) || newer.NewerThan(newer) {
		t.Fatalf("publisher tokens %v and %v are not ordered", older.IssuedAt, newer.IssuedAt)
	}
	if !newer.IssuedAt.Equal(t0.Add(400 * time.Millisecond)) {
		t.Fatalf("issued at %v, want %v", newer.IssuedAt, t0.Add(400*time.Millisecond))
	}
	// Viewer tokens stay short: whole seconds only.
	v := verify(claims(RoleViewer, t0.Add(400*time.Millisecond)))
	if !v.IssuedAt.Equal(t0) {
		t.Fatalf("viewer token issued at %v, want %v", v.IssuedAt, t0)
	}
	if strings.Contains(string(mustJSON(t, claims(RoleViewer, t0).toWire())), "iat_us") {
		t.Fatal("viewer token carries iat_us")
	}
	// A fine time that disagrees with iat is ignored.
	w := claims(RolePublisher, t0).toWire()
	w.IatUs = t0.Add(5 * time.Second).UnixMicro()
	if got := w.claims(); !got.IssuedAt.Equal(t0) {
		t.Fatalf("inconsistent iat_us gave %v, want %v", got.IssuedAt, t0)
	}
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
