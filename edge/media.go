package edge

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/strata-edge/strata/api"
	"github.com/strata-edge/strata/edge/relay"
	"github.com/strata-edge/strata/internal/certs"
	"github.com/strata-edge/strata/internal/token"
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
	// TLSCert and TLSKey are PEM files; empty generates a self-signed
	// certificate valid under 14 days (local use: browsers pin it by hash
	// for WebTransport).
	TLSCert string `yaml:"tls_cert"`
	TLSKey  string `yaml:"tls_key"`
	// TLSCA, a PEM file, verifies other edges' certificates when relaying;
	// empty uses the system roots, or no verification with a self-signed
	// certificate.
	TLSCA string `yaml:"tls_ca"`
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
	defaultKeysRefresh = time.Minute
	defaultLocateTTL   = 2 * time.Second
	// keysMinInterval bounds refreshes caused by unknown kids.
	keysMinInterval = time.Second
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
		if _, _, err := splitHostPort(a.v); err != nil {
			return bad(a.key, "%v", err)
		}
	}
	switch {
	case m.WebRTCAddr != "" && m.HTTPAddr == "":
		return bad("media.webrtc_addr", "needs media.http_addr (WHIP/WHEP signalling)")
	case m.HTTPAddr != "" && m.WebRTCAddr == "":
		return bad("media.http_addr", "needs media.webrtc_addr (the WebRTC UDP port)")
	case (m.TLSCert == "") != (m.TLSKey == ""):
		return bad("media.tls_cert", "media.tls_cert and media.tls_key go together")
	case m.KeysRefresh < 0:
		return bad("media.keys_refresh", "must not be negative")
	case m.LocateTTL < 0:
		return bad("media.locate_ttl", "must not be negative")
	case m.WebRTCMaxViewers < 0:
		return bad("media.webrtc_max_viewers", "must not be negative")
	}
	for _, ip := range m.WebRTCPublicIPs {
		if net.ParseIP(ip) == nil {
			return bad("media.webrtc_public_ips", "%q is not an IP address", ip)
		}
	}
	return nil
}

// mediaServer is the edge's media plane: one hub shared by the MoQ relay
// and the WebRTC server, offline token verification with keys from the
// origins, and the relay's view of the registry.
//
// Goroutines: the key refresher, the HTTPS server; the relay and the
// WebRTC server own theirs. close stops them in order.
type mediaServer struct {
	log    *slog.Logger
	api    *api.Client
	nodeID string
	cfg    MediaConfig

	keys   atomic.Pointer[token.KeySet]
	keysMu sync.Mutex // serializes fetches; guards keysAt
	keysAt time.Time

	locMu sync.Mutex
	locs  map[media.Namespace]located

	relayMu  sync.Mutex
	relayTok []byte
	relayExp time.Time

	cert     *certs.Cert // nil with configured files
	quicConn net.PacketConn
	relay    *relay.Relay
	rtc      *webrtc.Server
	rtcAddr  string
	httpLn   net.Listener
	httpSrv  *http.Server

	loadMu    sync.Mutex
	lastBytes uint64
	lastAt    time.Time

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

type located struct {
	addr string
	exp  time.Time
}

// mediaAddrs are the bound media endpoints.
type mediaAddrs struct{ QUIC, WHIP, WebRTC string }

// startMedia opens the media listeners and starts serving. Tokens are
// verified with keys fetched from the origins on first use.
func startMedia(cfg MediaConfig, nodeID string, origins *api.Client, log *slog.Logger, reg prometheus.Registerer) (_ *mediaServer, err error) {
	if cfg.KeysRefresh <= 0 {
		cfg.KeysRefresh = defaultKeysRefresh
	}
	if cfg.LocateTTL <= 0 {
		cfg.LocateTTL = defaultLocateTTL
	}
	m := &mediaServer{log: log.With("component", "edge-media"), api: origins, nodeID: nodeID, cfg: cfg,
		locs: map[media.Namespace]located{}}
	m.ctx, m.cancel = context.WithCancel(context.Background())
	defer func() {
		if err != nil {
			m.close()
		}
	}()
	srvTLS, upTLS, err := m.tlsConfigs()
	if err != nil {
		return nil, err
	}
	m.relay, err = relay.New(relay.Options{
		Verify: m.verify, NodeID: nodeID, Locator: m.locate, RelayToken: m.relayToken,
		UpstreamTLS: upTLS, IngestTracks: []string{"catalog", "video", "audio"},
		Registerer: reg, Logger: log,
	})
	if err != nil {
		return nil, fmt.Errorf("media: relay: %w", err)
	}
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
		rcfg := webrtc.Config{Hub: m.relay.Hub(), UDPConn: udp, Authorizer: m.authorizeRTC, Router: m.routeRTC,
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
		mux := http.NewServeMux()
		mux.Handle("/whip/", m.rtc)
		mux.Handle("/whep/", m.rtc)
		m.mountPlayer(mux)
		m.httpSrv = &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second,
			ErrorLog: slog.NewLogLogger(m.log.Handler(), slog.LevelDebug)}
		m.wg.Go(func() {
			if err := m.httpSrv.Serve(m.httpLn); err != nil && !errors.Is(err, http.ErrServerClosed) {
				m.log.Error("whip/whep server stopped", "err", err)
			}
		})
	}
	m.wg.Go(m.refreshKeys)
	a := m.addrs()
	m.log.Info("media plane serving", "moq", a.QUIC, "whip", a.WHIP, "webrtc", a.WebRTC)
	return m, nil
}

