package player_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/security"
	"github.com/chromedp/chromedp"

	"github.com/strata-edge/strata/api"
	"github.com/strata-edge/strata/internal/testcluster"
	"github.com/strata-edge/strata/player/playertest"
)

// whepPage is a minimal WHEP player, as a third party would write one:
// fetch() POSTs the offer with the bearer token and follows redirects as
// the browser does, then RTCPeerConnection plays what the answer brings.
// window.whep reports progress as JSON; it names hosts, never URLs, since
// a followed redirect's URL carries the token.
const whepPage = `<!doctype html><meta charset="utf-8"><title>whep</title>
<video muted autoplay playsinline></video>
<script>
window.whep = {state: "idle"};
window.play = async (endpoint, token) => {
  const r = window.whep;
  try {
    const pc = new RTCPeerConnection();
    window.pc = pc;
    pc.addTransceiver("video", {direction: "recvonly"});
    pc.addTransceiver("audio", {direction: "recvonly"});
    pc.onconnectionstatechange = () => { r.state = pc.connectionState; };
    pc.ontrack = (e) => {
      if (e.track.kind !== "video") return;
      r.track = true;
      const v = document.querySelector("video");
      v.srcObject = new MediaStream([e.track]);
      v.play().catch(() => {});
    };
    await pc.setLocalDescription(await pc.createOffer());
    await new Promise((done) => {
      if (pc.iceGatheringState === "complete") return done();
      pc.onicegatheringstatechange = () => { if (pc.iceGatheringState === "complete") done(); };
      setTimeout(done, 2000);
    });
    const resp = await fetch(endpoint, {method: "POST",
      headers: {"Content-Type": "application/sdp", "Authorization": "Bearer " + token},
      body: pc.localDescription.sdp});
    r.status = resp.status;
    r.redirected = resp.redirected;
    r.answeredBy = new URL(resp.url).host;
    const loc = resp.headers.get("Location");
    if (loc) r.resourceHost = new URL(loc, resp.url).host;
    window.hangUp = async () => {
      const d = await fetch(new URL(loc, resp.url), {method: "DELETE", headers: {"Authorization": "Bearer " + token}});
      r.deleted = d.status;
    };
    const body = await resp.text();
    if (resp.status !== 201) { r.error = body; return; }
    await pc.setRemoteDescription({type: "answer", sdp: body});
    setInterval(async () => {
      (await pc.getStats()).forEach((s) => {
        if (s.type === "inbound-rtp" && s.kind === "video") r.framesDecoded = s.framesDecoded || 0;
      });
    }, 200);
  } catch (e) {
    r.error = String(e);
  }
};
</script>`

