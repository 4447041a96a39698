package testcluster

// The player rig: the player's browser tests and `strata-bench player`
// run the player against a one-origin cluster with one media edge, a
// session fed by the test source, and an HTTP front for the edge's player
// pages. It lives here, beside the edges it starts, so that the browser
// driver (player/playertest) needs nothing of the edge.

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sync"
	"time"

	"github.com/strata-edge/strata/api"
	"github.com/strata-edge/strata/edge"
	"github.com/strata-edge/strata/internal/logging"
	"github.com/strata-edge/strata/internal/pki"
	"github.com/strata-edge/strata/internal/testsrc"
	"github.com/strata-edge/strata/transport/media"
)

// ErrPlayerSetup means the player rig's cluster, session or source could
// not be set up.
var ErrPlayerSetup = errors.New("testcluster: player rig setup failed")

// PlayerRigOptions shape a PlayerRig.
type PlayerRigOptions struct {
	// Dir holds the cluster's data (required).
	Dir string
	// Logger is nil for a discarding logger.
	Logger *slog.Logger
	// WHIP publishes the test source over WHIP instead of MoQ.
	WHIP bool
}

// PlayerRig is a running cluster with a live session.
type PlayerRig struct {
	Cluster   *Cluster
	Edge      *edge.Edge
	Namespace media.Namespace
	Source    *testsrc.Source
	Publisher *testsrc.Publisher // nil with WHIP
	// WHIPPublisher is the source's publisher with PlayerRigOptions.WHIP.
	WHIPPublisher *testsrc.WHIPPublisher
	// Front is the plain-HTTP address (on loopback, a secure context)
	// that forwards /player.js, /embed/ and /whep/ to the edge's HTTPS
	// server, so the browser needs no certificate exception: WebTransport
	// pins the edge's certificate by hash, as in production dev setups.
	Front string

	tenant   *api.Client
	log      *slog.Logger
	whip     bool
	edgeHTTP string
	srv      *http.Server
	ln       net.Listener
	stop     context.CancelFunc
	wg       sync.WaitGroup
}

// StartPlayerRig starts a one-origin cluster, one edge with its media
// plane, a tenant, app and session placed on the edge, and the test
// source publishing into the session.
func StartPlayerRig(ctx context.Context, opts PlayerRigOptions) (_ *PlayerRig, err error) {
	if opts.Logger == nil {
		opts.Logger = logging.Discard()
	}
	c, err := Start(Options{Origins: 1, Dir: opts.Dir, Logger: opts.Logger})
	if err != nil {
		return nil, fmt.Errorf("%w: cluster: %w", ErrPlayerSetup, err)
	}
	r := &PlayerRig{Cluster: c, log: opts.Logger, whip: opts.WHIP}
	defer func() {
		if err != nil {
			r.Close()
		}
	}()
	r.Edge, err = c.StartEdge(EdgeSpec{ID: "edge-1", Lat: 48.85, Lon: 2.35,
		Media: edge.MediaConfig{QUICAddr: "127.0.0.1:0", HTTPAddr: "127.0.0.1:0", WebRTCAddr: "127.0.0.1:0"}})
	if err != nil {
		return nil, fmt.Errorf("%w: edge: %w", ErrPlayerSetup, err)
	}
	if err := c.WaitEdges([]string{"edge-1"}, 20*time.Second); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrPlayerSetup, err)
	}
	admin := c.Client()
	ten, err := admin.Tenants().Create(ctx, api.TenantCreate{Name: "player", Quota: &api.Quota{MaxSessions: 10}})
	if err != nil {
		return nil, fmt.Errorf("%w: tenant: %w", ErrPlayerSetup, err)
	}
	key, err := admin.Keys().Create(ctx, ten.ID, api.KeyCreate{Name: "player test"})
	if err != nil {
		return nil, fmt.Errorf("%w: key: %w", ErrPlayerSetup, err)
	}
	r.tenant = admin.WithToken(key.Token)
	app, err := r.tenant.Apps().Create(ctx, api.AppSpec{Name: "player-test", Command: []string{"strata", "testsrc"}, GPUs: 1, EgressMbps: 8})
	if err != nil {
		return nil, fmt.Errorf("%w: app: %w", ErrPlayerSetup, err)
	}
	lat, lon := 48.85, 2.35
	ses, err := r.tenant.Sessions().Create(ctx, api.SessionSpec{AppID: app.ID, Lat: &lat, Lon: &lon})
	if err != nil {
		return nil, fmt.Errorf("%w: session: %w", ErrPlayerSetup, err)
	}
	r.Namespace = media.Namespace{Tenant: ten.ID, Session: ses.ID}
	pub, err := r.tenant.Sessions().Publisher(ctx, ses.ID)
	if err != nil {
		return nil, fmt.Errorf("%w: publisher token: %w", ErrPlayerSetup, err)
	}
	if err := r.startSource(ctx, pub, opts.Logger); err != nil {
		return nil, err
	}
	v, err := r.Viewer(ctx, false)
	if err != nil {
		return nil, err
	}
	u, err := url.Parse(v.WHEPURL)
	if err != nil || u.Host == "" {
		return nil, fmt.Errorf("%w: viewer grant has no WHEP URL: %q", ErrPlayerSetup, v.WHEPURL)
	}
	r.edgeHTTP = u.Host
	if err := r.startFront(); err != nil {
		return nil, err
	}
	return r, nil
}

