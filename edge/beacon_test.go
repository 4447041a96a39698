package edge

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/strata-edge/strata/api"
	"github.com/strata-edge/strata/internal/token"
)

func TestParseBeacon(t *testing.T) {
	full := `{"transport":"moq","watch_ms":10000,"first_frame_ms":412.5,"glass_to_glass_ms":85,"fps":29.9,"stalls_ms":[820,1400]}`
	r, err := parseBeacon([]byte(full))
	if err != nil {
		t.Fatal(err)
	}
	want := viewerReport{Transport: "moq", Watch: 10 * time.Second, FirstFrame: 412500 * time.Microsecond,
		GlassToGlass: 85 * time.Millisecond, FPS: 29.9, Stalls: []time.Duration{820 * time.Millisecond, 1400 * time.Millisecond}}
	if r.Transport != want.Transport || r.Watch != want.Watch || r.FirstFrame != want.FirstFrame || r.GlassToGlass != want.GlassToGlass ||
		r.FPS != want.FPS || len(r.Stalls) != 2 || r.Stalls[0] != want.Stalls[0] || r.Stalls[1] != want.Stalls[1] {
		t.Fatalf("parsed %+v, want %+v", r, want)
	}
	// Only transport and watch_ms are required; the rest reads as absent.
	r, err = parseBeacon([]byte(` {"watch_ms":0, "transport":"whep"} `))
	if err != nil || r.FirstFrame >= 0 || r.GlassToGlass >= 0 || r.FPS >= 0 || len(r.Stalls) != 0 {
		t.Fatalf("minimal beacon: %+v, %v", r, err)
	}

	tooMany := `{"transport":"moq","watch_ms":1,"stalls_ms":[` + strings.Repeat("700,", maxBeaconStalls) + `700]}`
	for _, tc := range []struct {
		name, body string
		want       error
	}{
		{"empty", ``, errBeaconSyntax},
		{"array", `[]`, errBeaconSyntax},
		{"not JSON", `transport=moq`, errBeaconSyntax},
		{"truncated", `{"transport":"moq","watch_ms":1`, errBeaconSyntax},
		{"trailing data", `{"transport":"moq","watch_ms":1} {}`, errBeaconSyntax},
		{"trailing garbage", `{"transport":"moq","watch_ms":1}x`, errBeaconSyntax},
		{"duplicate key", `{"transport":"moq","watch_ms":1,"watch_ms":2}`, errBeaconSyntax},
		{"unknown key", `{"transport":"moq","watch_ms":1,"viewer":"me"}`, errBeaconValue},
		{"missing transport", `{"watch_ms":1}`, errBeaconValue},
		{"missing watch", `{"transport":"moq"}`, errBeaconValue},
		{"unknown transport", `{"transport":"hls","watch_ms":1}`, errBeaconValue},
		{"transport not a string", `{"transport":1,"watch_ms":1}`, errBeaconValue},
		{"number as string", `{"transport":"moq","watch_ms":"1"}`, errBeaconValue},
		{"negative", `{"transport":"moq","watch_ms":-1}`, errBeaconValue},
		{"too large", `{"transport":"moq","watch_ms":1,"fps":1e9}`, errBeaconValue},
		{"overflowing exponent", `{"transport":"moq","watch_ms":1e400}`, errBeaconValue},
		{"nested object", `{"transport":"moq","watch_ms":{"a":1}}`, errBeaconValue},
		{"stalls not an array", `{"transport":"moq","watch_ms":1,"stalls_ms":700}`, errBeaconValue},
		{"stall out of range", `{"transport":"moq","watch_ms":1,"stalls_ms":[700,-1]}`, errBeaconValue},
		{"too many stalls", tooMany, errBeaconValue},
		{"over the size bound", `{"transport":"moq","watch_ms":1` + strings.Repeat(" ", maxBeaconBody) + `}`, errBeaconValue},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := parseBeacon([]byte(tc.body)); !errors.Is(err, tc.want) {
				t.Fatalf("parseBeacon(%.60q) = %v, want %v", tc.body, err, tc.want)
			}
		})
	}
}

