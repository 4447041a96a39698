package edge

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/strata-edge/strata/api"
	"github.com/strata-edge/strata/internal/ratelimit"
	"github.com/strata-edge/strata/internal/token"
	"github.com/strata-edge/strata/transport/media"
	"github.com/strata-edge/strata/transport/webrtc"
)

// Viewer beacons: the player reports what its viewer experienced (first
// frame time, glass-to-glass latency, stalls, frame rate) to the edge it
// watches from, which exports them as histograms by region and
// transport, next to the edge's own load.

// BeaconPath is the route of the beacon endpoint on the media HTTPS
// listener; {id} is the session.
const BeaconPath = "/v1/sessions/{id}/beacon"

// Beacon limits.
const (
	// maxBeaconBody bounds a beacon; a real one is under 200 bytes.
	maxBeaconBody = 1 << 10
	// maxBeaconStalls bounds the stalls one beacon may list.
	maxBeaconStalls = 32
	// beaconRate and beaconBurst bound one viewer (token and address):
	// players send one every 10 s and one on leaving.
	beaconRate  = 0.5
	beaconBurst = 5
)

// Transports a beacon may name: the player's two.
const (
	beaconMoQ  = "moq"
	beaconWHEP = "whep"
)

// viewerReport is one parsed beacon: what a viewer saw since its last
// one. Absent measurements are negative.
type viewerReport struct {
	Transport    string
	Watch        time.Duration // time covered, playing or stalled
	FirstFrame   time.Duration // play start to first frame; sent once per play
	GlassToGlass time.Duration // capture to display, the interval's median
	FPS          float64       // frames shown per second over the interval
	Stalls       []time.Duration
}

// beaconField is one known key of a beacon: its range in its unit.
type beaconField struct {
	min, max float64
	required bool
}

// beaconFields are the keys a beacon may carry. Times are milliseconds,
// as browsers measure them.
var beaconFields = map[string]beaconField{
	"transport":         {required: true},
	"watch_ms":          {min: 0, max: 600_000, required: true},
	"first_frame_ms":    {min: 0, max: 120_000},
	"glass_to_glass_ms": {min: 0, max: 60_000},
	"fps":               {min: 0, max: 480},
	"stalls_ms":         {min: 0, max: 600_000},
}

// Beacon parse failures; the handler answers invalid_json for the first
// and invalid_argument for the second.
var (
	errBeaconSyntax = errors.New("edge: beacon is not a JSON object")
	errBeaconValue  = errors.New("edge: beacon value out of range")
)