// startSource runs the test source and its publisher (MoQ, or WHIP)
// until Close.
func (r *PlayerRig) startSource(ctx context.Context, pub *api.PublisherAnswer, log *slog.Logger) error {
	u, err := url.Parse(pub.MoQURL)
	if err != nil || u.Host == "" {
		return fmt.Errorf("%w: publisher grant has no MoQ URL: %q", ErrPlayerSetup, pub.MoQURL)
	}
	clip, err := testsrc.LoadClip()
	if err != nil {
		return fmt.Errorf("%w: %w", ErrPlayerSetup, err)
	}
	if r.Source, err = testsrc.NewSource(clip, testsrc.SourceOptions{}); err != nil {
		return fmt.Errorf("%w: %w", ErrPlayerSetup, err)
	}
	runCtx, stop := context.WithCancel(context.Background())
	r.stop = stop
	r.wg.Go(func() { _ = r.Source.Run(runCtx) })
	if r.whip {
		r.WHIPPublisher, err = testsrc.DialWHIP(ctx, r.Source, testsrc.WHIPConfig{URL: pub.WHIPURL, Token: []byte(pub.Token),
			TLS: r.pinnedTLS(), Logger: log.With("component", "testsrc")})
		if err != nil {
			return fmt.Errorf("%w: publish over WHIP: %w", ErrPlayerSetup, err)
		}
		r.wg.Go(func() { _ = r.WHIPPublisher.Serve(runCtx) })
		return nil
	}
	r.Publisher, err = testsrc.Dial(ctx, r.Source, testsrc.PublishConfig{Addr: u.Host, TLS: r.pinnedTLS(),
		Token: []byte(pub.Token), Namespace: r.Namespace, Logger: log.With("component", "testsrc")})
	if err != nil {
		return fmt.Errorf("%w: publish: %w", ErrPlayerSetup, err)
	}
	r.wg.Go(func() { _ = r.Publisher.Serve(runCtx) })
	return nil
}

// pinnedTLS trusts exactly the edge's self-signed media certificate.
func (r *PlayerRig) pinnedTLS() *tls.Config {
	want, _ := r.Edge.MediaCertSHA256()
	return &tls.Config{
		InsecureSkipVerify: true, // replaced by the pin below
		VerifyPeerCertificate: func(raw [][]byte, _ [][]*x509.Certificate) error {
			if len(raw) == 0 || sha256.Sum256(raw[0]) != want {
				return errors.New("testcluster: edge certificate does not match its pinned hash")
			}
			return nil
		},
	}
}

