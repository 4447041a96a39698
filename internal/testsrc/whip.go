package testsrc

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v4"

	"github.com/strata-edge/strata/transport/media"
	"github.com/strata-edge/strata/transport/msf"
)

// absCaptureTimeURI is the RTP header extension the edge's WHIP ingest
// reads each frame's capture time from.
const absCaptureTimeURI = "http://www.webrtc.org/experiments/rtp-hdrext/abs-capture-time"

// ntpUnixOffset is the seconds from the NTP epoch (1900) to Unix's (1970).
const ntpUnixOffset = 2208988800

// WHIP client limits.
const (
	// whipPayloadMTU leaves room in a 1200-byte datagram for the RTP
	// header, the abs-capture-time extension and SRTP's tag.
	whipPayloadMTU = 1100
	// whipMaxBody bounds the SDP answer read from the edge.
	whipMaxBody = 64 << 10
	// whipMaxRetryAfter caps how long one Retry-After may make us wait.
	whipMaxRetryAfter = 30 * time.Second
	// whipDeleteTimeout bounds the DELETE sent on stop.
	whipDeleteTimeout = 5 * time.Second
)

// WHIPConfig configures a WHIP publisher.
type WHIPConfig struct {
	// URL is the edge's WHIP endpoint, https://host:port/whip/{tenant}/{session}.
	URL string
	// Token is the publisher token, sent as a bearer token.
	Token []byte
	// TLS configures HTTPS to the edge; nil uses the system roots.
	TLS *tls.Config
	// Attempts bounds POSTs answered 5xx/409/429 (retried after
	// Retry-After or a doubling backoff); 0 means 5.
	Attempts int
	// Backoff is the first pause between attempts without Retry-After;
	// 0 means 500 ms.
	Backoff time.Duration
	Logger  *slog.Logger
}

// WHIPPublisher sends a Source's video and audio to an edge over WHIP
// (RFC 9725): one POSTed offer, then RTP until Serve's context ends and
// the resource is DELETEd. Every packet carries the abs-capture-time
// extension with its frame's capture time, so the edge stamps the frames
// it ingests with the source's clock, as the MoQ path's LOC properties do.
// Input events are not read over WHIP.
type WHIPPublisher struct {
	src      *Source
	cfg      WHIPConfig
	hc       *http.Client
	pc       *webrtc.PeerConnection
	video    *webrtc.TrackLocalStaticRTP
	audio    *webrtc.TrackLocalStaticRTP
	resource string // Location of the WHIP session
	log      *slog.Logger

	failed   chan struct{} // closed when the peer connection fails
	failOnce sync.Once
	mu       sync.Mutex
	packets  [2]int64 // video, audio RTP packets sent; guarded by mu
}