// FuzzParseBeacon: any input either fails with one of the two parse
// errors or yields a report within the documented ranges.
func FuzzParseBeacon(f *testing.F) {
	for _, s := range []string{
		`{"transport":"moq","watch_ms":10000,"first_frame_ms":412,"glass_to_glass_ms":85,"fps":30,"stalls_ms":[820]}`,
		`{"transport":"whep","watch_ms":0}`,
		`{"transport":"moq","watch_ms":1,"watch_ms":2}`,
		`{"transport":"moq","watch_ms":1e400}`,
		`{"stalls_ms":[[1]]}`,
		`[1,2]`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		r, err := parseBeacon(b)
		if err != nil {
			if !errors.Is(err, errBeaconSyntax) && !errors.Is(err, errBeaconValue) {
				t.Fatalf("unexpected error kind: %v", err)
			}
			return
		}
		if len(b) > maxBeaconBody || (r.Transport != beaconMoQ && r.Transport != beaconWHEP) || r.Watch < 0 || r.Watch > 600*time.Second ||
			r.FirstFrame > 120*time.Second || r.GlassToGlass > 60*time.Second || r.FPS > 480 || len(r.Stalls) > maxBeaconStalls {
			t.Fatalf("accepted out-of-range beacon %q: %+v", b, r)
		}
		if !json.Valid(b) {
			t.Fatalf("accepted invalid JSON %q", b)
		}
	})
}

// beaconServer serves the beacon handler on a real socket with the
// rtcKeys authorizer (session t1/s1 on edge-1) and a registry.
func beaconServer(t *testing.T) (*httptest.Server, *beaconHandler, *prometheus.Registry, func(token.Role, ...func(*token.Claims)) string) {
	t.Helper()
	a, sign := rtcKeys(t)
	reg := prometheus.NewRegistry()
	m, err := newViewerMetrics(reg)
	if err != nil {
		t.Fatal(err)
	}
	h := newBeaconHandler(a, m, "eu", testLogger(t))
	mux := http.NewServeMux()
	mux.Handle(BeaconPath, h)
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv, h, reg, sign
}

// postBeacon sends body to session's beacon endpoint with tok; it returns
// the status, the API error code (if any) and the headers.
func postBeacon(t *testing.T, srv *httptest.Server, method, session, tok, ctype, body string) (int, api.Code, http.Header) {
	t.Helper()
	req, _ := http.NewRequest(method, srv.URL+"/v1/sessions/"+session+"/beacon", strings.NewReader(body))
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	var code api.Code
	if resp.StatusCode >= 400 {
		var e api.ErrorResponse
		if err := json.Unmarshal(b, &e); err != nil || e.Error.Code == "" {
			t.Fatalf("%d answer is not a JSON API error: %.200s", resp.StatusCode, b)
		}
		code = e.Error.Code
	}
	return resp.StatusCode, code, resp.Header
}

const goodBeacon = `{"transport":"moq","watch_ms":10000,"first_frame_ms":400,"glass_to_glass_ms":90,"fps":30,"stalls_ms":[900]}`

