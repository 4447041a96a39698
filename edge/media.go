package edge

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/strata-edge/strata/api"
	"github.com/strata-edge/strata/edge/authz"
	"github.com/strata-edge/strata/edge/relay"
	"github.com/strata-edge/strata/internal/certs"
	"github.com/strata-edge/strata/internal/netutil"
	"github.com/strata-edge/strata/internal/pki"
	"github.com/strata-edge/strata/transport/media"
	"github.com/strata-edge/strata/transport/webrtc"
)

// MediaConfig enables the edge's media plane: the MoQ relay on a UDP port
// (raw QUIC and WebTransport at /moq), WHIP and WHEP over HTTPS, and the
// WebRTC UDP mux. An empty QUICAddr and HTTPAddr leave it off.
type MediaConfig struct {
	// QUICAddr is the UDP host:port for MoQ (raw QUIC and WebTransport).
	QUICAddr string `yaml:"quic_addr"`
	// HTTPAddr is the TCP host:port of the HTTPS server for WHIP and WHEP.
	HTTPAddr string `yaml:"http_addr"`
	// WebRTCAddr is the UDP host:port every WebRTC peer connection shares;
	// it needs HTTPAddr.
	WebRTCAddr string `yaml:"webrtc_addr"`
	// WebRTCTCPAddr, if set, also accepts ICE over TCP on this host:port
	// (viewers behind UDP-blocking firewalls).
	WebRTCTCPAddr string `yaml:"webrtc_tcp_addr"`
	// WebRTCPublicIPs are announced in ICE candidates instead of the
	// host's addresses, for an edge behind 1:1 NAT (cloud VMs).
	WebRTCPublicIPs []string `yaml:"webrtc_public_ips"`
	// WebRTCICEServers are STUN URLs announced to WHIP/WHEP clients in
	// Link headers.
	WebRTCICEServers []string `yaml:"webrtc_ice_servers"`
	// WebRTCMaxViewers bounds WHEP viewers; more get 503 with
	// Retry-After. 0 means no limit.
	WebRTCMaxViewers int `yaml:"webrtc_max_viewers"`
	// TLS is where the media listeners' certificate comes from: the
	// default, self-signed, is valid under 14 days and made at start
	// (development: the player pins it by hash for WebTransport); files
	// are the operator's PEM certificate and key, reloaded when they
	// change; acme issues and renews a publicly trusted certificate. The
	// player pins only the self-signed one.
	TLS certs.Config `yaml:"tls"`
	// KeysRefresh is how often the token keys are re-read from an origin
	// (and at most how stale they are; an unknown kid triggers a refresh).
	KeysRefresh time.Duration `yaml:"keys_refresh"`
	// LocateTTL is how long an ingest edge lookup is cached.
	LocateTTL time.Duration `yaml:"locate_ttl"`
}

// Enabled reports whether any media listener is configured.
func (m MediaConfig) Enabled() bool { return m.QUICAddr != "" || m.HTTPAddr != "" }

// Media defaults.
const (
	defaultLocateTTL = 2 * time.Second
	// mediaCallTimeout bounds one origin call made for the media plane.
	mediaCallTimeout = 5 * time.Second
	// httpShutdownGrace bounds the HTTPS server's graceful shutdown.
	httpShutdownGrace = 2 * time.Second
)

func (m MediaConfig) validate(bad func(key, format string, args ...any) error) error {
	for _, a := range []struct{ key, v string }{
		{"media.quic_addr", m.QUICAddr}, {"media.http_addr", m.HTTPAddr}, {"media.webrtc_addr", m.WebRTCAddr},
		{"media.webrtc_tcp_addr", m.WebRTCTCPAddr},
	} {
		if a.v == "" {
			continue
		}
		if _, _, err := netutil.SplitHostPort(a.v); err != nil {
			return bad(a.key, "%v", err)
		}
	}
	switch {
	case m.WebRTCAddr != "" && m.HTTPAddr == "":
		return bad("media.webrtc_addr", "needs media.http_addr (WHIP/WHEP signalling)")
	case m.HTTPAddr != "" && m.WebRTCAddr == "":
		return bad("media.http_addr", "needs media.webrtc_addr (the WebRTC UDP port)")
	case m.KeysRefresh < 0:
		return bad("media.keys_refresh", "must not be negative")
	case m.LocateTTL < 0:
		return bad("media.locate_ttl", "must not be negative")
	case m.WebRTCMaxViewers < 0:
		return bad("media.webrtc_max_viewers", "must not be negative")
	}
	if err := m.TLS.Validate("media.tls"); err != nil {
		var ce *certs.ConfigError
		if errors.As(err, &ce) {
			return bad(ce.Key, "%s", ce.Reason)
		}
		return bad("media.tls", "%v", err)
	}
	for _, ip := range m.WebRTCPublicIPs {
		if net.ParseIP(ip) == nil {
			return bad("media.webrtc_public_ips", "%q is not an IP address", ip)
		}
	}
	return nil
}