// DialWHIP negotiates a WHIP session for src at cfg.URL. 401/403 and
// 4xx answers fail at once; 503, 409 and 429 are retried, honouring
// Retry-After, up to cfg.Attempts; so are other 5xx answers.
func DialWHIP(ctx context.Context, src *Source, cfg WHIPConfig) (*WHIPPublisher, error) {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Attempts <= 0 {
		cfg.Attempts = 5
	}
	if cfg.Backoff <= 0 {
		cfg.Backoff = 500 * time.Millisecond
	}
	u, err := url.Parse(cfg.URL)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("%w: whip url %q: want https://host:port/whip/{tenant}/{session}", ErrConfig, cfg.URL)
	}
	api, err := whipAPI(isLoopbackHost(u.Hostname()))
	if err != nil {
		return nil, err
	}
	// RFC 9725 section 4.5: max-bundle with RTP/RTCP multiplexing.
	pc, err := api.NewPeerConnection(webrtc.Configuration{BundlePolicy: webrtc.BundlePolicyMaxBundle,
		RTCPMuxPolicy: webrtc.RTCPMuxPolicyRequire})
	if err != nil {
		return nil, fmt.Errorf("testsrc: whip peer connection: %w", err)
	}
	p := &WHIPPublisher{src: src, cfg: cfg, pc: pc, failed: make(chan struct{}),
		log: cfg.Logger.With("component", "testsrc-whip"),
		hc:  &http.Client{Transport: &http.Transport{TLSClientConfig: cfg.TLS}, Timeout: 15 * time.Second}}
	// A 307 from the endpoint (load balancing) is followed with the body
	// and the token, which net/http drops across hosts by default.
	p.hc.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		if len(via) >= 5 {
			return fmt.Errorf("%w: too many redirects", ErrWHIPRejected)
		}
		p.authorize(req)
		return nil
	}
	ok := false
	defer func() {
		if !ok {
			_ = pc.Close()
			p.hc.CloseIdleConnections()
		}
	}()
	p.video, err = webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264, ClockRate: 90000}, msf.SessionVideoTrack, "strata-testsrc")
	if err != nil {
		return nil, fmt.Errorf("testsrc: whip video track: %w", err)
	}
	p.audio, err = webrtc.NewTrackLocalStaticRTP(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, msf.SessionAudioTrack, "strata-testsrc")
	if err != nil {
		return nil, fmt.Errorf("testsrc: whip audio track: %w", err)
	}
	for _, tr := range []webrtc.TrackLocal{p.video, p.audio} {
		if _, err := pc.AddTransceiverFromTrack(tr, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly}); err != nil {
			return nil, fmt.Errorf("testsrc: whip transceiver: %w", err)
		}
	}
	pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
		p.log.Debug("peer connection", "state", s.String())
		if s == webrtc.PeerConnectionStateFailed {
			p.failOnce.Do(func() { close(p.failed) })
		}
	})
	offer, err := pc.CreateOffer(nil)
	if err != nil {
		return nil, fmt.Errorf("testsrc: whip offer: %w", err)
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(offer); err != nil {
		return nil, fmt.Errorf("testsrc: whip offer: %w", err)
	}
	select {
	case <-gathered:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	answer, err := p.post(ctx, u, pc.LocalDescription().SDP)
	if err != nil {
		return nil, err
	}
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: answer}); err != nil {
		p.deleteResource()
		return nil, fmt.Errorf("%w: answer: %w", ErrWHIPRejected, err)
	}
	ok = true
	return p, nil
}

// whipAPI builds a pion API offering what the edge ingests: H.264
// (constrained baseline, packetization mode 1) and Opus, each with
// abs-capture-time. A loopback edge is reached over loopback candidates.
func whipAPI(loopback bool) (*webrtc.API, error) {
	me := &webrtc.MediaEngine{}
	if err := me.RegisterCodec(webrtc.RTPCodecParameters{PayloadType: 102, RTPCodecCapability: webrtc.RTPCodecCapability{
		MimeType: webrtc.MimeTypeH264, ClockRate: 90000,
		SDPFmtpLine: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f"}}, webrtc.RTPCodecTypeVideo); err != nil {
		return nil, fmt.Errorf("testsrc: whip h264: %w", err)
	}
	if err := me.RegisterCodec(webrtc.RTPCodecParameters{PayloadType: 111, RTPCodecCapability: webrtc.RTPCodecCapability{
		MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2, SDPFmtpLine: "minptime=10;useinbandfec=1"}}, webrtc.RTPCodecTypeAudio); err != nil {
		return nil, fmt.Errorf("testsrc: whip opus: %w", err)
	}
	for _, kind := range []webrtc.RTPCodecType{webrtc.RTPCodecTypeVideo, webrtc.RTPCodecTypeAudio} {
		if err := me.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: absCaptureTimeURI}, kind); err != nil {
			return nil, fmt.Errorf("testsrc: whip abs-capture-time: %w", err)
		}
	}
	// NACK responder, RTCP reports and congestion feedback, as a browser
	// publisher has: a lossy path then gets retransmissions.
	reg := &interceptor.Registry{}
	if err := webrtc.RegisterDefaultInterceptors(me, reg); err != nil {
		return nil, fmt.Errorf("testsrc: whip interceptors: %w", err)
	}
	se := webrtc.SettingEngine{}
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	if loopback {
		se.SetIncludeLoopbackCandidate(true)
		se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
	}
	return webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithSettingEngine(se), webrtc.WithInterceptorRegistry(reg)), nil
}