// TestBeaconRefusals: every refusal is a JSON error with a stable code,
// and changes no viewer metric.
func TestBeaconRefusals(t *testing.T) {
	srv, _, reg, sign := beaconServer(t)
	viewer := sign(token.RoleViewer)
	expired := sign(token.RoleViewer, func(c *token.Claims) {
		c.IssuedAt, c.ExpiresAt = time.Now().Add(-time.Hour), time.Now().Add(-time.Minute)
	})
	forged := viewer[:len(viewer)-4] + "AAAA"
	if forged == viewer {
		forged = viewer[:len(viewer)-4] + "BBBB"
	}
	const ct = "application/json"
	for _, tc := range []struct {
		name, method, session, tok, ctype, body string
		status                                  int
		code                                    api.Code
	}{
		{"no token", "POST", "s1", "", ct, goodBeacon, 401, api.CodeUnauthorized},
		{"expired token", "POST", "s1", expired, ct, goodBeacon, 401, api.CodeTokenExpired},
		{"forged token", "POST", "s1", forged, ct, goodBeacon, 401, api.CodeUnauthorized},
		{"publisher token", "POST", "s1", sign(token.RolePublisher), ct, goodBeacon, 401, api.CodeUnauthorized},
		{"relay token", "POST", "s1", sign(token.RoleRelay), ct, goodBeacon, 401, api.CodeUnauthorized},
		{"other session", "POST", "s2", viewer, ct, goodBeacon, 401, api.CodeUnauthorized},
		{"bound to another edge", "POST", "s1", sign(token.RoleViewer, func(c *token.Claims) { c.Node = "edge-2" }), ct, goodBeacon, 401, api.CodeUnauthorized},
		{"wrong method", "GET", "s1", viewer, ct, "", 405, api.CodeMethodNotAllowed},
		{"wrong content type", "POST", "s1", viewer, "text/plain", goodBeacon, 415, api.CodeUnsupportedType},
		{"too large", "POST", "s1", viewer, ct, strings.Repeat(" ", maxBeaconBody+1), 413, api.CodeTooLarge},
		{"bad JSON", "POST", "s1", viewer, ct, `{"transport":`, 400, api.CodeInvalidJSON},
		{"out of range", "POST", "s1", viewer, ct, `{"transport":"moq","watch_ms":1,"fps":1000}`, 400, api.CodeInvalidArgument},
	} {
		t.Run(tc.name, func(t *testing.T) {
			status, code, h := postBeacon(t, srv, tc.method, tc.session, tc.tok, tc.ctype, tc.body)
			if status != tc.status || code != tc.code {
				t.Fatalf("%d %s, want %d %s", status, code, tc.status, tc.code)
			}
			if h.Get("Access-Control-Allow-Origin") != "*" {
				t.Error("refusal without CORS headers: the page could not read it")
			}
		})
	}
	got := gatherSeries(t, reg)
	for k := range got {
		if strings.HasPrefix(k, "strata_viewer_beacons_total") || strings.HasPrefix(k, "strata_viewer_fps") {
			t.Errorf("a refused beacon made series %s", k)
		}
	}
	if v := got[`strata_viewer_beacons_refused_total{code="token_expired"}`]; v != 1 {
		t.Fatalf("refused{code=token_expired} = %g, want 1 (%v)", v, got)
	}
}

// TestBeaconAccepted: a viewer's (and a controller's) beacon answers 204
// and lands in the histograms labelled with the edge's region and the
// beacon's transport; CORS preflights are answered.
func TestBeaconAccepted(t *testing.T) {
	srv, _, reg, sign := beaconServer(t)
	if status, code, _ := postBeacon(t, srv, "POST", "s1", sign(token.RoleViewer), "application/json; charset=utf-8", goodBeacon); status != 204 {
		t.Fatalf("viewer beacon: %d %s", status, code)
	}
	whep := `{"transport":"whep","watch_ms":5000,"fps":25}`
	if status, code, _ := postBeacon(t, srv, "POST", "s1", sign(token.RoleController), "application/json", whep); status != 204 {
		t.Fatalf("controller beacon: %d %s", status, code)
	}
	got := gatherSeries(t, reg)
	moq, whepL := `{region="eu",transport="moq"}`, `{region="eu",transport="whep"}`
	for k, v := range map[string]float64{
		"strata_viewer_beacons_total" + moq: 1, "strata_viewer_beacons_total" + whepL: 1,
		"strata_viewer_first_frame_seconds_count" + moq: 1, "strata_viewer_first_frame_seconds_sum" + moq: 0.4,
		"strata_viewer_glass_to_glass_seconds_count" + moq: 1, "strata_viewer_glass_to_glass_seconds_sum" + moq: 0.09,
		"strata_viewer_frames_per_second_sum" + moq: 30, "strata_viewer_frames_per_second_sum" + whepL: 25,
		"strata_viewer_stall_seconds_count" + moq: 1, "strata_viewer_stall_seconds_sum" + moq: 0.9,
		"strata_viewer_watch_seconds_total" + moq: 10, "strata_viewer_watch_seconds_total" + whepL: 5,
	} {
		if g, ok := got[k]; !ok || math.Abs(g-v) > 1e-9 {
			t.Errorf("%s = %g (present %v), want %g", k, g, ok, v)
		}
	}
	for _, absent := range []string{"strata_viewer_first_frame_seconds_count" + whepL, "strata_viewer_glass_to_glass_seconds_count" + whepL, "strata_viewer_stall_seconds_count" + whepL} {
		if _, ok := got[absent]; ok {
			t.Errorf("%s present: the WHEP beacon carried no such measurement", absent)
		}
	}

	req, _ := http.NewRequest("OPTIONS", srv.URL+"/v1/sessions/s1/beacon", nil)
	req.Header.Set("Origin", "https://tenant.example")
	req.Header.Set("Access-Control-Request-Method", "POST")
	req.Header.Set("Access-Control-Request-Headers", "authorization, content-type")
	resp, err := srv.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 204 || resp.Header.Get("Access-Control-Allow-Origin") != "*" ||
		!strings.Contains(resp.Header.Get("Access-Control-Allow-Headers"), "Authorization") || !strings.Contains(resp.Header.Get("Access-Control-Allow-Methods"), "POST") {
		t.Fatalf("preflight: %d %v", resp.StatusCode, resp.Header)
	}
}

