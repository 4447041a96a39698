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

	page := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = w.Write([]byte(whepPage))
	}))
	defer page.Close()
	tab, err := b.NewTab(false)
	if err != nil {
		t.Fatal(err)
	}
	defer tab.Close()
	// The edges' certificates are self-signed; pages in production reach
	// edges with trusted ones.
	if _, err := chromedp.Call(tab.Ctx, security.SetIgnoreCertificateErrors, security.SetIgnoreCertificateErrorsParams{Ignore: true}); err != nil {
		t.Fatal(err)
	}
	if err := tab.Open(page.URL); err != nil {
		t.Fatal(err)
	}
	args, _ := json.Marshal([]string{near.WHEPURL, far.Token})
	if err := tab.Eval("play(..." + string(args) + ")"); err != nil {
		t.Fatal(err)
	}
	m, err := tab.WaitJSON(30*time.Second, "JSON.stringify(window.whep)", func(m map[string]any) bool {
		n, _ := m["framesDecoded"].(float64)
		return m["error"] != nil || m["state"] == "failed" || m["state"] == "connected" && n >= 30
	})
	if m != nil {
		if e, ok := m["error"].(string); ok {
			m["error"] = strings.ReplaceAll(e, far.Token, "<token>")
		}
	}
	if err != nil || m["error"] != nil || m["state"] != "connected" {
		t.Fatalf("browser WHEP via edge-1: %v %v", err, m)
	}
	if m["redirected"] != true || m["answeredBy"] != target.Host || m["resourceHost"] != target.Host || m["track"] != true {
		t.Fatalf("browser WHEP: %v; want redirected, answered by edge-2 (%s) with a video track", m, target.Host)
	}
	t.Logf("browser WHEP redirected from edge-1 to edge-2: %v frames decoded", m["framesDecoded"])
	// The session resource on edge-2 answers the browser's preflight and
	// DELETE across origins.
	if err := tab.Eval("hangUp()"); err != nil {
		t.Fatal(err)
	}
	m, err = tab.WaitJSON(10*time.Second, "JSON.stringify(window.whep)", func(m map[string]any) bool { return m["deleted"] != nil || m["error"] != nil })
	if err != nil || m["deleted"] != float64(http.StatusOK) {
		t.Fatalf("browser DELETE of the WHEP resource: %v %v", err, m["deleted"])
	}
}