// post sends the offer until it is answered 201 or refused for good.
func (p *WHIPPublisher) post(ctx context.Context, u *url.URL, offer string) (string, error) {
	backoff := p.cfg.Backoff
	for attempt := 1; ; attempt++ {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, u.String(), strings.NewReader(offer))
		if err != nil {
			return "", fmt.Errorf("%w: %w", ErrConfig, err)
		}
		req.Header.Set("Content-Type", "application/sdp")
		p.authorize(req)
		resp, err := p.hc.Do(req)
		if err != nil {
			if ctx.Err() != nil {
				return "", ctx.Err()
			}
			return "", fmt.Errorf("%w: POST %s: %w", ErrWHIPUnavailable, u.Redacted(), withoutURL(err))
		}
		body, _ := io.ReadAll(io.LimitReader(resp.Body, whipMaxBody))
		_ = resp.Body.Close()
		msg := strings.TrimSpace(string(body[:min(len(body), 200)]))
		st := resp.StatusCode
		switch {
		case st == http.StatusCreated:
			// Relative to the URL that answered, after any redirect.
			loc, err := resp.Request.URL.Parse(resp.Header.Get("Location"))
			if err != nil || resp.Header.Get("Location") == "" {
				return "", fmt.Errorf("%w: 201 without a usable Location", ErrWHIPRejected)
			}
			p.resource = loc.String()
			p.log.Info("whip session created", "resource", loc.Path)
			return string(body), nil
		case st == http.StatusUnauthorized || st == http.StatusForbidden:
			return "", fmt.Errorf("%w: %d %s", ErrWHIPUnauthorized, resp.StatusCode, msg)
		case st >= 500 || st == http.StatusConflict || st == http.StatusTooManyRequests:
			// Unknown codes fall back to their class (RFC 9725 section
			// 4.1): any server error may pass; 409 is a session not live yet.
			if attempt >= p.cfg.Attempts {
				return "", fmt.Errorf("%w: %d %s after %d attempts", ErrWHIPUnavailable, resp.StatusCode, msg, attempt)
			}
			wait := backoff
			if s, err := strconv.Atoi(strings.TrimSpace(resp.Header.Get("Retry-After"))); err == nil && s >= 0 {
				wait = min(time.Duration(s)*time.Second, whipMaxRetryAfter)
			}
			backoff = min(2*backoff, whipMaxRetryAfter)
			p.log.Warn("whip endpoint busy; retrying", "status", resp.StatusCode, "wait", wait, "attempt", attempt)
			t := time.NewTimer(wait)
			select {
			case <-ctx.Done():
				t.Stop()
				return "", ctx.Err()
			case <-t.C:
			}
		default:
			return "", fmt.Errorf("%w: %d %s", ErrWHIPRejected, resp.StatusCode, msg)
		}
	}
}

// Serve sends the source's frames as they are produced until ctx ends
// (then it DELETEs the WHIP resource and returns nil) or the peer
// connection fails.
func (p *WHIPPublisher) Serve(ctx context.Context) error {
	// RTCP readers end when the peer connection closes, below.
	var rtcp sync.WaitGroup
	defer rtcp.Wait()
	for _, tc := range p.pc.GetTransceivers() {
		if s := tc.Sender(); s != nil {
			rtcp.Go(func() {
				// Reading runs the interceptors (NACKs, receiver reports).
				for {
					if _, _, err := s.ReadRTCP(); err != nil {
						return
					}
				}
			})
		}
	}
	defer p.hc.CloseIdleConnections()
	defer func() { _ = p.pc.Close() }()
	defer p.deleteResource()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	errs := make([]error, 2)
	for i, name := range []string{msf.SessionVideoTrack, msf.SessionAudioTrack} {
		tr, _ := p.src.Track(name)
		wg.Go(func() {
			errs[i] = p.send(ctx, tr, i)
			if errs[i] != nil {
				cancel()
			}
		})
	}
	var failed error
	select {
	case <-ctx.Done():
	case <-p.failed:
		failed = fmt.Errorf("%w: peer connection failed", ErrWHIPUnavailable)
		cancel()
	}
	wg.Wait()
	return errors.Join(append(errs, failed)...)
}

// Packets returns the RTP packets sent so far on video and audio.
func (p *WHIPPublisher) Packets() (video, audio int64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.packets[0], p.packets[1]
}