// TestBeaconRateLimit: one viewer gets its burst, then 429 with a
// Retry-After, and again a beacon once the bucket refilled; another
// viewer is not affected.
func TestBeaconRateLimit(t *testing.T) {
	srv, h, _, sign := beaconServer(t)
	now := time.Unix(1_000_000, 0)
	h.now = func() time.Time { return now }
	a, b := sign(token.RoleViewer), sign(token.RoleViewer, func(c *token.Claims) { c.ExpiresAt = c.ExpiresAt.Add(time.Second) })
	for i := range beaconBurst {
		if status, code, _ := postBeacon(t, srv, "POST", "s1", a, "application/json", goodBeacon); status != 204 {
			t.Fatalf("beacon %d within the burst: %d %s", i, status, code)
		}
	}
	status, code, hdr := postBeacon(t, srv, "POST", "s1", a, "application/json", goodBeacon)
	if status != 429 || code != api.CodeRateLimited || hdr.Get("Retry-After") != "3" {
		t.Fatalf("beacon over the burst: %d %s Retry-After %q; want 429 rate_limited, 3", status, code, hdr.Get("Retry-After"))
	}
	if status, code, _ := postBeacon(t, srv, "POST", "s1", b, "application/json", goodBeacon); status != 204 {
		t.Fatalf("another viewer's beacon: %d %s", status, code)
	}
	now = now.Add(time.Duration(1/beaconRate) * time.Second)
	if status, code, _ := postBeacon(t, srv, "POST", "s1", a, "application/json", goodBeacon); status != 204 {
		t.Fatalf("beacon after the refill: %d %s", status, code)
	}
}

// gatherSeries reads reg as name{labels} -> value: counters and gauges
// by name, histograms as name_count and name_sum.
func gatherSeries(t *testing.T, reg *prometheus.Registry) map[string]float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			var ls []string
			for _, l := range m.GetLabel() {
				ls = append(ls, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
			}
			lbl := ""
			if len(ls) > 0 {
				lbl = "{" + strings.Join(ls, ",") + "}"
			}
			switch {
			case m.GetHistogram() != nil:
				out[mf.GetName()+"_count"+lbl] = float64(m.GetHistogram().GetSampleCount())
				out[mf.GetName()+"_sum"+lbl] = m.GetHistogram().GetSampleSum()
			case m.GetCounter() != nil:
				out[mf.GetName()+lbl] = m.GetCounter().GetValue()
			case m.GetGauge() != nil:
				out[mf.GetName()+lbl] = m.GetGauge().GetValue()
			}
		}
	}
	return out
}
