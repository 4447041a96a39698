package bench

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/webrtc/v4"
	"github.com/strata-edge/strata/transport/media"
	"github.com/strata-edge/strata/transport/msf"
	strtc "github.com/strata-edge/strata/transport/webrtc"
)

// ErrWebRTCFanoutConfig reports invalid arguments to FanoutWebRTC. It lives
// here because this file is the WebRTC fan-out bench's whole footprint.
var ErrWebRTCFanoutConfig = errors.New("bench: invalid webrtc fan-out config")

// FanoutWebRTCOptions sizes a WHEP fan-out run.
type FanoutWebRTCOptions struct {
	Subscribers int           // WHEP viewers
	BitrateBps  int64         // video bitrate appended to the hub
	Duration    time.Duration // measured window, after every viewer has media
	FPS         int           // frames per second; 60 if zero
}

// WebRTCFanoutResult is one WHEP fan-out measurement. The JSON names match
// the MoQ fan-out bench so the two can be plotted together.
type WebRTCFanoutResult struct {
	Subscribers int     `json:"subscribers"`
	EgressGbps  float64 `json:"egress_gbps"`
	// RelayCPUCores is the whole process's CPU time over the window. The
	// viewers are real pion peers in the same process, so this includes
	// their receive path (SRTP decrypt, interceptors) and overstates the
	// relay's share; GbpsPerRelayCore is therefore a lower bound.
	RelayCPUCores      float64 `json:"relay_cpu_cores"`
	GbpsPerRelayCore   float64 `json:"gbps_per_relay_core"`
	AddedLatencyP50Ms  float64 `json:"added_latency_p50_ms"`
	AddedLatencyP99Ms  float64 `json:"added_latency_p99_ms"`
	DroppedObjects     uint64  `json:"dropped_objects"`
	CPUIncludesViewers bool    `json:"cpu_includes_viewers"`
}

