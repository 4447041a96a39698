package webrtc

import (
	"context"
	"fmt"
	"net"
	"sync"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/nack"
	"github.com/pion/logging"
	"github.com/pion/webrtc/v4"
	"github.com/strata-edge/strata/transport/media"
)

// Server owns every WHIP and WHEP resource of a node, the shared ICE
// sockets and the per-track packetizing feeds.
type Server struct {
	cfg    Config
	api    *webrtc.API
	m      *metrics
	udpMux ice.UDPMux
	batch  *batchConn // nil if the UDP socket is not a *net.UDPConn
	tcpMux ice.TCPMux

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup // spawned closers

	spawnMu      sync.Mutex // orders wg.Add against Close's wg.Wait
	spawnStopped bool

	mu         sync.Mutex
	closed     bool
	whip       map[string]*whipSession
	whep       map[string]*whepSession
	publishers map[media.Namespace]*whipSession
	feeds      map[feedKey]*feed
}

// New builds a server. It takes ownership of cfg.UDPConn and
// cfg.TCPListener: Close closes them.
func New(cfg Config) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	m, err := newMetrics(cfg.Registerer)
	if err != nil {
		return nil, fmt.Errorf("webrtc: metrics: %w", err)
	}
	s := &Server{
		cfg:        cfg,
		m:          m,
		whip:       make(map[string]*whipSession),
		whep:       make(map[string]*whepSession),
		publishers: make(map[media.Namespace]*whipSession),
		feeds:      make(map[feedKey]*feed),
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	if err := s.buildAPI(); err != nil {
		m.unregister(cfg.Registerer)
		return nil, err
	}
	return s, nil
}

func (s *Server) buildAPI() error {
	me := &webrtc.MediaEngine{}
	if err := registerCodecs(me); err != nil {
		return err
	}
	for _, kind := range []webrtc.RTPCodecType{webrtc.RTPCodecTypeVideo, webrtc.RTPCodecTypeAudio} {
		if err := me.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: absCaptureTimeURI}, kind); err != nil {
			return fmt.Errorf("webrtc: abs-capture-time: %w", err)
		}
	}
	reg := &interceptor.Registry{}
	// NACK generator (ingest), sender/receiver reports, and
	// transport-wide congestion control feedback (ingest). Egress NACKs
	// are answered by each viewer from its history of the shared feed
	// payloads (nackHistory), not by pion's responder, which copies every
	// packet of every viewer into its own cache.
	gen, err := nack.NewGeneratorInterceptor()
	if err != nil {
		return fmt.Errorf("webrtc: nack: %w", err)
	}
	me.RegisterFeedback(webrtc.RTCPFeedback{Type: "nack"}, webrtc.RTPCodecTypeVideo)
	me.RegisterFeedback(webrtc.RTCPFeedback{Type: "nack", Parameter: "pli"}, webrtc.RTPCodecTypeVideo)
	reg.Add(gen)
	if err := webrtc.ConfigureRTCPReports(reg); err != nil {
		return fmt.Errorf("webrtc: rtcp reports: %w", err)
	}
	if err := webrtc.ConfigureTWCCSender(me, reg); err != nil {
		return fmt.Errorf("webrtc: twcc: %w", err)
	}
	se := webrtc.SettingEngine{}
	lf := logging.NewDefaultLoggerFactory()
	lf.DefaultLogLevel = logging.LogLevelDisabled
	se.LoggerFactory = lf
	var udp net.PacketConn = s.cfg.UDPConn
	if c, ok := udp.(*net.UDPConn); ok {
		s.batch = newBatchConn(c)
		udp = s.batch
	}
	s.udpMux = webrtc.NewICEUDPMux(lf.NewLogger("udpmux"), udp)
	se.SetICEUDPMux(s.udpMux)
	nets := []webrtc.NetworkType{webrtc.NetworkTypeUDP4, webrtc.NetworkTypeUDP6}
	if s.cfg.TCPListener != nil {
		s.tcpMux = webrtc.NewICETCPMux(lf.NewLogger("tcpmux"), s.cfg.TCPListener, 8)
		se.SetICETCPMux(s.tcpMux)
		nets = append(nets, webrtc.NetworkTypeTCP4, webrtc.NetworkTypeTCP6)
	}
	se.SetNetworkTypes(nets)
	if len(s.cfg.NAT1To1IPs) > 0 {
		// One rule per address, replacing host candidates: what the
		// deprecated 1:1 NAT setting did.
		rules := make([]webrtc.ICEAddressRewriteRule, 0, len(s.cfg.NAT1To1IPs))
		for _, ip := range s.cfg.NAT1To1IPs {
			rules = append(rules, webrtc.ICEAddressRewriteRule{External: []string{ip}, AsCandidateType: webrtc.ICECandidateTypeHost})
		}
		if err := se.SetICEAddressRewriteRules(rules...); err != nil {
			return fmt.Errorf("webrtc: nat 1:1 ips: %w", err)
		}
	}
	// Loopback is how tests and same-host publishers (a GPU instance on
	// the edge itself) reach us.
	se.SetIncludeLoopbackCandidate(true)
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	s.api = webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithInterceptorRegistry(reg), webrtc.WithSettingEngine(se))
	return nil
}