// mediaServer wires the edge's media plane: its config, TLS and
// listeners, and the parts that do the work, each in its own file with
// its own lock:
//
//   - keys and auth (edge/authz): the origins' signing keys and the one
//     Authorizer every media path admits tokens with;
//   - hub: the track hub the MoQ relay and the WebRTC server share;
//   - locator (locator.go): which edge ingests a session, for relaying;
//   - relayToks (relaytoken.go): the token this edge shows other edges;
//   - router (rtcauth.go): WHEP viewers bound to another edge go there;
//   - egress (load.go): load accounting for gossip;
//   - beacons (beacon.go): viewers' experience reports, as metrics.
//
// A new media path (the recorder, live HLS) reads from hub and admits
// with auth. No part calls another while holding its own lock, so there
// is no lock order to keep.
//
// Goroutines: the key refresher (owned by keys), the HTTPS server; the
// relay and the WebRTC server own theirs. close stops them in order.
type mediaServer struct {
	log *slog.Logger
	cfg MediaConfig

	keys      *authz.Keys
	auth      *authz.Authorizer
	hub       *media.Hub
	locator   *ingestLocator
	relayToks *relayTokens
	router    *viewerRouter
	egress    egressMeter
	viewers   *viewerMetrics
	beacons   *beaconHandler
	reg       prometheus.Registerer

	tls      certs.Source // the listeners' certificates
	cert     *certs.Cert  // the self-signed certificate the player pins; nil otherwise
	quicConn net.PacketConn
	relay    *relay.Relay
	rtc      *webrtc.Server
	rtcAddr  string
	httpLn   net.Listener
	httpSrv  *http.Server

	ctx    context.Context // bounds origin calls made for the relay
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// mediaAddrs are the bound media endpoints.
type mediaAddrs struct{ QUIC, WHIP, WebRTC string }

// startMedia opens the media listeners and starts serving. Tokens are
// verified with keys fetched from the origins on first use.
// Viewer beacons are labelled with region.
func startMedia(cfg MediaConfig, nodeID, region string, identity *pki.Holder, client *api.Client, log *slog.Logger, reg prometheus.Registerer) (_ *mediaServer, err error) {
	if cfg.LocateTTL <= 0 {
		cfg.LocateTTL = defaultLocateTTL
	}
	m := &mediaServer{log: log.With("component", "edge-media"), cfg: cfg, reg: reg}
	m.ctx, m.cancel = context.WithCancel(context.Background())
	defer func() {
		if err != nil {
			m.close()
		}
	}()
	origins := registryLookup{api: client}
	if m.keys, err = authz.NewKeys(authz.KeysConfig{Refresh: cfg.KeysRefresh, CallTimeout: mediaCallTimeout}, authz.KeysDeps{Source: origins, Logger: m.log}); err != nil {
		return nil, fmt.Errorf("media: %w", err)
	}
	if m.auth, err = authz.New(authz.Config{Keys: m.keys, NodeID: nodeID}); err != nil {
		return nil, fmt.Errorf("media: %w", err)
	}
	m.locator = newIngestLocator(origins, nodeID, cfg.LocateTTL, mediaCallTimeout)
	m.relayToks = newRelayTokens(origins, nodeID, mediaCallTimeout)
	m.router = &viewerRouter{auth: m.auth, nodes: origins, timeout: mediaCallTimeout}

	srvTLS, err := m.tlsConfigs()
	if err != nil {
		return nil, err
	}
	if identity == nil {
		m.log.Warn("no cluster certificate: this edge neither relays broadcasts from other edges nor serves them to other edges")
	}
	m.relay, err = relay.New(relay.Config{IngestTracks: []string{"catalog", "video", "audio"}},
		relay.Deps{Authorizer: m.auth, Locator: m.locator.locate, Identity: identity,
			RelayToken: func() ([]byte, error) { return m.relayToks.get(m.ctx) },
			Registerer: reg, Logger: log})
	if err != nil {
		return nil, fmt.Errorf("media: relay: %w", err)
	}
	m.hub = m.relay.Hub()
	if cfg.QUICAddr != "" {
		if m.quicConn, err = net.ListenPacket("udp", cfg.QUICAddr); err != nil {
			return nil, fmt.Errorf("media: quic_addr: %w", err)
		}
		if err = m.relay.Listen(m.quicConn, srvTLS, nil); err != nil {
			return nil, fmt.Errorf("media: moq listen: %w", err)
		}
	}
	if cfg.HTTPAddr != "" {
		udp, err := net.ListenPacket("udp", cfg.WebRTCAddr)
		if err != nil {
			return nil, fmt.Errorf("media: webrtc_addr: %w", err)
		}
		m.rtcAddr = udp.LocalAddr().String()
		rcfg := webrtc.Config{Hub: m.hub, UDPConn: udp, Authorizer: rtcAuthorizer(m.auth), Router: m.router.route,
			NAT1To1IPs: cfg.WebRTCPublicIPs, MaxViewers: cfg.WebRTCMaxViewers,
			Registerer: reg, Logger: log.With("component", "edge-webrtc")}
		for _, u := range cfg.WebRTCICEServers {
			rcfg.ICEServers = append(rcfg.ICEServers, webrtc.ICEServer{URL: u})
		}
		if cfg.WebRTCTCPAddr != "" {
			if rcfg.TCPListener, err = net.Listen("tcp", cfg.WebRTCTCPAddr); err != nil {
				_ = udp.Close()
				return nil, fmt.Errorf("media: webrtc_tcp_addr: %w", err)
			}
		}
		m.rtc, err = webrtc.New(rcfg)
		if err != nil {
			_ = udp.Close()
			if rcfg.TCPListener != nil {
				_ = rcfg.TCPListener.Close()
			}
			return nil, fmt.Errorf("media: webrtc: %w", err)
		}
		ln, err := net.Listen("tcp", cfg.HTTPAddr)
		if err != nil {
			return nil, fmt.Errorf("media: http_addr: %w", err)
		}
		m.httpLn = tls.NewListener(ln, srvTLS)
		if m.viewers, err = newViewerMetrics(reg); err != nil {
			return nil, fmt.Errorf("media: %w", err)
		}
		m.beacons = newBeaconHandler(m.auth, m.viewers, region, m.log)
		mux := http.NewServeMux()
		mux.Handle("/whip/", m.rtc)
		mux.Handle("/whep/", m.rtc)
		mux.Handle(BeaconPath, m.beacons)
		m.mountPlayer(mux)
		m.httpSrv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second,
			ErrorLog: slog.NewLogLogger(m.log.Handler(), slog.LevelDebug)}
		m.wg.Go(func() {
			if err := m.httpSrv.Serve(m.httpLn); err != nil && !errors.Is(err, http.ErrServerClosed) {
				m.log.Error("whip/whep server stopped", "err", err)
			}
		})
	}
	m.wg.Go(func() { _ = m.keys.Run(m.ctx) })
	m.tls.Start() // after the listeners: ACME validation connects to them
	a := m.addrs()
	m.log.Info("media plane serving", "moq", a.QUIC, "whip", a.WHIP, "webrtc", a.WebRTC)
	return m, nil
}

