package bench

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/ice/v4"
	"github.com/pion/interceptor"
	"github.com/pion/webrtc/v4"
	"github.com/strata-edge/strata/transport/media"
	"github.com/strata-edge/strata/transport/msf"
	strtc "github.com/strata-edge/strata/transport/webrtc"
)

// ErrWebRTCFanoutConfig reports invalid arguments to FanoutWebRTC. It lives
// here because this file is the WebRTC fan-out bench's whole footprint.
var ErrWebRTCFanoutConfig = errors.New("bench: invalid webrtc fan-out config")

// webrtcChildEnv turns a process into FanoutWebRTC's viewer process; its
// value is the JSON webrtcChildConfig. RunFanoutChildIfRequested checks it.
const webrtcChildEnv = "STRATA_BENCH_WEBRTC_FANOUT_CHILD"

// FanoutWebRTCOptions sizes a WHEP fan-out run.
type FanoutWebRTCOptions struct {
	Subscribers int           // WHEP viewers
	BitrateBps  int64         // video bitrate appended to the hub
	Duration    time.Duration // measured window, after every viewer has media
	FPS         int           // frames per second; 60 if zero
	// CPUProfile, if set, names a file for the relay's CPU profile over
	// the measured window.
	CPUProfile string
}

// WebRTCFanoutResult is one WHEP fan-out measurement. The JSON names match
// the MoQ fan-out bench so the two can be plotted together.
type WebRTCFanoutResult struct {
	Subscribers int     `json:"subscribers"`
	EgressGbps  float64 `json:"egress_gbps"`
	// RelayCPUCores is the relay process's CPU time over the window; the
	// viewers run in a separate process, so it is the relay's cost (plus
	// the small synthetic publisher).
	RelayCPUCores     float64 `json:"relay_cpu_cores"`
	GbpsPerRelayCore  float64 `json:"gbps_per_relay_core"`
	AddedLatencyP50Ms float64 `json:"added_latency_p50_ms"`
	AddedLatencyP99Ms float64 `json:"added_latency_p99_ms"`
	DroppedObjects    uint64  `json:"dropped_objects"`
	// ReceivedFrames is every viewer's frames in the window, summed;
	// Freezes counts the gaps between two frames at one viewer that a
	// person would see as a freeze (see freezeGap).
	ReceivedFrames uint64 `json:"received_frames"`
	Freezes        uint64 `json:"freezes"`
	// ViewersPerRelayCore is how many viewers of this bitrate one relay
	// core serves: the egress in whole streams (so viewers that did not
	// get everything do not count fully) over RelayCPUCores.
	ViewersPerRelayCore float64 `json:"viewers_per_relay_core"`
}

// webrtcChildConfig is what FanoutWebRTC hands its viewer process.
type webrtcChildConfig struct {
	URL         string        `json:"url"`
	Subscribers int           `json:"subscribers"`
	Timeout     time.Duration `json:"timeout"`
	FPS         int           `json:"fps"`
}

// webrtcChildReport is the viewer process's report for the window.
type webrtcChildReport struct {
	Bytes   uint64  `json:"bytes"`
	Frames  uint64  `json:"frames"`
	Dropped uint64  `json:"dropped"`
	Freezes uint64  `json:"freezes"`
	P50Ms   float64 `json:"p50_ms"`
	P99Ms   float64 `json:"p99_ms"`
}