// Counts returns the live WHIP and WHEP sessions, for the edge's load
// reports (gossip) and admission decisions.
func (s *Server) Counts() (publishers, viewers int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.whip), len(s.whep)
}

// EgressBytes is the total RTP bytes handed to viewers, for the edge's
// egress rate.
func (s *Server) EgressBytes() uint64 { return s.m.egressBytes.Load() }

// spawn runs fn on a goroutine that Close waits for.
// After Close has begun it does nothing: Close frees everything itself.
func (s *Server) spawn(fn func()) {
	s.spawnMu.Lock()
	defer s.spawnMu.Unlock()
	if s.spawnStopped {
		return
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		fn()
	}()
}

func (s *Server) lookup(e endpoint) (session, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if e.kind == "whip" {
		w, ok := s.whip[e.id]
		if !ok || w.ns != e.ns {
			return nil, false
		}
		return w, true
	}
	w, ok := s.whep[e.id]
	if !ok || w.ns != e.ns {
		return nil, false
	}
	return w, true
}

// forget drops a closed peer from the indexes.
func (s *Server) forget(p *peer) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch p.kind {
	case "whip":
		if w, ok := s.whip[p.id]; ok {
			delete(s.whip, p.id)
			if s.publishers[p.ns] == w {
				delete(s.publishers, p.ns)
			}
			s.m.peerWHIP.Dec()
		}
	case "whep":
		if _, ok := s.whep[p.id]; ok {
			delete(s.whep, p.id)
			s.m.peerWHEP.Dec()
		}
	}
}

// requestKeyframe sends a keyframe request to whoever publishes the track:
// the local WHIP publisher, or the configured requester for relayed media.
// Feeds rate-limit calls.
func (s *Server) requestKeyframe(ns media.Namespace, track string) {
	s.mu.Lock()
	w := s.publishers[ns]
	s.mu.Unlock()
	s.m.plis.Inc()
	if w != nil {
		w.requestKeyframe(track)
		return
	}
	if s.cfg.KeyframeRequester != nil {
		s.cfg.KeyframeRequester(ns, track)
	}
}

// trackCodecLocked is the codec of a hub track: what the local WHIP
// publisher sent, else what the broadcast's catalog says (fromCatalog,
// may be nil), else the session defaults (H.264, Opus). The caller holds mu.
func (s *Server) trackCodecLocked(ns media.Namespace, track string, kind media.TrackKind, fromCatalog *codec) *codec {
	if w := s.publishers[ns]; w != nil {
		if c := w.codecOf(track); c != nil {
			return c
		}
	}
	if fromCatalog != nil {
		return fromCatalog
	}
	if kind == media.KindAudio {
		c, _ := codecFor(webrtc.MimeTypeOpus)
		return c
	}
	c, _ := codecFor(webrtc.MimeTypeH264)
	return c
}

// Close ends every session and feed and releases the sockets. Nothing of
// it is graceful (peers are closed at once), so ctx is not waited on.
// Safe to call more than once.
func (s *Server) Close(context.Context) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	sessions := make([]session, 0, len(s.whip)+len(s.whep))
	for _, w := range s.whip {
		sessions = append(sessions, w)
	}
	for _, w := range s.whep {
		sessions = append(sessions, w)
	}
	s.mu.Unlock()
	for _, sess := range sessions {
		sess.close()
	}
	s.cancel()
	s.spawnMu.Lock()
	s.spawnStopped = true
	s.spawnMu.Unlock()
	s.wg.Wait()
	s.mu.Lock()
	feeds := make([]*feed, 0, len(s.feeds))
	for _, f := range s.feeds {
		feeds = append(feeds, f)
	}
	s.mu.Unlock()
	for _, f := range feeds {
		f.stop()
	}
	err := s.udpMux.Close()
	if s.tcpMux != nil {
		if e := s.tcpMux.Close(); err == nil {
			err = e
		}
	}
	s.m.unregister(s.cfg.Registerer)
	return err
}