// FanoutWebRTC appends a synthetic H.264 stream into a hub and serves it to
// opts.Subscribers WHEP viewers over loopback through one Server (one UDP
// port). Latency is from the hub append to a viewer reading the frame's
// last RTP packet.
func FanoutWebRTC(ctx context.Context, opts FanoutWebRTCOptions) (WebRTCFanoutResult, error) {
	if opts.FPS == 0 {
		opts.FPS = 60
	}
	if opts.Subscribers <= 0 || opts.BitrateBps <= 0 || opts.Duration <= 0 || opts.FPS < 0 {
		return WebRTCFanoutResult{}, fmt.Errorf("%w: subscribers, bitrate and duration must be positive", ErrWebRTCFanoutConfig)
	}
	conn, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		return WebRTCFanoutResult{}, fmt.Errorf("bench: listen: %w", err)
	}
	hub := media.NewHub(media.HubOptions{})
	defer hub.Close()
	srv, err := strtc.New(strtc.Config{Hub: hub, UDPConn: conn})
	if err != nil {
		_ = conn.Close()
		return WebRTCFanoutResult{}, err
	}
	defer srv.Close()

	ns := media.Namespace{Tenant: "bench", Session: "fanout"}
	b, err := hub.Publish(ns)
	if err != nil {
		return WebRTCFanoutResult{}, err
	}
	track, err := b.CreateTrack(media.TrackInfo{Name: msf.SessionVideoTrack, Kind: media.KindVideo}, media.TrackOptions{})
	if err != nil {
		return WebRTCFanoutResult{}, err
	}
	src := &fanoutSource{track: track, fps: opts.FPS, frameBytes: int(opts.BitrateBps / 8 / int64(opts.FPS))}
	srcCtx, stopSrc := context.WithCancel(ctx)
	defer stopSrc()
	var srcWG sync.WaitGroup
	srcWG.Add(1)
	go func() {
		defer srcWG.Done()
		src.run(srcCtx)
	}()
	defer srcWG.Wait()
	defer stopSrc()

	api := benchViewerAPI()
	viewers := make([]*fanoutViewer, 0, opts.Subscribers)
	defer func() {
		for _, v := range viewers {
			v.close()
		}
	}()
	for range opts.Subscribers {
		v, err := newFanoutViewer(ctx, api, srv, ns, src)
		if err != nil {
			return WebRTCFanoutResult{}, err
		}
		viewers = append(viewers, v)
	}
	// Warm up: every viewer has media before the window opens.
	deadline := time.Now().Add(30 * time.Second)
	for _, v := range viewers {
		for v.frames.Load() == 0 {
			if time.Now().After(deadline) || ctx.Err() != nil {
				return WebRTCFanoutResult{}, fmt.Errorf("bench: viewers did not start within 30s")
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	for _, v := range viewers {
		v.reset()
	}
	cpu0 := cpuTime()
	start := time.Now()
	select {
	case <-time.After(opts.Duration):
	case <-ctx.Done():
		return WebRTCFanoutResult{}, ctx.Err()
	}
	elapsed := time.Since(start)
	cpu := cpuTime() - cpu0

	var bytes uint64
	var dropped uint64
	var lat []time.Duration
	for _, v := range viewers {
		bytes += v.bytes.Load()
		d, l := v.snapshot()
		dropped += d
		lat = append(lat, l...)
	}
	slices.Sort(lat)
	res := WebRTCFanoutResult{
		Subscribers:        opts.Subscribers,
		EgressGbps:         float64(bytes*8) / elapsed.Seconds() / 1e9,
		RelayCPUCores:      cpu.Seconds() / elapsed.Seconds(),
		DroppedObjects:     dropped,
		CPUIncludesViewers: true,
	}
	if res.RelayCPUCores > 0 {
		res.GbpsPerRelayCore = res.EgressGbps / res.RelayCPUCores
	}
	if len(lat) > 0 {
		res.AddedLatencyP50Ms = float64(lat[len(lat)/2]) / 1e6
		res.AddedLatencyP99Ms = float64(lat[len(lat)*99/100]) / 1e6
	}
	return res, nil
}

// fanoutSource appends frames at a fixed rate and remembers when each was
// appended, for latency.
type fanoutSource struct {
	track      *media.Track
	fps        int
	frameBytes int

	mu       sync.Mutex
	appended map[int]time.Time
}

func (s *fanoutSource) run(ctx context.Context) {
	s.appended = make(map[int]time.Time)
	tick := time.NewTicker(time.Second / time.Duration(s.fps))
	defer tick.Stop()
	filler := make([]byte, max(s.frameBytes, 64))
	for i := range filler {
		filler[i] = 0xab
	}
	for n := 0; ; n++ {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		key := n%(2*s.fps) == 0
		frame := benchFrame(n, key, filler)
		now := time.Now()
		s.mu.Lock()
		s.appended[n] = now
		delete(s.appended, n-10*s.fps)
		s.mu.Unlock()
		_ = s.track.Append(media.Object{
			Keyframe: key, Timestamp: time.Duration(n+1) * time.Second / time.Duration(s.fps),
			CaptureMicros: now.UnixMicro(), Payload: frame,
		})
	}
}

func (s *fanoutSource) appendedAt(n int) (time.Time, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.appended[n]
	return t, ok
}

// benchFrame is an Annex B access unit whose slice starts with "#n#" in
// ASCII, which viewers read from the first FU-A fragment without
// reassembling.
func benchFrame(n int, key bool, filler []byte) []byte {
	out := make([]byte, 0, len(filler)+32)
	if key {
		out = append(out, 0, 0, 0, 1, 0x67, 0x42, 0xc0, 0x1f, 0xda, 0x01, 0x40, 0x16, 0xe8, 0, 0, 0, 1, 0x68, 0xce, 0x3c, 0x80, 0, 0, 0, 1, 0x65)
	} else {
		out = append(out, 0, 0, 0, 1, 0x41)
	}
	out = append(out, '#')
	out = strconv.AppendInt(out, int64(n), 10)
	out = append(out, '#')
	return append(out, filler...)
}

func benchViewerAPI() *webrtc.API {
	me := &webrtc.MediaEngine{}
	_ = me.RegisterDefaultCodecs()
	se := webrtc.SettingEngine{}
	se.SetIncludeLoopbackCandidate(true)
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
	return webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithSettingEngine(se))
}

// fanoutViewer is one WHEP viewer counting frames, bytes and latency.
type fanoutViewer struct {
	pc  *webrtc.PeerConnection
	src *fanoutSource
	wg  sync.WaitGroup

	frames atomic.Uint64
	bytes  atomic.Uint64

	mu      sync.Mutex
	closed  bool
	cur     int // frame being received, -1 if unknown
	first   int
	last    int
	got     uint64
	latency []time.Duration
}

func newFanoutViewer(ctx context.Context, api *webrtc.API, srv *strtc.Server, ns media.Namespace, src *fanoutSource) (*fanoutViewer, error) {
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return nil, err
	}
	v := &fanoutViewer{pc: pc, src: src, cur: -1, first: -1}
	if _, err := pc.AddTransceiverFromKind(webrtc.RTPCodecTypeVideo, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
		_ = pc.Close()
		return nil, err
	}
	pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		v.mu.Lock()
		defer v.mu.Unlock()
		if v.closed {
			return
		}
		v.wg.Add(1)
		go func() {
			defer v.wg.Done()
			v.read(tr)
		}()
	})
	offer, err := pc.CreateOffer(nil)
	if err == nil {
		g := webrtc.GatheringCompletePromise(pc)
		if err = pc.SetLocalDescription(offer); err == nil {
			<-g
		}
	}
	if err != nil {
		v.close()
		return nil, err
	}
	resp := srv.Serve(ctx, &strtc.Request{
		Method: http.MethodPost, Path: "/whep/" + ns.Tenant + "/" + ns.Session,
		Header: http.Header{"Content-Type": {strtc.ContentTypeSDP}}, Body: []byte(pc.LocalDescription().SDP),
	})
	if resp.Status != http.StatusCreated {
		v.close()
		return nil, fmt.Errorf("bench: WHEP POST: %d %s", resp.Status, resp.Body)
	}
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: string(resp.Body)}); err != nil {
		v.close()
		return nil, err
	}
	return v, nil
}