// parseBeacon reads a beacon strictly: one JSON object of known keys,
// each at most once, numbers within their ranges, nothing after it.
func parseBeacon(b []byte) (viewerReport, error) {
	r := viewerReport{FirstFrame: -1, GlassToGlass: -1, FPS: -1}
	if len(b) > maxBeaconBody {
		return r, fmt.Errorf("%w: over %d bytes", errBeaconValue, maxBeaconBody)
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	if t, err := d.Token(); err != nil || t != json.Delim('{') {
		return r, fmt.Errorf("%w: want an object", errBeaconSyntax)
	}
	seen := map[string]bool{}
	for d.More() {
		t, err := d.Token()
		if err != nil {
			return r, fmt.Errorf("%w: %w", errBeaconSyntax, err)
		}
		key, _ := t.(string)
		f, known := beaconFields[key]
		switch {
		case !known:
			return r, fmt.Errorf("%w: unknown key %.40q", errBeaconValue, key)
		case seen[key]:
			return r, fmt.Errorf("%w: duplicate key %q", errBeaconSyntax, key)
		}
		seen[key] = true
		switch key {
		case "transport":
			t, err := d.Token()
			if err != nil {
				return r, fmt.Errorf("%w: %w", errBeaconSyntax, err)
			}
			s, _ := t.(string)
			if s != beaconMoQ && s != beaconWHEP {
				return r, fmt.Errorf("%w: transport must be %q or %q", errBeaconValue, beaconMoQ, beaconWHEP)
			}
			r.Transport = s
		case "stalls_ms":
			if t, err := d.Token(); err != nil || t != json.Delim('[') {
				return r, fmt.Errorf("%w: stalls_ms must be an array", errBeaconValue)
			}
			for d.More() {
				if len(r.Stalls) == maxBeaconStalls {
					return r, fmt.Errorf("%w: stalls_ms lists over %d stalls", errBeaconValue, maxBeaconStalls)
				}
				v, err := beaconNumber(d, key, f)
				if err != nil {
					return r, err
				}
				r.Stalls = append(r.Stalls, millis(v))
			}
			if _, err := d.Token(); err != nil {
				return r, fmt.Errorf("%w: %w", errBeaconSyntax, err)
			}
		default:
			v, err := beaconNumber(d, key, f)
			if err != nil {
				return r, err
			}
			switch key {
			case "watch_ms":
				r.Watch = millis(v)
			case "first_frame_ms":
				r.FirstFrame = millis(v)
			case "glass_to_glass_ms":
				r.GlassToGlass = millis(v)
			case "fps":
				r.FPS = v
			}
		}
	}
	if _, err := d.Token(); err != nil { // the closing brace
		return r, fmt.Errorf("%w: %w", errBeaconSyntax, err)
	}
	if _, err := d.Token(); err != io.EOF {
		return r, fmt.Errorf("%w: data after the object", errBeaconSyntax)
	}
	for k, f := range beaconFields {
		if f.required && !seen[k] {
			return r, fmt.Errorf("%w: %s is required", errBeaconValue, k)
		}
	}
	return r, nil
}

// beaconNumber reads the next token as a number of field key within f's
// range.
func beaconNumber(d *json.Decoder, key string, f beaconField) (float64, error) {
	t, err := d.Token()
	if err != nil {
		return 0, fmt.Errorf("%w: %w", errBeaconSyntax, err)
	}
	n, ok := t.(json.Number)
	if !ok {
		return 0, fmt.Errorf("%w: %s must be a number", errBeaconValue, key)
	}
	v, err := strconv.ParseFloat(string(n), 64)
	if err != nil || math.IsNaN(v) || v < f.min || v > f.max {
		return 0, fmt.Errorf("%w: %s must be within [%g, %g]", errBeaconValue, key, f.min, f.max)
	}
	return v, nil
}

func millis(v float64) time.Duration { return time.Duration(v * float64(time.Millisecond)) }

// viewerMetrics are the beacon histograms. Their only labels are region
// (this edge's, one value) and transport (two), so a million viewers make
// no more series than one.
type viewerMetrics struct {
	firstFrame   *prometheus.HistogramVec
	glassToGlass *prometheus.HistogramVec
	fps          *prometheus.HistogramVec
	stalls       *prometheus.HistogramVec
	watch        *prometheus.CounterVec
	beacons      *prometheus.CounterVec
	refused      *prometheus.CounterVec
	collected    []prometheus.Collector
}

func newViewerMetrics(reg prometheus.Registerer) (*viewerMetrics, error) {
	labels := []string{"region", "transport"}
	hist := func(name, help string, buckets []float64) *prometheus.HistogramVec {
		return prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: name, Help: help, Buckets: buckets}, labels)
	}
	m := &viewerMetrics{
		firstFrame: hist("strata_viewer_first_frame_seconds", "Viewers' time from starting to play to the first frame shown, as their players report it.",
			[]float64{.1, .25, .5, .75, 1, 1.5, 2, 3, 5, 10}),
		glassToGlass: hist("strata_viewer_glass_to_glass_seconds", "Viewers' latency from capture to display, the median of each beacon interval.",
			[]float64{.025, .05, .075, .1, .15, .2, .3, .5, .75, 1, 2, 5}),
		fps: hist("strata_viewer_frames_per_second", "Frames viewers' players showed per second, the mean of each beacon interval.",
			[]float64{1, 5, 10, 15, 20, 24, 25, 30, 45, 50, 60, 90, 120}),
		stalls: hist("strata_viewer_stall_seconds", "Stalls viewers saw (no new frame for over 600 ms), by duration; the count is the number of stalls.",
			[]float64{.75, 1, 1.5, 2, 3, 5, 10, 30, 60}),
		watch: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "strata_viewer_watch_seconds_total",
			Help: "Time viewers' beacons cover, playing or stalled: the denominator of stall and frame rates."}, labels),
		beacons: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "strata_viewer_beacons_total",
			Help: "Viewer beacons accepted."}, labels),
		refused: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "strata_viewer_beacons_refused_total",
			Help: "Viewer beacons refused, by error code."}, []string{"code"}),
	}
	m.collected = []prometheus.Collector{m.firstFrame, m.glassToGlass, m.fps, m.stalls, m.watch, m.beacons, m.refused}
	if reg == nil {
		return m, nil
	}
	for i, c := range m.collected {
		if err := reg.Register(c); err != nil {
			for _, done := range m.collected[:i] {
				reg.Unregister(done)
			}
			return nil, fmt.Errorf("viewer metrics: %w", err)
		}
	}
	return m, nil
}

func (m *viewerMetrics) unregister(reg prometheus.Registerer) {
	if reg == nil {
		return
	}
	for _, c := range m.collected {
		reg.Unregister(c)
	}
}

// observe records one accepted beacon from region.
func (m *viewerMetrics) observe(region string, r viewerReport) {
	l := prometheus.Labels{"region": region, "transport": r.Transport}
	m.beacons.With(l).Inc()
	m.watch.With(l).Add(r.Watch.Seconds())
	if r.FirstFrame >= 0 {
		m.firstFrame.With(l).Observe(r.FirstFrame.Seconds())
	}
	if r.GlassToGlass >= 0 {
		m.glassToGlass.With(l).Observe(r.GlassToGlass.Seconds())
	}
	if r.FPS >= 0 {
		m.fps.With(l).Observe(r.FPS)
	}
	for _, s := range r.Stalls {
		m.stalls.With(l).Observe(s.Seconds())
	}
}

