package webrtc

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
	"github.com/strata-edge/strata/internal/poll"
	"github.com/strata-edge/strata/transport/media"
	"github.com/strata-edge/strata/transport/msf"
)

// liveHub publishes a broadcast with one keyframe so WHEP has something
// to serve without a WHIP publisher.
func (e *testEnv) liveHub(session string) *media.Track {
	e.t.Helper()
	b, err := e.hub.Publish(media.Namespace{Tenant: "acme", Session: session})
	if err != nil {
		e.t.Fatal(err)
	}
	tr, err := b.CreateTrack(media.TrackInfo{Name: msf.SessionVideoTrack, Kind: media.KindVideo}, media.TrackOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
	if err := tr.Append(media.Object{Keyframe: true, Payload: testFrame(0, true, 100)}); err != nil {
		e.t.Fatal(err)
	}
	return tr
}

func recvonlyOffer(t *testing.T) string {
	t.Helper()
	pc, err := clientAPI(t).NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	if _, err := pc.AddTransceiverFromKind(webrtc.RTPCodecTypeVideo, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
		t.Fatal(err)
	}
	return offer(t, pc)
}

func TestPOSTErrors(t *testing.T) {
	auth := func(_ context.Context, token string, _ media.Namespace, want Role) (Grant, error) {
		switch token {
		case "good":
			return Grant{Role: want}, nil
		case "ctl":
			return Grant{Role: RoleController}, nil
		case "old":
			return Grant{}, fmt.Errorf("%w: at noon", ErrTokenExpired)
		}
		return Grant{}, errors.New("bad token")
	}
	e := newEnv(t, func(c *Config) {
		c.Authorizer = auth
		c.MaxViewers = 1
		c.Router = func(_ context.Context, ns media.Namespace, _ *Request) (string, error) {
			if ns.Session == "elsewhere" {
				return "https://edge-b.example", nil
			}
			return "", nil
		}
	})
	e.liveHub("live")
	good := map[string]string{"Authorization": "Bearer good"}
	valid := recvonlyOffer(t)

	tests := []struct {
		name, kind, session, ctype, body string
		hdr                              map[string]string
		status                           int
		check                            func(t *testing.T, h http.Header, body string)
	}{
		{name: "bad sdp", kind: "whep", session: "live", ctype: ContentTypeSDP, body: "this is not sdp", hdr: good, status: 400,
			check: func(t *testing.T, _ http.Header, body string) {
				if !strings.Contains(body, "bad sdp") {
					t.Errorf("body %q lacks a message", body)
				}
			}},
		{name: "whip bad sdp", kind: "whip", session: "x", ctype: ContentTypeSDP, body: "v=0\r\n", hdr: good, status: 400},
		{name: "wrong content type", kind: "whep", session: "live", ctype: "application/json", body: valid, hdr: good, status: 415},
		{name: "missing token", kind: "whep", session: "live", ctype: ContentTypeSDP, body: valid, status: 401,
			check: func(t *testing.T, h http.Header, _ string) {
				if !strings.HasPrefix(h.Get("WWW-Authenticate"), "Bearer") {
					t.Errorf("WWW-Authenticate = %q", h.Get("WWW-Authenticate"))
				}
			}},
		{name: "bad token", kind: "whip", session: "x", ctype: ContentTypeSDP, body: valid, hdr: map[string]string{"Authorization": "Bearer nope"}, status: 401,
			check: func(t *testing.T, _ http.Header, body string) {
				if !strings.Contains(body, `"code":"unauthorized"`) {
					t.Errorf("body %q: want the JSON error unauthorized", body)
				}
			}},
		// An expired token says so, so that a player can get a new one.
		{name: "expired token", kind: "whep", session: "live", ctype: ContentTypeSDP, body: valid, hdr: map[string]string{"Authorization": "Bearer old"}, status: 401,
			check: func(t *testing.T, h http.Header, body string) {
				if !strings.Contains(body, `"code":"token_expired"`) || h.Get("Content-Type") != "application/json" || !strings.Contains(h.Get("WWW-Authenticate"), `error="invalid_token"`) {
					t.Errorf("body %q, headers %v: want the JSON error token_expired", body, h)
				}
			}},
		{name: "viewer token cannot publish", kind: "whip", session: "x", ctype: ContentTypeSDP, body: valid, hdr: map[string]string{"Authorization": "Bearer ctl"}, status: 401},
		{name: "not live", kind: "whep", session: "nothing", ctype: ContentTypeSDP, body: valid, hdr: good, status: 409,
			check: func(t *testing.T, h http.Header, _ string) {
				if h.Get("Retry-After") == "" {
					t.Error("no Retry-After")
				}
			}},
		{name: "routed elsewhere", kind: "whep", session: "elsewhere", ctype: ContentTypeSDP, body: valid, hdr: good, status: 307,
			check: func(t *testing.T, h http.Header, _ string) {
				// The token rides in the query: a browser drops
				// Authorization on a redirect to another origin.
				if h.Get("Location") != "https://edge-b.example/rtc/whep/acme/elsewhere?token=good" {
					t.Errorf("Location = %q", h.Get("Location"))
				}
				if h.Get("Cache-Control") != "no-store" || h.Get("Referrer-Policy") != "no-referrer" {
					t.Errorf("Cache-Control %q, Referrer-Policy %q; want no-store, no-referrer", h.Get("Cache-Control"), h.Get("Referrer-Policy"))
				}
			}},
		{name: "publisher routed elsewhere", kind: "whip", session: "elsewhere", ctype: ContentTypeSDP, body: valid, hdr: good, status: 307,
			check: func(t *testing.T, h http.Header, _ string) {
				if h.Get("Location") != "https://edge-b.example/rtc/whip/acme/elsewhere?token=good" {
					t.Errorf("Location = %q", h.Get("Location"))
				}
			}},
		{name: "unknown path", kind: "other", session: "x", ctype: ContentTypeSDP, body: valid, hdr: good, status: 404},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st, h, body := e.do(http.MethodPost, e.url(tc.kind, tc.session), tc.ctype, tc.body, tc.hdr)
			if st != tc.status {
				t.Fatalf("status %d, want %d (%s)", st, tc.status, body)
			}
			if h.Get("Access-Control-Allow-Origin") != "*" {
				t.Errorf("no CORS origin header")
			}
			if tc.check != nil {
				tc.check(t, h, body)
			}
		})
	}

	t.Run("full", func(t *testing.T) {
		v := e.view("live", "good", false)
		_ = v
		st, h, _ := e.do(http.MethodPost, e.url("whep", "live"), ContentTypeSDP, recvonlyOffer(t), good)
		if st != http.StatusServiceUnavailable || h.Get("Retry-After") == "" {
			t.Fatalf("status %d Retry-After %q, want 503 with Retry-After", st, h.Get("Retry-After"))
		}
	})
}

