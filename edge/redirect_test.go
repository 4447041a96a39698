package edge_test

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/strata-edge/strata/api"
	"github.com/strata-edge/strata/internal/poll"
)

// TestRedirectCarriesToken: a WHIP publisher or WHEP viewer whose token
// is bound to another edge is sent there with the token in the
// Location's query, and the target admits it without an Authorization
// header, which a browser drops on a redirect to another origin. The
// clients here follow redirects as Fetch does across origins. A token in
// the query is admitted only by the edge it is bound to.
func TestRedirectCarriesToken(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cl, ten, app := startBridgeCluster(ctx, t, "redirect", nil)
	tr := &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}
	defer tr.CloseIdleConnections()
	noFollow := &http.Client{Transport: tr, Timeout: 10 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	browserLike := &http.Client{Transport: tr, Timeout: 10 * time.Second,
		CheckRedirect: func(req *http.Request, _ []*http.Request) error {
			req.Header.Del("Authorization")
			return nil
		}}

	ns, pub, view := bridgeSession(ctx, t, cl, ten.ID, app.ID)
	whepA := strings.Replace(pub.WHIPURL, "/whip/", "/whep/", 1)
	whipB := strings.Replace(view.WHEPURL, "/whep/", "/whip/", 1)
	lat, lon := 48.8, 2.3
	viewA, err := cl.Sessions().Viewer(ctx, ns.Session, api.ViewerRequest{Region: "eu", Lat: &lat, Lon: &lon})
	if err != nil || viewA.Edge != "edge-a" {
		t.Fatalf("viewer grant near edge-a: %+v, %v", viewA, err)
	}

	redirect := func(t *testing.T, endpoint, tok, want string) {
		t.Helper()
		resp, err := noFollow.Do(sdpRequest(ctx, t, endpoint, tok, "v=0\r\n"))
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		want += "?" + url.Values{"token": {tok}}.Encode()
		if resp.StatusCode != http.StatusTemporaryRedirect || resp.Header.Get("Location") != want {
			t.Fatalf("POST %s: %d Location %q, want 307 to %s", endpoint, resp.StatusCode, resp.Header.Get("Location"), want)
		}
		if resp.Header.Get("Referrer-Policy") != "no-referrer" || resp.Header.Get("Access-Control-Allow-Origin") == "" {
			t.Errorf("redirect headers %v: want Referrer-Policy no-referrer and CORS", resp.Header)
		}
	}

	// WHIP: edge-a's publisher token at edge-b goes to edge-a, and the
	// publisher that follows without Authorization publishes there.
	redirect(t, whipB, pub.Token, pub.WHIPURL)
	viaB := *pub
	viaB.WHIPURL = whipB
	p := startWHIP(ctx, t, browserLike, &viaB)
	defer p.stop()

	// WHEP: edge-b's viewer token at edge-a goes to edge-b.
	redirect(t, whepA, view.Token, view.WHEPURL)
	// edge-b serves the session once its relay from edge-a is up.
	warm, err := bridgeAPI(t).NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	defer warm.Close()
	if _, err := warm.AddTransceiverFromKind(webrtc.RTPCodecTypeVideo, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
		t.Fatal(err)
	}
	poll.For(t, 20*time.Second, 50*time.Millisecond, func() error {
		if st, _, body := postOfferOnce(ctx, t, noFollow, warm, view.WHEPURL, view.Token); st != http.StatusCreated {
			return fmt.Errorf("WHEP on edge-b: %d %s", st, strings.TrimSpace(body))
		}
		return nil
	})
	viaA := *view
	viaA.WHEPURL = whepA
	v, h, _ := startWHEP(ctx, t, browserLike, &viaA)
	defer v.stop()
	loc := h.Get("Location")
	if !strings.HasPrefix(loc, "/whep/"+ns.Tenant+"/"+ns.Session+"/") || !strings.HasSuffix(loc, "?token="+view.Token) {
		t.Errorf("resource Location %q: want edge-b's resource with the query token", loc)
	}
	poll.For(t, 30*time.Second, 20*time.Millisecond, func() error {
		if n := v.count(); n < 10 {
			return fmt.Errorf("whep viewer redirected to edge-b has %d frames", n)
		}
		return nil
	})
	if err := v.check(); err != nil {
		t.Fatal(err)
	}

	// The resource on edge-b refuses edge-a's token in its query and
	// takes edge-b's; an unbound request is refused.
	resource, err := url.Parse(view.WHEPURL)
	if err != nil {
		t.Fatal(err)
	}
	resource.Path, _, _ = strings.Cut(loc, "?")
	del := func(q string) int {
		t.Helper()
		req, err := http.NewRequestWithContext(ctx, http.MethodDelete, resource.String()+q, nil)
		if err != nil {
			t.Fatal(err)
		}
		resp, err := noFollow.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		return resp.StatusCode
	}
	for _, tc := range []struct {
		name, query string
		want        int
	}{
		{"no token", "", http.StatusUnauthorized},
		{"edge-a's token", "?token=" + viewA.Token, http.StatusUnauthorized},
		{"edge-a's publisher token", "?token=" + pub.Token, http.StatusUnauthorized},
		{"edge-b's token", "?token=" + view.Token, http.StatusOK},
	} {
		if st := del(tc.query); st != tc.want {
			t.Errorf("DELETE edge-b's resource with %s: %d, want %d", tc.name, st, tc.want)
		}
	}
}