// send packetizes one track's objects. RTP timestamps follow the capture
// clock from a random base; every packet carries abs-capture-time.
func (p *WHIPPublisher) send(ctx context.Context, tr *media.Track, idx int) error {
	sub := tr.Subscribe()
	defer sub.Close()
	out, clock := p.video, int64(90000)
	var pay rtp.Payloader = &codecs.H264Payloader{}
	if idx == 1 {
		out, clock, pay = p.audio, 48000, &codecs.OpusPayloader{}
	}
	var rnd [6]byte
	_, _ = rand.Read(rnd[:])
	base, seq := binary.BigEndian.Uint32(rnd[:4]), binary.BigEndian.Uint16(rnd[4:])
	extID := 0
	for {
		o, err := sub.Next(ctx)
		if err != nil {
			if ctx.Err() != nil || errors.Is(err, media.ErrTrackClosed) {
				return nil
			}
			return fmt.Errorf("testsrc: whip %s: %w", tr.Info().Name, err)
		}
		if extID == 0 {
			// Negotiated once the answer is applied; looked up lazily so a
			// peer that dropped the extension still gets media.
			extID = p.extensionID(idx)
		}
		ts := base + uint32(o.CaptureMicros*clock/1_000_000)
		abs := absCaptureTime(o.CaptureMicros)
		payloads := pay.Payload(whipPayloadMTU, o.Payload)
		for i, pl := range payloads {
			pkt := &rtp.Packet{Header: rtp.Header{Version: 2, Marker: i == len(payloads)-1,
				SequenceNumber: seq, Timestamp: ts}, Payload: pl}
			seq++
			if extID > 0 {
				if err := pkt.SetExtension(uint8(extID), abs[:]); err != nil {
					return fmt.Errorf("testsrc: whip abs-capture-time: %w", err)
				}
			}
			if err := out.WriteRTP(pkt); err != nil {
				if errors.Is(err, io.ErrClosedPipe) || ctx.Err() != nil {
					return nil
				}
				return fmt.Errorf("testsrc: whip %s: %w", tr.Info().Name, err)
			}
		}
		p.mu.Lock()
		p.packets[idx] += int64(len(payloads))
		p.mu.Unlock()
	}
}

// extensionID is the negotiated abs-capture-time ID of track idx's
// sender, -1 if the edge did not accept it.
func (p *WHIPPublisher) extensionID(idx int) int {
	ts := p.pc.GetTransceivers()
	if idx >= len(ts) || ts[idx].Sender() == nil {
		return -1
	}
	for _, e := range ts[idx].Sender().GetParameters().HeaderExtensions {
		if strings.EqualFold(e.URI, absCaptureTimeURI) {
			return e.ID
		}
	}
	return -1
}

// absCaptureTime encodes unix microseconds as the extension's 64-bit NTP
// timestamp (32.32 fixed point).
func absCaptureTime(micros int64) [8]byte {
	sec := uint64(micros/1_000_000) + ntpUnixOffset
	frac := (uint64(micros%1_000_000) << 32) / 1_000_000
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], sec<<32|frac)
	return b
}

// deleteResource ends the WHIP session at the edge; failures are only
// logged (the edge times the peer out anyway).
func (p *WHIPPublisher) deleteResource() {
	if p.resource == "" {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), whipDeleteTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodDelete, p.resource, nil)
	if err != nil {
		return
	}
	p.authorize(req)
	resp, err := p.hc.Do(req)
	if err != nil {
		p.log.Warn("whip delete failed", "err", withoutURL(err))
		return
	}
	_ = resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		p.log.Warn("whip delete refused", "status", resp.StatusCode)
		return
	}
	p.log.Info("whip session deleted")
	p.resource = ""
}

// authorize adds the bearer token; without one no Authorization header
// is sent (RFC 9725 section 4.7).
func (p *WHIPPublisher) authorize(req *http.Request) {
	if len(p.cfg.Token) > 0 {
		req.Header.Set("Authorization", "Bearer "+string(p.cfg.Token))
	}
}

// isLoopbackHost reports whether host names this machine.
func isLoopbackHost(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// withoutURL drops the URL an HTTP client error names: after a redirect
// to another edge it carries the token in its query, and errors get logged.
func withoutURL(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return fmt.Errorf("%s: %w", ue.Op, ue.Err)
	}
	return err
}