// FanoutWebRTC appends a synthetic H.264 stream into a hub and serves it
// over WHEP (HTTP on loopback, one UDP port for every peer) to
// opts.Subscribers pion viewers in a separate process: this executable
// re-run with STRATA_BENCH_WEBRTC_FANOUT_CHILD set, whose main (or
// TestMain) calls RunFanoutChildIfRequested first. The viewers signal on
// stdout when every one has media, the window is opened and closed over
// their stdin, and they report bytes, frames and latency on stdout.
//
// Latency is from the hub append (its wall clock is in the frame) to the
// viewer reading the frame's last RTP packet: feed, per-viewer write,
// SRTP, the loopback hop and the viewer's pion receive path.
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
	defer srv.Close(context.Background())
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		return WebRTCFanoutResult{}, fmt.Errorf("bench: listen: %w", err)
	}
	hs := &http.Server{Handler: srv, ReadHeaderTimeout: 10 * time.Second}
	var hsWG sync.WaitGroup
	hsWG.Go(func() { _ = hs.Serve(ln) })
	defer hsWG.Wait()
	defer hs.Close()

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
	var srcWG sync.WaitGroup
	srcWG.Go(func() { src.run(srcCtx) })
	defer srcWG.Wait()
	defer stopSrc()

	cfg := webrtcChildConfig{URL: "http://" + ln.Addr().String() + "/whep/" + ns.Tenant + "/" + ns.Session,
		Subscribers: opts.Subscribers, Timeout: opts.Duration + 3*time.Minute, FPS: opts.FPS}
	child, err := startWebRTCChild(ctx, cfg)
	if err != nil {
		return WebRTCFanoutResult{}, err
	}
	defer child.stop()

	if err := child.expect("ready", 2*time.Minute); err != nil {
		return WebRTCFanoutResult{}, err
	}
	if err := child.send("start"); err != nil {
		return WebRTCFanoutResult{}, err
	}
	stopProf, err := FanoutProfile{CPU: opts.CPUProfile}.start()
	if err != nil {
		return WebRTCFanoutResult{}, err
	}
	cpu0, start := processCPU(), time.Now()
	select {
	case <-time.After(opts.Duration):
	case <-ctx.Done():
		_ = stopProf()
		return WebRTCFanoutResult{}, ctx.Err()
	}
	if err := child.send("stop"); err != nil {
		_ = stopProf()
		return WebRTCFanoutResult{}, err
	}
	elapsed, cpu := time.Since(start), processCPU()-cpu0
	_ = stopProf()
	rep, err := child.report(time.Minute)
	if err != nil {
		return WebRTCFanoutResult{}, err
	}
	res := WebRTCFanoutResult{
		Subscribers:       opts.Subscribers,
		EgressGbps:        float64(rep.Bytes*8) / elapsed.Seconds() / 1e9,
		RelayCPUCores:     cpu.Seconds() / elapsed.Seconds(),
		DroppedObjects:    rep.Dropped,
		ReceivedFrames:    rep.Frames,
		Freezes:           rep.Freezes,
		AddedLatencyP50Ms: rep.P50Ms,
		AddedLatencyP99Ms: rep.P99Ms,
	}
	if res.RelayCPUCores > 0 {
		res.GbpsPerRelayCore = res.EgressGbps / res.RelayCPUCores
		res.ViewersPerRelayCore = res.EgressGbps * 1e9 / float64(opts.BitrateBps) / res.RelayCPUCores
	}
	return res, nil
}

// fanoutSource appends frames at a fixed rate, each carrying its number
// and append time.
type fanoutSource struct {
	track      *media.Track
	fps        int
	frameBytes int
}

func (s *fanoutSource) run(ctx context.Context) {
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
		now := time.Now()
		_ = s.track.Append(media.Object{
			Keyframe: key, Timestamp: time.Duration(n+1) * time.Second / time.Duration(s.fps),
			CaptureMicros: now.UnixMicro(), Payload: benchFrame(n, now.UnixMicro(), key, filler),
		})
	}
}

// benchFrame is an Annex B access unit whose slice starts with
// "#n.micros#" in ASCII (frame number and append time), which viewers
// read from the first FU-A fragment without reassembling.
func benchFrame(n int, micros int64, key bool, filler []byte) []byte {
	out := make([]byte, 0, len(filler)+48)
	if key {
		out = append(out, 0, 0, 0, 1, 0x67, 0x42, 0xc0, 0x1f, 0xda, 0x01, 0x40, 0x16, 0xe8, 0, 0, 0, 1, 0x68, 0xce, 0x3c, 0x80, 0, 0, 0, 1, 0x65)
	} else {
		out = append(out, 0, 0, 0, 1, 0x41)
	}
	out = append(out, '#')
	out = strconv.AppendInt(out, int64(n), 10)
	out = append(out, '.')
	out = strconv.AppendInt(out, micros, 10)
	out = append(out, '#')
	return append(out, filler...)
}

// parseBenchStamp reads benchFrame's "#n.micros#".
func parseBenchStamp(p []byte) (n int, micros int64, ok bool) {
	if len(p) < 5 || p[0] != '#' {
		return 0, 0, false
	}
	end := slices.Index(p[1:min(len(p), 48)], '#')
	if end < 0 {
		return 0, 0, false
	}
	num, at, found := strings.Cut(string(p[1:1+end]), ".")
	if !found {
		return 0, 0, false
	}
	nn, err1 := strconv.Atoi(num)
	mm, err2 := strconv.ParseInt(at, 10, 64)
	return nn, mm, err1 == nil && err2 == nil
}