// tlsConfigs loads or makes the server certificate and the client config
// for dialing other edges.
func (m *mediaServer) tlsConfigs() (srv, up *tls.Config, err error) {
	var cert tls.Certificate
	if m.cfg.TLSCert != "" {
		if cert, err = tls.LoadX509KeyPair(m.cfg.TLSCert, m.cfg.TLSKey); err != nil {
			return nil, nil, fmt.Errorf("%w: media.tls_cert: %w", ErrInvalid, err)
		}
	} else {
		var hosts []string
		for _, a := range []string{m.cfg.QUICAddr, m.cfg.HTTPAddr} {
			if h, _, err := net.SplitHostPort(a); err == nil && h != "" {
				hosts = append(hosts, h)
			}
		}
		if m.cert, err = certs.SelfSigned(hosts, 0); err != nil {
			return nil, nil, fmt.Errorf("media: %w", err)
		}
		cert = m.cert.TLS
	}
	srv = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS13}
	up = &tls.Config{MinVersion: tls.VersionTLS13}
	switch {
	case m.cfg.TLSCA != "":
		pem, err := os.ReadFile(m.cfg.TLSCA)
		if err != nil {
			return nil, nil, fmt.Errorf("%w: media.tls_ca: %w", ErrInvalid, err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, nil, fmt.Errorf("%w: media.tls_ca: no PEM certificates", ErrInvalid)
		}
		up.RootCAs = pool
	case m.cert != nil:
		// Every edge made its own certificate: nothing to verify another
		// edge's against. Addresses come from the registry.
		m.log.Warn("self-signed media certificate: relay connections to other edges are not verified (set media.tls_cert and media.tls_ca)")
		up.InsecureSkipVerify = true
	}
	return srv, up, nil
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
// WebTransport's serverCertificateHashes; ok is false with configured
// certificate files.
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
	m.cancel()
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
		if err := m.rtc.Close(); err != nil {
			m.log.Debug("webrtc close", "err", err)
		}
	}
	if m.relay != nil {
		if err := m.relay.Close(); err != nil {
			m.log.Debug("relay close", "err", err)
		}
	}
	if m.quicConn != nil {
		_ = m.quicConn.Close()
	}
}