// startFront serves the plain-HTTP front on loopback.
func (r *PlayerRig) startFront() error {
	target := &url.URL{Scheme: "https", Host: r.edgeHTTP}
	p := httputil.NewSingleHostReverseProxy(target)
	p.Transport = &http.Transport{TLSClientConfig: r.pinnedTLS(), ForceAttemptHTTP2: false}
	p.ErrorLog = slog.NewLogLogger(logging.Discard().Handler(), slog.LevelDebug)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return fmt.Errorf("%w: front: %w", ErrPlayerSetup, err)
	}
	r.ln = ln
	r.Front = ln.Addr().String()
	r.srv = &http.Server{Handler: p, ReadHeaderTimeout: 5 * time.Second}
	r.wg.Go(func() { _ = r.srv.Serve(ln) })
	return nil
}

// Viewer asks the origin for a viewer grant (controller: the role that
// may send input).
func (r *PlayerRig) Viewer(ctx context.Context, controller bool) (*api.ViewerAnswer, error) {
	return r.viewer(ctx, api.ViewerRequest{Controller: controller})
}

// viewer asks for a viewer grant from the rig's viewer location.
func (r *PlayerRig) viewer(ctx context.Context, req api.ViewerRequest) (*api.ViewerAnswer, error) {
	lat, lon := 48.85, 2.35
	req.Lat, req.Lon = &lat, &lon
	v, err := r.tenant.Sessions().Viewer(ctx, r.Namespace.Session, req)
	if err != nil {
		return nil, fmt.Errorf("%w: viewer grant: %w", ErrPlayerSetup, err)
	}
	return v, nil
}

// ViewerTTL asks for a viewer grant whose token works for ttl (whole
// seconds, at most api.MaxViewerTTLSeconds).
func (r *PlayerRig) ViewerTTL(ctx context.Context, ttl time.Duration) (*api.ViewerAnswer, error) {
	return r.viewer(ctx, api.ViewerRequest{TTLSeconds: int64(ttl / time.Second)})
}

// BeaconURL is the edge's viewer beacon endpoint for the rig's session.
func (r *PlayerRig) BeaconURL() string {
	return "https://" + r.edgeHTTP + "/v1/sessions/" + url.PathEscape(r.Namespace.Session) + "/beacon"
}

// PinnedClient is an HTTPS client that trusts the edge's media
// certificate (pinned), for requests to its media listener.
func (r *PlayerRig) PinnedClient() *http.Client {
	return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: r.pinnedTLS()}}
}

// EmbedURL is the embed page for token, through the front.
func (r *PlayerRig) EmbedURL(token string) string {
	return "http://" + r.Front + "/embed/" + url.PathEscape(r.Namespace.Session) + "?token=" + url.QueryEscape(token)
}

// EdgeMetrics scrapes the edge's /metrics (HTTPS with its cluster
// certificate, trusted through the cluster CA).
func (r *PlayerRig) EdgeMetrics(ctx context.Context) (string, error) {
	roots := x509.NewCertPool()
	roots.AddCert(r.Cluster.CA)
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots, ServerName: pki.ServerName}}}
	defer hc.CloseIdleConnections()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "https://"+r.Edge.MetricsAddr()+"/metrics", nil)
	if err != nil {
		return "", err
	}
	resp, err := hc.Do(req)
	if err != nil {
		return "", fmt.Errorf("testcluster: scrape edge: %w", err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err == nil && resp.StatusCode != http.StatusOK {
		err = fmt.Errorf("testcluster: scrape edge: %d %.200s", resp.StatusCode, b)
	}
	return string(b), err
}

// StopSource ends the test source and its publisher: the session's
// broadcast ends at the edge.
func (r *PlayerRig) StopSource() {
	if r.stop != nil {
		r.stop()
	}
}

// RestartSource publishes into the session again after StopSource, with
// a fresh publisher token, as an instance that comes back would.
func (r *PlayerRig) RestartSource(ctx context.Context) error {
	pub, err := r.tenant.Sessions().Publisher(ctx, r.Namespace.Session)
	if err != nil {
		return fmt.Errorf("%w: publisher token: %w", ErrPlayerSetup, err)
	}
	return r.startSource(ctx, pub, r.log)
}

// Close stops the front, the source and the cluster.
func (r *PlayerRig) Close() {
	if r.srv != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		_ = r.srv.Shutdown(ctx)
		cancel()
	}
	if r.stop != nil {
		r.stop()
	}
	r.wg.Wait()
	if r.Cluster != nil {
		r.Cluster.Close()
	}
}