// webrtcChild is the running viewer process and its pipes.
type webrtcChild struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	lines chan string
	done  chan struct{}
}

func startWebRTCChild(ctx context.Context, cfg webrtcChildConfig) (*webrtcChild, error) {
	cmd, err := childCommand(ctx, webrtcChildEnv, cfg)
	if err != nil {
		return nil, err
	}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	c := &webrtcChild{cmd: cmd, stdin: stdin, lines: make(chan string, 4), done: make(chan struct{})}
	go func() { // ends when the child's stdout closes
		defer close(c.done)
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			c.lines <- sc.Text()
		}
		close(c.lines)
	}()
	return c, nil
}

func (c *webrtcChild) line(d time.Duration) (string, error) {
	select {
	case l, ok := <-c.lines:
		if !ok {
			return "", errors.New("bench: viewer process exited")
		}
		return l, nil
	case <-time.After(d):
		return "", fmt.Errorf("bench: viewer process silent for %s", d)
	}
}

func (c *webrtcChild) expect(want string, d time.Duration) error {
	l, err := c.line(d)
	if err != nil {
		return err
	}
	if l != want {
		return fmt.Errorf("bench: viewer process said %q, want %q", l, want)
	}
	return nil
}

func (c *webrtcChild) send(cmd string) error {
	_, err := io.WriteString(c.stdin, cmd+"\n")
	return err
}

func (c *webrtcChild) report(d time.Duration) (webrtcChildReport, error) {
	var rep webrtcChildReport
	l, err := c.line(d)
	if err != nil {
		return rep, err
	}
	if err := json.Unmarshal([]byte(l), &rep); err != nil {
		return rep, fmt.Errorf("bench: viewer report %q: %w", l, err)
	}
	return rep, nil
}

// stop closes stdin (the child's cue to leave) and waits; a child that
// does not leave in time is killed.
func (c *webrtcChild) stop() {
	_ = c.stdin.Close()
	select {
	case <-c.done:
	case <-time.After(20 * time.Second):
		_ = c.cmd.Process.Kill()
		<-c.done
	}
	_ = c.cmd.Wait()
}

// runWebRTCChildIfRequested is the viewer process when the environment
// asks for it.
func runWebRTCChildIfRequested() (bool, error) {
	raw, ok := os.LookupEnv(webrtcChildEnv)
	if !ok {
		return false, nil
	}
	var cfg webrtcChildConfig
	if err := json.Unmarshal([]byte(raw), &cfg); err != nil {
		return true, fmt.Errorf("%w: child config: %v", ErrWebRTCFanoutConfig, err)
	}
	return true, runWebRTCChild(cfg, os.Stdin, os.Stdout)
}