// load is the media plane's LoadSource: egress bit/s since the last call,
// live viewers and ingested sessions over MoQ and WebRTC.
func (m *mediaServer) load() MediaLoad {
	st := m.relay.Stats()
	total := st.EgressBytes
	viewers := st.Subscribers
	sessions := int64(st.Publishers)
	if m.rtc != nil {
		total += m.rtc.EgressBytes()
		pubs, views := m.rtc.Counts()
		viewers += int64(views)
		sessions += int64(pubs)
	}
	m.loadMu.Lock()
	now := time.Now()
	var bps uint64
	if !m.lastAt.IsZero() && now.After(m.lastAt) && total >= m.lastBytes {
		bps = uint64(float64(total-m.lastBytes) * 8 / now.Sub(m.lastAt).Seconds())
	}
	m.lastBytes, m.lastAt = total, now
	m.loadMu.Unlock()
	return MediaLoad{EgressBps: bps, Viewers: uint32(max(viewers, 0)), Sessions: uint32(max(sessions, 0))}
}

// refreshKeys re-reads the token keys every KeysRefresh until close.
func (m *mediaServer) refreshKeys() {
	t := time.NewTicker(m.cfg.KeysRefresh)
	defer t.Stop()
	for {
		if err := m.fetchKeys(true); err != nil && m.ctx.Err() == nil {
			m.log.Warn("token keys not refreshed", "err", err)
		}
		select {
		case <-m.ctx.Done():
			return
		case <-t.C:
		}
	}
}

// fetchKeys reads GET /v1/cluster/keys and swaps the key set in. Unless
// force, it does nothing within keysMinInterval of the last fetch.
func (m *mediaServer) fetchKeys(force bool) error {
	m.keysMu.Lock()
	defer m.keysMu.Unlock()
	if !force && time.Since(m.keysAt) < keysMinInterval {
		return nil
	}
	m.keysAt = time.Now()
	ctx, cancel := context.WithTimeout(m.ctx, mediaCallTimeout)
	defer cancel()
	set, err := m.api.Cluster().Keys(ctx)
	if err != nil {
		return fmt.Errorf("fetch token keys: %w", err)
	}
	doc, err := json.Marshal(set)
	if err != nil {
		return fmt.Errorf("fetch token keys: %w", err)
	}
	ks, err := token.ParseJWKS(doc)
	if err != nil {
		return err
	}
	m.keys.Store(ks)
	return nil
}

// verify checks a token against the origins' keys, refreshing them once
// (rate-limited) when the token names a key not known yet.
func (m *mediaServer) verify(tok string, now time.Time) (token.Claims, error) {
	ks := m.keys.Load()
	if ks != nil {
		c, err := ks.Verify(tok, now)
		if !errors.Is(err, token.ErrUnknownKey) {
			return c, err
		}
	}
	if err := m.fetchKeys(false); err != nil {
		m.log.Warn("token keys unavailable", "err", err)
	}
	if ks = m.keys.Load(); ks == nil {
		return token.Claims{}, fmt.Errorf("%w: no token keys yet", token.ErrUnknownKey)
	}
	return ks.Verify(tok, now)
}

// authorizeRTC is the WHIP/WHEP Authorizer: the same tokens as MoQ.
func (m *mediaServer) authorizeRTC(_ context.Context, tok string, ns media.Namespace, want webrtc.Role) (webrtc.Role, error) {
	if tok == "" {
		return 0, relay.ErrNoToken
	}
	c, err := m.verify(tok, time.Now())
	if err != nil {
		return 0, err
	}
	if c.Node != "" && c.Node != m.nodeID {
		return 0, fmt.Errorf("%w: token is for node %q", relay.ErrUnauthorized, c.Node)
	}
	switch {
	case want == webrtc.RolePublisher && c.Role == token.RolePublisher && c.Allows(token.RolePublisher, ns.Tenant, ns.Session):
		return webrtc.RolePublisher, nil
	case want != webrtc.RolePublisher && c.Role == token.RoleController && c.Allows(token.RoleController, ns.Tenant, ns.Session):
		return webrtc.RoleController, nil
	case want != webrtc.RolePublisher && c.Role == token.RoleViewer && c.Allows(token.RoleViewer, ns.Tenant, ns.Session):
		return webrtc.RoleViewer, nil
	}
	return 0, fmt.Errorf("%w: %s token for %s/%s cannot %s %s", relay.ErrUnauthorized, c.Role, c.Tenant, c.Session, want, ns)
}