func TestOPTIONS(t *testing.T) {
	e := newEnv(t, func(c *Config) {
		c.ICEServers = []ICEServer{{URL: "stun:stun.example.net"}, {URL: "turn:turn.example.net?transport=udp", Username: "u", Credential: "p"}}
	})
	tests := []struct {
		name      string
		hdr       map[string]string
		wantLinks int
	}{
		{name: "plain", wantLinks: 2},
		{name: "preflight", hdr: map[string]string{"Origin": "https://app.example", "Access-Control-Request-Method": "POST"}, wantLinks: 0},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			st, h, _ := e.do(http.MethodOptions, e.url("whip", "s"), "", "", tc.hdr)
			if st != http.StatusOK {
				t.Fatalf("status %d", st)
			}
			if h.Get("Accept-Post") != ContentTypeSDP {
				t.Errorf("Accept-Post = %q", h.Get("Accept-Post"))
			}
			if !strings.Contains(h.Get("Access-Control-Allow-Methods"), "POST") || h.Get("Access-Control-Allow-Origin") == "" {
				t.Errorf("CORS headers missing: %v", h)
			}
			if !strings.Contains(h.Get("Access-Control-Allow-Headers"), "Authorization") {
				t.Errorf("Allow-Headers = %q", h.Get("Access-Control-Allow-Headers"))
			}
			links := h.Values("Link")
			if len(links) != tc.wantLinks {
				t.Fatalf("links = %q, want %d", links, tc.wantLinks)
			}
			if tc.wantLinks > 0 && (!strings.Contains(links[0], `rel="ice-server"`) || !strings.Contains(links[1], `username="u"`)) {
				t.Errorf("links = %q", links)
			}
		})
	}
	st, h, _ := e.do(http.MethodHead, e.url("whep", "s"), "", "", nil)
	if st != http.StatusOK || h.Get("Content-Type") != ContentTypeSDP {
		t.Errorf("HEAD: %d %q", st, h.Get("Content-Type"))
	}
}