// tlsConfigs sets up the public listeners' certificate source
// (self-signed, operator files or ACME). Other edges are not its concern:
// relays use the cluster certificates (relay.Deps.Identity).
func (m *mediaServer) tlsConfigs() (*tls.Config, error) {
	var hosts []string
	for _, a := range []string{m.cfg.QUICAddr, m.cfg.HTTPAddr} {
		if h, _, err := net.SplitHostPort(a); err == nil && h != "" {
			hosts = append(hosts, h)
		}
	}
	var err error
	if m.tls, err = certs.FromConfig(m.cfg.TLS, certs.Deps{Logger: m.log, Hosts: hosts}); err != nil {
		return nil, fmt.Errorf("%w: media.tls: %w", ErrInvalid, err)
	}
	m.cert, _ = m.tls.(*certs.Cert)
	return certs.ServerTLS(m.tls), nil
}

// addrs are the bound media endpoints ("" when not served).
func (m *mediaServer) addrs() mediaAddrs {
	var a mediaAddrs
	if m.quicConn != nil {
		a.QUIC = m.quicConn.LocalAddr().String()
	}
	if m.httpLn != nil {
		a.WHIP = m.httpLn.Addr().String()
	}
	if m.rtc != nil {
		a.WebRTC = m.rtcAddr
	}
	return a
}

// CertSHA256 is the hash of the self-signed media certificate, for
// WebTransport's serverCertificateHashes; ok is false with operator files
// or ACME, whose certificates browsers trust without pinning.
func (m *mediaServer) CertSHA256() (sum [32]byte, ok bool) {
	if m.cert == nil {
		return sum, false
	}
	return m.cert.SHA256, true
}

// close stops serving: the key refresher and the HTTPS server, then the
// WebRTC server (its peers read the hub), then the relay (which closes
// the hub), then the MoQ socket.
func (m *mediaServer) close() {
	m.cancel() // ends the key refresher, Keys.Run
	if m.keys != nil {
		_ = m.keys.Close(context.Background())
	}
	if m.httpSrv != nil {
		ctx, cancel := context.WithTimeout(context.Background(), httpShutdownGrace)
		if err := m.httpSrv.Shutdown(ctx); err != nil {
			_ = m.httpSrv.Close()
		}
		cancel()
	} else if m.httpLn != nil {
		_ = m.httpLn.Close()
	}
	m.wg.Wait()
	if m.rtc != nil {
		if err := m.rtc.Close(context.Background()); err != nil {
			m.log.Debug("webrtc close", "err", err)
		}
	}
	if m.relay != nil {
		if err := m.relay.Close(context.Background()); err != nil {
			m.log.Debug("relay close", "err", err)
		}
	}
	if m.quicConn != nil {
		_ = m.quicConn.Close()
	}
	if m.viewers != nil {
		m.viewers.unregister(m.reg)
	}
	if m.tls != nil {
		ctx, cancel := context.WithTimeout(context.Background(), httpShutdownGrace)
		if err := m.tls.Close(ctx); err != nil {
			m.log.Debug("certificate source close", "err", err)
		}
		cancel()
	}
}