func runWebRTCChild(cfg webrtcChildConfig, in io.Reader, out io.Writer) error {
	ctx, cancel := context.WithTimeout(context.Background(), cfg.Timeout)
	defer cancel()
	api := benchViewerAPI(true)
	hc := &http.Client{Timeout: 30 * time.Second}
	defer hc.CloseIdleConnections()
	viewers := make([]*fanoutViewer, cfg.Subscribers)
	defer func() {
		for _, v := range viewers {
			if v != nil {
				v.close()
			}
		}
	}()
	// A few POSTs at a time: each answer waits for ICE gathering.
	var (
		wg       sync.WaitGroup
		errMu    sync.Mutex
		firstErr error
		sem      = make(chan struct{}, 8)
	)
	for i := range viewers {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			v, err := newFanoutViewer(ctx, api, hc, cfg.URL, freezeGap(cfg.FPS))
			errMu.Lock()
			defer errMu.Unlock()
			if err != nil && firstErr == nil {
				firstErr = err
			}
			viewers[i] = v
		})
	}
	wg.Wait()
	if firstErr != nil {
		return firstErr
	}
	for _, v := range viewers {
		for v.frames.Load() == 0 {
			if ctx.Err() != nil {
				return errors.New("bench: viewers got no media")
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	if _, err := io.WriteString(out, "ready\n"); err != nil {
		return err
	}
	sc := bufio.NewScanner(in)
	for sc.Scan() {
		switch sc.Text() {
		case "start":
			for _, v := range viewers {
				v.reset()
			}
		case "stop":
			var rep webrtcChildReport
			var lat []float64
			for _, v := range viewers {
				d, got, l := v.snapshot()
				rep.Bytes += v.bytes.Load()
				rep.Dropped += d
				rep.Frames += got
				rep.Freezes += v.freezes.Load()
				lat = append(lat, l...)
			}
			slices.Sort(lat)
			rep.P50Ms, rep.P99Ms = percentile(lat, 0.50), percentile(lat, 0.99)
			if err := json.NewEncoder(out).Encode(rep); err != nil {
				return err
			}
		}
	}
	return nil
}

// benchViewerAPI is the viewers' pion: NACKs and receiver reports, as a
// browser sends them (they are part of the relay's load), without pion's
// default stats and congestion interceptors, which only cost the viewer
// process CPU the relay's measurement does not need.
func benchViewerAPI(loopbackOnly bool) *webrtc.API {
	me := &webrtc.MediaEngine{}
	_ = me.RegisterDefaultCodecs()
	reg := &interceptor.Registry{}
	_ = webrtc.ConfigureNack(me, reg)
	_ = webrtc.ConfigureRTCPReports(reg)
	se := webrtc.SettingEngine{}
	se.SetIncludeLoopbackCandidate(true)
	se.SetICEMulticastDNSMode(ice.MulticastDNSModeDisabled)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	if loopbackOnly {
		se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
	}
	return webrtc.NewAPI(webrtc.WithMediaEngine(me), webrtc.WithInterceptorRegistry(reg), webrtc.WithSettingEngine(se))
}

// fanoutViewer is one WHEP viewer counting frames, bytes and latency.
type fanoutViewer struct {
	pc *webrtc.PeerConnection
	wg sync.WaitGroup

	frames  atomic.Uint64
	bytes   atomic.Uint64
	freezes atomic.Uint64
	freeze  freezeClock

	mu      sync.Mutex
	closed  bool
	cur     int   // frame being received, -1 if unknown
	curAt   int64 // its append time, unix microseconds
	first   int
	last    int
	got     uint64
	latency []float64 // milliseconds
}

func newFanoutViewer(ctx context.Context, api *webrtc.API, hc *http.Client, url string, gap time.Duration) (*fanoutViewer, error) {
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return nil, err
	}
	v := &fanoutViewer{pc: pc, cur: -1, first: -1, freeze: freezeClock{gap: gap}}
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
		v.wg.Go(func() { v.read(tr) })
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
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(pc.LocalDescription().SDP))
	if err != nil {
		v.close()
		return nil, err
	}
	req.Header.Set("Content-Type", strtc.ContentTypeSDP)
	resp, err := hc.Do(req)
	if err != nil {
		v.close()
		return nil, err
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	_ = resp.Body.Close()
	if err != nil || resp.StatusCode != http.StatusCreated {
		v.close()
		return nil, fmt.Errorf("bench: WHEP POST: %d %s (%v)", resp.StatusCode, body, err)
	}
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: string(body)}); err != nil {
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
			if num, at, ok := parseBenchStamp(p[2:]); ok {
				v.mu.Lock()
				v.cur, v.curAt = num, at
				v.mu.Unlock()
			}
		}
		if marker {
			v.frames.Add(1)
			if v.freeze.frame(now) {
				v.freezes.Add(1)
			}
			v.mu.Lock()
			if v.cur >= 0 {
				v.latency = append(v.latency, float64(now.UnixMicro()-v.curAt)/1000)
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

// reset starts the measured window.
func (v *fanoutViewer) reset() {
	v.bytes.Store(0)
	v.freezes.Store(0)
	v.mu.Lock()
	v.first, v.got, v.latency = -1, 0, v.latency[:0]
	v.mu.Unlock()
}

// snapshot returns frames missed and received inside the window, and the
// latencies.
func (v *fanoutViewer) snapshot() (dropped, got uint64, lat []float64) {
	v.mu.Lock()
	defer v.mu.Unlock()
	if v.first >= 0 {
		if want := uint64(v.last - v.first + 1); want > v.got {
			dropped = want - v.got
		}
	}
	return dropped, v.got, slices.Clone(v.latency)
}

func (v *fanoutViewer) close() {
	v.mu.Lock()
	v.closed = true
	v.mu.Unlock()
	_ = v.pc.Close()
	v.wg.Wait()
}