func TestPATCHETag(t *testing.T) {
	e := newEnv(t, nil)
	e.liveHub("live")
	v := e.view("live", "", false)
	poll.For(t, 20*time.Second, 5*time.Millisecond, func() error {
		if v.pc.ConnectionState() == webrtc.PeerConnectionStateConnected {
			return nil
		}
		return errors.New("waiting for viewer connected")
	})
	ufrag, pwd := iceCreds(v.pc.LocalDescription().SDP)
	trickle := "a=ice-ufrag:" + ufrag + "\r\na=ice-pwd:" + pwd + "\r\nm=video 9 UDP/TLS/RTP/SAVPF 0\r\na=mid:0\r\na=candidate:1 1 udp 2130706431 127.0.0.1 9 typ host\r\na=end-of-candidates\r\n"
	restart := "a=ice-ufrag:newufrag1\r\na=ice-pwd:newpasswordnewpasswordnew\r\nm=video 9 UDP/TLS/RTP/SAVPF 0\r\na=mid:0\r\n"

	st, h, body := e.do(http.MethodPatch, v.url, ContentTypeSDPFrag, restart, map[string]string{"If-Match": "*"})
	if st != http.StatusOK || h.Get("ETag") == "" || h.Get("ETag") == v.etag || !strings.Contains(body, "a=ice-ufrag:") {
		t.Fatalf("ICE restart: %d etag %q (old %q) body %q", st, h.Get("ETag"), v.etag, body)
	}
	newTag := h.Get("ETag")
	if u, _ := iceCreds(body); u == "" || strings.Contains(v.pc.RemoteDescription().SDP, "a=ice-ufrag:"+u) {
		t.Errorf("restart answer kept the old ufrag: %q", body)
	}

	tests := []struct {
		name, ctype, body, ifMatch string
		status                     int
	}{
		{"missing If-Match", ContentTypeSDPFrag, trickle, "", 428},
		{"stale ETag", ContentTypeSDPFrag, strings.ReplaceAll(trickle, ufrag, "newufrag1"), v.etag, 412},
		{"wrong content type", ContentTypeSDP, trickle, newTag, 415},
		{"garbage", ContentTypeSDPFrag, "hello\r\n", newTag, 400},
		{"trickle", ContentTypeSDPFrag, strings.NewReplacer(ufrag, "newufrag1", pwd, "newpasswordnewpasswordnew").Replace(trickle), newTag, 204},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			hdr := map[string]string{}
			if tc.ifMatch != "" {
				hdr["If-Match"] = tc.ifMatch
			}
			st, h, body := e.do(http.MethodPatch, v.url, tc.ctype, tc.body, hdr)
			if st != tc.status {
				t.Fatalf("status %d, want %d (%s)", st, tc.status, body)
			}
			if st == 204 && h.Get("ETag") != "" {
				t.Errorf("204 carries an ETag")
			}
		})
	}
}

func TestInputChannel(t *testing.T) {
	auth := func(_ context.Context, token string, _ media.Namespace, want Role) (Grant, error) {
		if token == "ctl" {
			return Grant{Role: RoleController}, nil
		}
		return Grant{Role: want}, nil
	}
	e := newEnv(t, func(c *Config) { c.Authorizer = auth })
	e.liveHub("live")
	b, _ := e.hub.Broadcast(media.Namespace{Tenant: "acme", Session: "live"})

	send := func(v *viewer, msg string) {
		t.Helper()
		var dc *webrtc.DataChannel
		poll.For(t, 20*time.Second, 5*time.Millisecond, func() error {
			for _, d := range dataChannels(v) {
				dc = d
			}
			if dc != nil && dc.ReadyState() == webrtc.DataChannelStateOpen {
				return nil
			}
			return errors.New("waiting for input channel")
		})
		if err := dc.SendText(msg); err != nil {
			t.Fatal(err)
		}
	}

	plain := e.view("live", "viewer", true)
	ctl := e.view("live", "ctl", true)
	// The plain viewer's channel is refused: it gets closed.
	poll.For(t, 20*time.Second, 5*time.Millisecond, func() error {
		// The first channel the viewer opened is the input channel.
		if dcs := dataChannels(plain); len(dcs) > 0 && dcs[0].ReadyState() == webrtc.DataChannelStateClosed {
			return nil
		}
		return errors.New("waiting for plain viewer's channel refused")
	})
	send(ctl, `{"type":"key","code":"KeyW"}`)
	var tr *media.Track
	poll.For(t, 20*time.Second, 5*time.Millisecond, func() error {
		var ok bool
		tr, ok = b.Track(msf.SessionInputTrack)
		if ok && tr.Stats().Objects > 0 {
			return nil
		}
		return errors.New("waiting for input track")
	})
	sub := tr.Subscribe()
	defer sub.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	o, err := sub.Next(ctx)
	if err != nil || string(o.Payload) != `{"type":"key","code":"KeyW"}` {
		t.Fatalf("input object %q, %v", o.Payload, err)
	}
	if n := tr.Stats().Objects; n != 1 {
		t.Fatalf("input objects = %d, want only the controller's", n)
	}
}