// claimsVerifier verifies a token for this node (*authz.Authorizer).
type claimsVerifier interface {
	Claims(tok string) (token.Claims, error)
}

// beaconHandler serves BeaconPath: a viewer's player POSTs a beacon with
// its viewer token, from any origin (CORS as the WHEP endpoints).
type beaconHandler struct {
	auth    claimsVerifier
	limit   *ratelimit.Limiter
	metrics *viewerMetrics
	region  string
	now     func() time.Time
	log     *slog.Logger
}

func newBeaconHandler(auth claimsVerifier, m *viewerMetrics, region string, log *slog.Logger) *beaconHandler {
	return &beaconHandler{auth: auth, limit: ratelimit.New(beaconRate, beaconBurst), metrics: m,
		region: region, now: time.Now, log: log}
}

func (h *beaconHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Access-Control-Allow-Origin", "*")
	w.Header().Set("Access-Control-Expose-Headers", "Retry-After")
	w.Header().Set("Cache-Control", "no-store")
	if r.Method == http.MethodOptions {
		w.Header().Set("Access-Control-Allow-Methods", "OPTIONS, POST")
		w.Header().Set("Access-Control-Allow-Headers", "Authorization, Content-Type")
		w.Header().Set("Access-Control-Max-Age", "86400")
		w.WriteHeader(http.StatusNoContent)
		return
	}
	if e := h.serve(r); e != nil {
		h.metrics.refused.WithLabelValues(string(e.Code)).Inc()
		if e.Status == http.StatusMethodNotAllowed {
			w.Header().Set("Allow", "OPTIONS, POST")
		}
		e.Write(w)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// serve checks and records one beacon; nil is success.
func (h *beaconHandler) serve(r *http.Request) *api.Error {
	if r.Method != http.MethodPost {
		return api.Errorf(http.StatusMethodNotAllowed, api.CodeMethodNotAllowed, "POST a beacon")
	}
	ct, _, _ := strings.Cut(r.Header.Get("Content-Type"), ";")
	if !strings.EqualFold(strings.TrimSpace(ct), "application/json") {
		return api.Errorf(http.StatusUnsupportedMediaType, api.CodeUnsupportedType, "content type must be application/json")
	}
	// The same bearer token WHEP takes, from the header (or the query).
	tok, _ := (&webrtc.Request{Header: r.Header, Query: r.URL.Query()}).Token()
	if tok == "" {
		return api.Errorf(http.StatusUnauthorized, api.CodeUnauthorized, "a viewer token is required")
	}
	c, err := h.auth.Claims(tok)
	switch {
	case errors.Is(err, token.ErrExpired):
		return api.Errorf(http.StatusUnauthorized, api.CodeTokenExpired, "the viewer token expired")
	case err != nil:
		return api.Errorf(http.StatusUnauthorized, api.CodeUnauthorized, "invalid viewer token")
	}
	ns := media.Namespace{Tenant: c.Tenant, Session: r.PathValue("id")}
	if (c.Role != token.RoleViewer && c.Role != token.RoleController) || !c.Allows(token.RoleViewer, ns.Tenant, ns.Session) || ns.Validate() != nil {
		return api.Errorf(http.StatusUnauthorized, api.CodeUnauthorized, "the token is not a viewer token for this session")
	}
	if wait, ok := h.limit.Allow(viewerKey(tok, r.RemoteAddr), h.now()); !ok {
		e := api.Errorf(http.StatusTooManyRequests, api.CodeRateLimited, "beacons from this viewer come too often (limit %g/s)", beaconRate)
		e.RetryAfter = int(wait/time.Second) + 1
		return e
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBeaconBody+1))
	if err != nil {
		return api.Errorf(http.StatusBadRequest, api.CodeBadRequest, "reading the beacon failed")
	}
	if len(body) > maxBeaconBody {
		return api.Errorf(http.StatusRequestEntityTooLarge, api.CodeTooLarge, "a beacon is at most %d bytes", maxBeaconBody)
	}
	rep, err := parseBeacon(body)
	switch {
	case errors.Is(err, errBeaconSyntax):
		return api.Errorf(http.StatusBadRequest, api.CodeInvalidJSON, "%v", err)
	case err != nil:
		return api.Errorf(http.StatusBadRequest, api.CodeInvalidArgument, "%v", err)
	}
	h.metrics.observe(h.region, rep)
	return nil
}

// viewerKey is the rate-limit bucket of one viewer: its token and its
// address, so viewers behind one NAT, or sharing one embed link, do not
// crowd each other out.
func viewerKey(tok, remoteAddr string) string {
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		host = remoteAddr
	}
	sum := sha256.Sum256([]byte(tok))
	key := string(sum[:12])
	if ip := net.ParseIP(host); ip != nil {
		key += ratelimit.AddrKey(ip)
	}
	return key
}