// TestBrowserWHEPRedirect: a browser WHEP client given edge-1's endpoint
// and a viewer token bound to edge-2 is redirected there and plays.
// Fetch drops Authorization on that redirect (the edges are different
// origins), so this plays only because the Location carries the token.
func TestBrowserWHEPRedirect(t *testing.T) {
	b := browser(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	rig, err := testcluster.StartPlayerRig(ctx, testcluster.PlayerRigOptions{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer rig.Close()
	near, err := rig.Viewer(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := rig.Cluster.StartEdge(testcluster.MediaEdgeSpec("edge-2", "us", 40.7, -74)); err != nil {
		t.Fatal(err)
	}
	if err := rig.Cluster.WaitEdges([]string{"edge-2"}, 20*time.Second); err != nil {
		t.Fatal(err)
	}
	lat, lon := 40.7, -74.0
	far, err := rig.Cluster.Client().Sessions().Viewer(ctx, rig.Namespace.Session, api.ViewerRequest{Region: "us", Lat: &lat, Lon: &lon})
	if err != nil {
		t.Fatal(err)
	}
	if near.Edge != "edge-1" || far.Edge != "edge-2" {
		t.Fatalf("viewers routed to %s and %s, want edge-1 and edge-2", near.Edge, far.Edge)
	}
	target, err := url.Parse(far.WHEPURL)
	if err != nil {
		t.Fatal(err)
	}

	t.Run("fetch-client", func(t *testing.T) {
		whepClientPlays(t, b, near.WHEPURL, far.Token, target.Host)
	})
	// Strata's player, given edge-1's embed page and edge-2's token,
	// plays over WHEP through the redirect and ends its session there.
	t.Run("strata-player", func(t *testing.T) {
		tab := trustingTab(t, b, true)
		if err := tab.Open(rig.EmbedURL(far.Token)); err != nil {
			t.Fatal(err)
		}
		s, err := tab.WaitStats(20*time.Second, func(s *playertest.Stats) bool { return s.State == "playing" || s.State == "error" })
		if err != nil || s.State != "playing" || derefS(s.Transport) != "whep" {
			t.Fatalf("player via edge-1's embed page: %v %+v", err, s)
		}
		if err := tab.Eval(`(() => { const f = window.fetch; window.__deletes = [];
			window.fetch = async (u, o) => { const r = await f(u, o);
				if (o && o.method === "DELETE") window.__deletes.push({host: new URL(r.url).host, status: r.status});
				return r; };
			document.querySelector("strata-player").stop(); })()`); err != nil {
			t.Fatal(err)
		}
		m, err := tab.WaitJSON(10*time.Second, `JSON.stringify({d: window.__deletes})`, func(m map[string]any) bool {
			d, _ := m["d"].([]any)
			return len(d) > 0
		})
		if err != nil {
			t.Fatal(err)
		}
		// The player closes its peer connection first, which may end the
		// session on edge-2 before the DELETE lands: 404 then, never 401.
		d := m["d"].([]any)[0].(map[string]any)
		if st := d["status"]; d["host"] != target.Host || st != float64(http.StatusOK) && st != float64(http.StatusNotFound) {
			t.Fatalf("player's DELETE on stop: %v, want edge-2 (%s) to answer 200 or 404", d, target.Host)
		}
	})
}

// trustingTab opens a tab that accepts the edges' self-signed
// certificates, as pages in production accept edges' trusted ones.
func trustingTab(t *testing.T, b *playertest.Browser, noWT bool) *playertest.Tab {
	t.Helper()
	tab, err := b.NewTab(noWT)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tab.Close)
	if _, err := chromedp.Call(tab.Ctx, security.SetIgnoreCertificateErrors, security.SetIgnoreCertificateErrorsParams{Ignore: true}); err != nil {
		t.Fatal(err)
	}
	return tab
}

// whepClientPlays runs whepPage's client against endpoint with tok and
// checks it plays from the edge at host and deletes its session there.
func whepClientPlays(t *testing.T, b *playertest.Browser, endpoint, tok, host string) {
	t.Helper()
	page := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte(whepPage))
	}))
	defer page.Close()
	tab := trustingTab(t, b, false)
	if err := tab.Open(page.URL); err != nil {
		t.Fatal(err)
	}
	args, _ := json.Marshal([]string{endpoint, tok})
	if err := tab.Eval("play(..." + string(args) + ")"); err != nil {
		t.Fatal(err)
	}
	m, err := tab.WaitJSON(30*time.Second, "JSON.stringify(window.whep)", func(m map[string]any) bool {
		n, _ := m["framesDecoded"].(float64)
		return m["error"] != nil || m["state"] == "failed" || m["state"] == "connected" && n >= 30
	})
	if m != nil {
		if e, ok := m["error"].(string); ok {
			m["error"] = strings.ReplaceAll(e, tok, "<token>")
		}
	}
	if err != nil || m["error"] != nil || m["state"] != "connected" {
		t.Fatalf("browser WHEP: %v %v", err, m)
	}
	if m["redirected"] != true || m["answeredBy"] != host || m["resourceHost"] != host || m["track"] != true {
		t.Fatalf("browser WHEP: %v; want redirected, answered by %s with a video track", m, host)
	}
	t.Logf("browser WHEP redirected to %s: %v frames decoded", host, m["framesDecoded"])
	// The session resource on the target edge answers the browser's
	// preflight and DELETE across origins.
	if err := tab.Eval("hangUp()"); err != nil {
		t.Fatal(err)
	}
	m, err = tab.WaitJSON(10*time.Second, "JSON.stringify(window.whep)", func(m map[string]any) bool { return m["deleted"] != nil || m["error"] != nil })
	if err != nil || m["deleted"] != float64(http.StatusOK) {
		t.Fatalf("browser DELETE of the WHEP resource: %v %v", err, m["deleted"])
	}
}