// dataChannels returns the viewer's own data channels.
func dataChannels(v *viewer) []*webrtc.DataChannel {
	v.mu.Lock()
	defer v.mu.Unlock()
	return v.dcs
}

// TestQueryToken: a client without an Authorization header (a browser
// that followed a redirect to another origin) is authorized by the token
// in the URL's query, reaches its session resource the same way, and a
// header, when sent, is the one that counts.
func TestQueryToken(t *testing.T) {
	var seen []string
	var mu sync.Mutex
	e := newEnv(t, func(c *Config) {
		c.Authorizer = func(_ context.Context, token string, _ media.Namespace, want Role) (Grant, error) {
			mu.Lock()
			seen = append(seen, token)
			mu.Unlock()
			if token == "good" {
				return Grant{Role: want}, nil
			}
			return Grant{}, errors.New("bad token")
		}
	})
	e.liveHub("live")

	st, h, body := e.do(http.MethodPost, e.url("whep", "live")+"?token=good", ContentTypeSDP, recvonlyOffer(t), nil)
	if st != http.StatusCreated {
		t.Fatalf("POST with ?token=: %d %s", st, body)
	}
	loc := h.Get("Location")
	if !strings.HasPrefix(loc, "/rtc/whep/acme/live/") || !strings.HasSuffix(loc, "?token=good") {
		t.Fatalf("Location = %q, want the resource with the query token", loc)
	}
	if h.Get("Referrer-Policy") != "no-referrer" {
		t.Errorf("Referrer-Policy = %q", h.Get("Referrer-Policy"))
	}

	// Authorization wins over the query: a bad header is refused.
	st, _, _ = e.do(http.MethodPost, e.url("whep", "live")+"?token=good", ContentTypeSDP, recvonlyOffer(t), map[string]string{"Authorization": "Bearer nope"})
	if st != http.StatusUnauthorized {
		t.Errorf("bad header with good query: %d, want 401", st)
	}
	st, _, _ = e.do(http.MethodPost, e.url("whep", "live")+"?token=nope", ContentTypeSDP, recvonlyOffer(t), nil)
	if st != http.StatusUnauthorized {
		t.Errorf("bad query token: %d, want 401", st)
	}
	// An empty bearer is no token: the query's counts.
	st, _, body = e.do(http.MethodPost, e.url("whep", "live")+"?token=good", ContentTypeSDP, recvonlyOffer(t), map[string]string{"Authorization": "Bearer "})
	if st != http.StatusCreated {
		t.Errorf("empty bearer with good query: %d %s, want 201", st, body)
	}
	// The session resource takes the query token too.
	st, _, body = e.do(http.MethodDelete, e.http.URL+loc, "", "", nil)
	if st != http.StatusOK {
		t.Fatalf("DELETE %s: %d %s", loc, st, body)
	}
	mu.Lock()
	defer mu.Unlock()
	if want := []string{"good", "nope", "nope", "good", "good"}; !slices.Equal(seen, want) {
		t.Errorf("authorizer saw %q, want %q", seen, want)
	}
}

// TestBearerSchemeAnyCase: WHEP reads the token whatever the case of the
// Authorization scheme (RFC 7235 section 2.1).
func TestBearerSchemeAnyCase(t *testing.T) {
	e := newEnv(t, func(c *Config) {
		c.Authorizer = func(_ context.Context, token string, _ media.Namespace, want Role) (Grant, error) {
			if token == "good" {
				return Grant{Role: want}, nil
			}
			return Grant{}, errors.New("bad token")
		}
	})
	e.liveHub("live")
	for _, scheme := range []string{"Bearer", "bearer", "BEARER"} {
		st, _, body := e.do(http.MethodPost, e.url("whep", "live"), ContentTypeSDP, recvonlyOffer(t), map[string]string{"Authorization": scheme + " good"})
		if st != http.StatusCreated {
			t.Errorf("%s: %d %s, want 201", scheme, st, body)
		}
	}
}
