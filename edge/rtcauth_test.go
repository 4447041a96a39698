package edge

import (
	"context"
	"crypto/ed25519"
	"errors"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/strata-edge/strata/api"
	"github.com/strata-edge/strata/edge/authz"
	"github.com/strata-edge/strata/internal/token"
	"github.com/strata-edge/strata/transport/media"
	"github.com/strata-edge/strata/transport/webrtc"
)

// rtcKeys signs tokens for session t1/s1 and returns the edge-1
// Authorizer that accepts them.
func rtcKeys(t *testing.T) (*authz.Authorizer, func(token.Role, ...func(*token.Claims)) string) {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	ks, err := token.NewKeySet(map[string]ed25519.PublicKey{"k1": pub})
	if err != nil {
		t.Fatal(err)
	}
	a, err := authz.New(authz.Config{Keys: ks, NodeID: "edge-1"})
	if err != nil {
		t.Fatal(err)
	}
	sign := func(role token.Role, mod ...func(*token.Claims)) string {
		now := time.Now()
		c := token.Claims{Issuer: "o", Tenant: "t1", Session: "s1", Role: role, IssuedAt: now, ExpiresAt: now.Add(time.Minute)}
		if role == token.RoleRelay {
			c.Tenant, c.Session = "", ""
		}
		for _, f := range mod {
			f(&c)
		}
		tok, err := token.Sign(priv, "k1", c)
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	return a, sign
}

func TestRTCAuthorizer(t *testing.T) {
	a, sign := rtcKeys(t)
	authorize := rtcAuthorizer(a)
	ns := media.Namespace{Tenant: "t1", Session: "s1"}
	cases := []struct {
		name string
		tok  string
		want webrtc.Role
		got  webrtc.Role // 0: refused
	}{
		{"publisher publishes", sign(token.RolePublisher), webrtc.RolePublisher, webrtc.RolePublisher},
		{"viewer views", sign(token.RoleViewer), webrtc.RoleViewer, webrtc.RoleViewer},
		{"controller views as controller", sign(token.RoleController), webrtc.RoleViewer, webrtc.RoleController},
		{"viewer cannot publish", sign(token.RoleViewer), webrtc.RolePublisher, 0},
		{"publisher cannot view", sign(token.RolePublisher), webrtc.RoleViewer, 0},
		{"relay cannot view over WebRTC", sign(token.RoleRelay), webrtc.RoleViewer, 0},
		{"other session", sign(token.RoleViewer, func(c *token.Claims) { c.Session = "s2" }), webrtc.RoleViewer, 0},
		{"bound to another node", sign(token.RoleViewer, func(c *token.Claims) { c.Node = "edge-2" }), webrtc.RoleViewer, 0},
		{"no token", "", webrtc.RoleViewer, 0},
	}
	// An expired token is refused as such, so the WHEP 401 can say so.
	old := sign(token.RoleViewer, func(c *token.Claims) {
		c.IssuedAt, c.ExpiresAt = time.Now().Add(-time.Hour), time.Now().Add(-time.Minute)
	})
	if _, err := authorize(context.Background(), old, ns, webrtc.RoleViewer); !errors.Is(err, webrtc.ErrTokenExpired) {
		t.Errorf("expired token: %v, want webrtc.ErrTokenExpired", err)
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g, err := authorize(context.Background(), tc.tok, ns, tc.want)
			if err != nil && errors.Is(err, webrtc.ErrTokenExpired) {
				t.Errorf("a valid token refused as expired: %v", err)
			}
			if tc.got == 0 {
				if err == nil {
					t.Fatalf("granted %s", g.Role)
				}
				return
			}
			if err != nil || g.Role != tc.got {
				t.Fatalf("got %s, %v; want %s", g.Role, err, tc.got)
			}
			// Publishers are ordered by their token's issue time.
			if tc.got == webrtc.RolePublisher && g.Issued.IsZero() {
				t.Fatal("publisher grant carries no issue time")
			}
		})
	}
}

// nodesFunc is a nodeLookup made of a function.
type nodesFunc func(id string) (api.Node, error)

func (f nodesFunc) Node(_ context.Context, id string) (api.Node, error) { return f(id) }

func TestViewerRouter(t *testing.T) {
	a, sign := rtcKeys(t)
	ns := media.Namespace{Tenant: "t1", Session: "s1"}
	nodes := nodesFunc(func(id string) (api.Node, error) {
		switch id {
		case "edge-2":
			return api.Node{ID: id, Addrs: map[string]string{"whip": "10.0.0.2:8443"}}, nil
		case "edge-3":
			return api.Node{ID: id, Addrs: map[string]string{"quic": "10.0.0.3:4443"}}, nil
		}
		return api.Node{}, errors.New("404 not_found")
	})
	r := &viewerRouter{auth: a, nodes: nodes, timeout: time.Second}
	bound := func(node string) func(*token.Claims) { return func(c *token.Claims) { c.Node = node } }
	cases := []struct {
		name    string
		tok     string
		url     string
		wantErr bool
	}{
		{"bound to another edge", sign(token.RoleViewer, bound("edge-2")), "https://10.0.0.2:8443", false},
		{"publisher bound to another edge", sign(token.RolePublisher, bound("edge-2")), "https://10.0.0.2:8443", false},
		{"bound here", sign(token.RoleViewer, bound("edge-1")), "", false},
		{"unbound", sign(token.RoleViewer), "", false},
		{"other session", sign(token.RoleViewer, bound("edge-2"), func(c *token.Claims) { c.Session = "s2" }), "", false},
		{"edge without WHEP", sign(token.RoleViewer, bound("edge-3")), "", false},
		{"unknown edge", sign(token.RoleViewer, bound("edge-9")), "", true},
		{"no token", "", "", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req := &webrtc.Request{Header: http.Header{}}
			if tc.tok != "" {
				req.Header.Set("Authorization", "Bearer "+tc.tok)
			}
			got, err := r.route(context.Background(), ns, req)
			if (err != nil) != tc.wantErr || got != tc.url {
				t.Fatalf("route = %q, %v; want %q (error %v)", got, err, tc.url, tc.wantErr)
			}
			// A token in the query (a redirect followed by a browser)
			// routes the same way.
			q := &webrtc.Request{Header: http.Header{}, Query: url.Values{webrtc.TokenParam: {tc.tok}}}
			if got, err := r.route(context.Background(), ns, q); (err != nil) != tc.wantErr || got != tc.url {
				t.Fatalf("route with the token in the query = %q, %v; want %q (error %v)", got, err, tc.url, tc.wantErr)
			}
		})
	}
}