func (v *fanoutViewer) read(tr *webrtc.TrackRemote) {
	buf := make([]byte, 1500)
	for {
		n, _, err := tr.Read(buf)
		if err != nil {
			return
		}
		now := time.Now()
		v.bytes.Add(uint64(n))
		if n < 14 {
			continue
		}
		hdrLen := 12 + 4*int(buf[0]&0x0f)
		if buf[0]&0x10 != 0 && n >= hdrLen+4 { // header extension
			hdrLen += 4 + 4*(int(buf[hdrLen+2])<<8|int(buf[hdrLen+3]))
		}
		if hdrLen+2 >= n {
			continue
		}
		marker := buf[1]&0x80 != 0
		p := buf[hdrLen:n]
		if p[0]&0x1f == 28 && p[1]&0x80 != 0 { // FU-A start
			if num, ok := parseBenchNumber(p[2:]); ok {
				v.mu.Lock()
				v.cur = num
				v.mu.Unlock()
			}
		}
		if marker {
			v.frames.Add(1)
			v.mu.Lock()
			if v.cur >= 0 {
				if at, ok := v.src.appendedAt(v.cur); ok {
					v.latency = append(v.latency, now.Sub(at))
				}
				if v.first < 0 {
					v.first = v.cur
				}
				v.last = v.cur
				v.got++
			}
			v.cur = -1
			v.mu.Unlock()
		}
	}
}

func parseBenchNumber(p []byte) (int, bool) {
	if len(p) < 3 || p[0] != '#' {
		return 0, false
	}
	n := 0
	for _, c := range p[1:] {
		if c == '#' {
			return n, true
		}
		if c < '0' || c > '9' {
			return 0, false
		}
		n = n*10 + int(c-'0')
	}
	return 0, false
}

// reset starts the measured window.
func (v *fanoutViewer) reset() {
	v.bytes.Store(0)
	v.mu.Lock()
	v.first, v.got, v.latency = -1, 0, v.latency[:0]
	v.mu.Unlock()
}

// snapshot returns frames missed inside the window and the latencies.
func (v *fanoutViewer) snapshot() (uint64, []time.Duration) {
	v.mu.Lock()
	defer v.mu.Unlock()
	var dropped uint64
	if v.first >= 0 {
		if want := uint64(v.last - v.first + 1); want > v.got {
			dropped = want - v.got
		}
	}
	return dropped, slices.Clone(v.latency)
}

func (v *fanoutViewer) close() {
	v.mu.Lock()
	v.closed = true
	v.mu.Unlock()
	_ = v.pc.Close()
	v.wg.Wait()
}

// cpuTime is the process's user plus system CPU time.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