// routeRTC sends a WHEP viewer whose valid token is bound to another
// edge (the one the origin routed it to) there with a 307; anything else
// is left to authorization.
func (m *mediaServer) routeRTC(ctx context.Context, ns media.Namespace, req *webrtc.Request) (string, error) {
	tok, _ := strings.CutPrefix(req.Header.Get("Authorization"), "Bearer ")
	c, err := m.verify(strings.TrimSpace(tok), time.Now())
	if err != nil || c.Node == "" || c.Node == m.nodeID || c.Tenant != ns.Tenant || c.Session != ns.Session {
		return "", nil
	}
	ctx, cancel := context.WithTimeout(ctx, mediaCallTimeout)
	defer cancel()
	n, err := m.api.Nodes().Get(ctx, c.Node, "")
	if err != nil {
		return "", fmt.Errorf("route viewer to %s: %w", c.Node, err)
	}
	addr := n.Addrs["whip"]
	if addr == "" {
		return "", nil
	}
	return "https://" + addr + "/whep/" + url.PathEscape(ns.Tenant) + "/" + url.PathEscape(ns.Session), nil
}

// locate is the relay's Locator: the session's reservation names the
// ingest edge, whose registered addrs.quic is dialed. Lookups are cached
// for LocateTTL.
func (m *mediaServer) locate(ctx context.Context, ns media.Namespace) (string, error) {
	m.locMu.Lock()
	l, ok := m.locs[ns]
	m.locMu.Unlock()
	if ok && time.Now().Before(l.exp) {
		return l.addr, nil
	}
	ctx, cancel := context.WithTimeout(ctx, mediaCallTimeout)
	defer cancel()
	s, err := m.api.Sessions().Get(ctx, ns.Session, "")
	if err != nil {
		if st := api.StatusOf(err); st == http.StatusNotFound || st == http.StatusBadRequest {
			return "", fmt.Errorf("%w: session %s: %w", media.ErrNotFound, ns.Session, err)
		}
		return "", fmt.Errorf("locate %s: %w", ns, err)
	}
	if s.TenantID != ns.Tenant || s.Reservation == nil {
		return "", fmt.Errorf("%w: %s has no ingest edge", media.ErrNotFound, ns)
	}
	if s.Reservation.NodeID == m.nodeID {
		return "", fmt.Errorf("%w: %s is ingested here but not published", media.ErrNotFound, ns)
	}
	n, err := m.api.Nodes().Get(ctx, s.Reservation.NodeID, "")
	if err != nil {
		return "", fmt.Errorf("locate %s: node %s: %w", ns, s.Reservation.NodeID, err)
	}
	addr := n.Addrs["quic"]
	if addr == "" {
		return "", fmt.Errorf("%w: ingest edge %s serves no MoQ", media.ErrNotFound, n.ID)
	}
	m.locMu.Lock()
	m.locs[ns] = located{addr: addr, exp: time.Now().Add(m.cfg.LocateTTL)}
	m.locMu.Unlock()
	return addr, nil
}

// relayToken returns a relay-role token from the origins, reusing it
// until two minutes before it expires.
func (m *mediaServer) relayToken() ([]byte, error) {
	m.relayMu.Lock()
	defer m.relayMu.Unlock()
	if m.relayTok != nil && time.Until(m.relayExp) > 2*time.Minute {
		return m.relayTok, nil
	}
	ctx, cancel := context.WithTimeout(m.ctx, mediaCallTimeout)
	defer cancel()
	ans, err := m.api.Nodes().RelayToken(ctx, m.nodeID)
	if err != nil {
		return nil, fmt.Errorf("relay token: %w", err)
	}
	m.relayTok, m.relayExp = []byte(ans.Token), ans.ExpiresAt
	return m.relayTok, nil
}
