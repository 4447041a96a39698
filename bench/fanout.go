package bench

import (
	"bufio"
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"syscall"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/strata-edge/strata/edge/relay"
	"github.com/strata-edge/strata/internal/token"
	"github.com/strata-edge/strata/transport/media"
	"github.com/strata-edge/strata/transport/moq/wire"
)

// ErrFanoutConfig reports unusable FanoutOptions.
var ErrFanoutConfig = errors.New("bench: invalid moq fan-out config")

// FanoutOptions configures FanoutMoQ.
type FanoutOptions struct {
	Subscribers int           // MoQ viewers, one QUIC connection each
	BitrateBps  int64         // the one video track's bitrate
	Duration    time.Duration // measured publishing window
	// Baseline also measures a plain UDP sender on loopback in the same
	// run, for the per-core ratio.
	Baseline bool
	// FPS and GOP shape the track; zero means 60 frames/s and one-second
	// groups.
	FPS, GOP int
	// Hops is how many relays sit between the publisher's relay and the
	// subscribers' (0 or 1). With 1, the result also reports what the hop
	// adds, measured against a subscriber on the first relay.
	Hops int
	// Profile names pprof files to write for the relay process.
	Profile FanoutProfile
	// MoQVersion is the MoQ Transport version the subscribers speak
	// (relays between edges use the newest); zero means the newest.
	MoQVersion wire.Version
}

// FanoutProfile names the pprof outputs of a fan-out run; empty means none.
type FanoutProfile struct {
	CPU   string // CPU profile over the measured window
	Alloc string // allocation profile, written after the window
}

// FanoutResult is one MoQ fan-out measurement.
type FanoutResult struct {
	Subscribers       int     `json:"subscribers"`
	MoQVersion        string  `json:"moq_version"`
	EgressGbps        float64 `json:"egress_gbps"`
	RelayCPUCores     float64 `json:"relay_cpu_cores"`
	GbpsPerRelayCore  float64 `json:"gbps_per_relay_core"`
	AddedLatencyP50Ms float64 `json:"added_latency_p50_ms"`
	AddedLatencyP99Ms float64 `json:"added_latency_p99_ms"`
	DroppedObjects    int64   `json:"dropped_objects"`
	// ReceivedObjects is every subscriber's objects, summed; Freezes
	// counts gaps between two objects at one subscriber longer than
	// freezeGap.
	ReceivedObjects int64 `json:"received_objects"`
	Freezes         int64 `json:"freezes"`
	// RelaySendLatency is the subscribers' relay's own share: capture to
	// the object's stream write (its added-latency histogram over the
	// window, interpolated within buckets), without the subscriber
	// process, which on a small machine can be the bottleneck.
	RelaySendLatencyP50Ms  float64 `json:"relay_send_latency_p50_ms"`
	RelaySendLatencyP99Ms  float64 `json:"relay_send_latency_p99_ms"`
	UDPBaselineGbpsPerCore float64 `json:"udp_baseline_gbps_per_core,omitempty"`
	// With Hops: how many, and the capture-to-ingest latency of objects
	// arriving in the subscribers' relay from the publisher's, which is
	// what the hop adds (a publisher appending straight into the
	// subscribers' relay would show zero).
	Hops            int     `json:"hops,omitempty"`
	HopLatencyP50Ms float64 `json:"hop_latency_p50_ms,omitempty"`
	HopLatencyP99Ms float64 `json:"hop_latency_p99_ms,omitempty"`
}

// fanoutChildEnv names the environment variable that turns a process
// into FanoutMoQ's subscriber process; its value is the JSON childConfig.
const fanoutChildEnv = "STRATA_BENCH_MOQ_FANOUT_CHILD"

// FanoutMoQ runs a relay in this process, publishes one synthetic video
// track into its hub, and has opts.Subscribers viewers in a separate
// process subscribe to it over raw QUIC on loopback. The subscriber
// process is this same executable re-run with STRATA_BENCH_MOQ_FANOUT_CHILD
// set: its main (or TestMain) must call RunFanoutChildIfRequested first.
// Keeping viewers out of process means relay_cpu_cores (this process's
// rusage delta over the window) is the relay's cost alone, plus the
// small in-process publisher.
//
// Added latency is capture (the LOC wall-clock timestamp set when the
// object enters the hub) to receipt in the subscriber process: relay
// fan-out, the loopback hop and the viewer's QUIC stack.
//
// With opts.Hops == 1 the publisher's relay has one subscriber, a second
// in-process relay that pulls the track over MoQ as an edge does, and the
// viewers subscribe to that second relay; relay_cpu_cores then covers both.
func FanoutMoQ(ctx context.Context, opts FanoutOptions) (FanoutResult, error) {
	if opts.Subscribers <= 0 || opts.BitrateBps <= 0 || opts.Duration <= 0 {
		return FanoutResult{}, fmt.Errorf("%w: subscribers, bitrate and duration must be positive", ErrFanoutConfig)
	}
	if opts.Hops < 0 || opts.Hops > 1 {
		return FanoutResult{}, fmt.Errorf("%w: hops must be 0 or 1", ErrFanoutConfig)
	}
	if _, err := wire.CodecFor(opts.moqVersion()); err != nil {
		return FanoutResult{}, fmt.Errorf("%w: moq version: %v", ErrFanoutConfig, err)
	}
	if opts.FPS <= 0 {
		opts.FPS = 60
	}
	if opts.GOP <= 0 {
		opts.GOP = opts.FPS
	}
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return FanoutResult{}, err
	}
	keys, err := token.NewKeySet(map[string]ed25519.PublicKey{"bench": pub})
	if err != nil {
		return FanoutResult{}, err
	}
	srvTLS, certDER, err := benchTLS()
	if err != nil {
		return FanoutResult{}, err
	}
	ns := media.Namespace{Tenant: "bench", Session: "fanout"}
	sign := func(role token.Role) (string, error) {
		now := time.Now()
		return token.Sign(priv, "bench", token.Claims{Issuer: "bench", Tenant: ns.Tenant, Session: ns.Session,
			Role: role, IssuedAt: now, ExpiresAt: now.Add(time.Hour)})
	}
	// The two relays of a one-hop run hold certificates of one cluster CA,
	// as edges do, and relay over mutual TLS.
	ids, err := benchIdentities("bench-origin", "bench-edge")
	if err != nil {
		return FanoutResult{}, err
	}
	origin, err := startBenchRelay(relay.Config{}, relay.Deps{Keys: keys, Identity: ids[0]}, srvTLS)
	if err != nil {
		return FanoutResult{}, err
	}
	defer origin.close()
	b, err := origin.r.Hub().Publish(ns)
	if err != nil {
		return FanoutResult{}, err
	}
	track, err := b.CreateTrack(media.TrackInfo{Name: "video", Kind: media.KindVideo}, media.TrackOptions{})
	if err != nil {
		return FanoutResult{}, err
	}
	// edge is the relay the subscribers use: the publisher's own, or one
	// hop away from it.
	edge := origin
	var hop *hopProbe
	if opts.Hops == 1 {
		relayTok, err := sign(token.RoleRelay)
		if err != nil {
			return FanoutResult{}, err
		}
		src := relay.Source{Addr: origin.pc.LocalAddr().String(), NodeID: "bench-origin"}
		edge, err = startBenchRelay(relay.Config{},
			relay.Deps{Keys: keys, Identity: ids[1],
				Locator:    func(context.Context, media.Namespace) (relay.Source, error) { return src, nil },
				RelayToken: func() ([]byte, error) { return []byte(relayTok), nil }}, srvTLS)
		if err != nil {
			return FanoutResult{}, err
		}
		defer edge.close()
		if hop, err = startHopProbe(ctx, edge.r.Hub(), ns, "video"); err != nil {
			return FanoutResult{}, err
		}
		defer hop.stop()
	}
	reg := edge.reg
	tok, err := sign(token.RoleViewer)
	if err != nil {
		return FanoutResult{}, err
	}

	cfg := childConfig{Addr: edge.pc.LocalAddr().String(), Subscribers: opts.Subscribers,
		CertDER: base64.StdEncoding.EncodeToString(certDER), Token: tok,
		Namespace: ns.Tuple(), Track: "video", Timeout: opts.Duration + time.Minute, FPS: opts.FPS,
		Version: uint64(opts.moqVersion())}
	child, out, err := startChild(ctx, cfg)
	if err != nil {
		return FanoutResult{}, err
	}
	defer func() { _ = child.Process.Kill(); _ = child.Wait() }()

	deadline := time.Now().Add(60 * time.Second)
	for metricValue(reg, "strata_edge_moq_subscribers") < float64(opts.Subscribers) {
		if time.Now().After(deadline) {
			return FanoutResult{}, fmt.Errorf("bench: %d subscribers did not join within 60s", opts.Subscribers)
		}
		select {
		case <-time.After(20 * time.Millisecond):
		case <-ctx.Done():
			return FanoutResult{}, ctx.Err()
		}
	}

	// The window opens at a group boundary, so every subscriber is owed
	// every object published in it.
	stopProfile, err := opts.Profile.start()
	if err != nil {
		return FanoutResult{}, err
	}
	const latencyMetric = "strata_edge_moq_added_latency_seconds"
	lat0 := histogramOf(reg, latencyMetric)
	egress0, cpu0, t0 := metricValue(reg, "strata_edge_moq_egress_bytes_total"), processCPU(), time.Now()
	hop.measure(true)
	published, err := publishFanout(ctx, track, opts)
	hop.measure(false)
	if err != nil {
		stopProfile()
		return FanoutResult{}, err
	}
	elapsed, cpu := time.Since(t0), processCPU()-cpu0
	if err := stopProfile(); err != nil {
		return FanoutResult{}, err
	}
	egress := metricValue(reg, "strata_edge_moq_egress_bytes_total") - egress0
	lat := histogramOf(reg, latencyMetric)
	b.Close() // ends the track: subscribers get PUBLISH_DONE and report

	var rep childReport
	if err := json.NewDecoder(out).Decode(&rep); err != nil {
		return FanoutResult{}, fmt.Errorf("bench: subscriber report: %w", err)
	}
	res := FanoutResult{
		Subscribers:       opts.Subscribers,
		MoQVersion:        opts.moqVersion().String(),
		EgressGbps:        egress * 8 / elapsed.Seconds() / 1e9,
		RelayCPUCores:     cpu.Seconds() / elapsed.Seconds(),
		AddedLatencyP50Ms: rep.P50Ms,
		AddedLatencyP99Ms: rep.P99Ms,
		DroppedObjects:    max(0, int64(published)*int64(opts.Subscribers)-rep.Objects),
		ReceivedObjects:   rep.Objects,
		Freezes:           rep.Freezes,

		RelaySendLatencyP50Ms: 1000 * lat.quantileSince(lat0, 0.50),
		RelaySendLatencyP99Ms: 1000 * lat.quantileSince(lat0, 0.99),
	}
	if res.RelayCPUCores > 0 {
		res.GbpsPerRelayCore = res.EgressGbps / res.RelayCPUCores
	}
	if hop != nil {
		lat := hop.stop()
		res.Hops, res.HopLatencyP50Ms, res.HopLatencyP99Ms = 1, percentile(lat, 0.50), percentile(lat, 0.99)
	}
	if opts.Baseline {
		res.UDPBaselineGbpsPerCore, err = udpBaseline(ctx, min(opts.Duration, 3*time.Second))
		if err != nil {
			return res, err
		}
	}
	return res, nil
}

// publishFanout appends frames at opts' bitrate and frame rate for the
// window, starting and ending on group boundaries, and returns how many.
func publishFanout(ctx context.Context, t *media.Track, opts FanoutOptions) (int, error) {
	size := max(int(opts.BitrateBps/8/int64(opts.FPS)), 64)
	payload := make([]byte, size) // shared by every frame: no per-frame garbage
	frames := int(opts.Duration.Seconds() * float64(opts.FPS))
	frames = max(opts.GOP, frames/opts.GOP*opts.GOP)
	tick := time.NewTicker(time.Second / time.Duration(opts.FPS))
	defer tick.Stop()
	for i := range frames {
		now := time.Now().UnixMicro()
		ext, err := wire.AppendExtensions(nil, wire.Extensions{wire.IntPair(0x10, uint64(now))})
		if err != nil {
			return i, err
		}
		if err := t.Append(media.Object{Keyframe: i%opts.GOP == 0, CaptureMicros: now, Payload: payload, Extensions: ext}); err != nil {
			return i, err
		}
		select {
		case <-tick.C:
		case <-ctx.Done():
			return i, ctx.Err()
		}
	}
	t.EndGroup()
	return frames, nil
}

// childCommand is this executable run as a bench child process: cfg
// travels as JSON in the environment variable env, and the child's
// stderr is ours. The caller sets up its pipes and starts it.
func childCommand(ctx context.Context, env string, cfg any) (*exec.Cmd, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	raw, err := json.Marshal(cfg)
	if err != nil {
		return nil, err
	}
	// -test.run matching nothing keeps a test binary whose TestMain forgot
	// the hook from running the suite; a normal binary ignores the hook
	// only if its main forgot it too.
	cmd := exec.CommandContext(ctx, exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), env+"="+string(raw))
	cmd.Stderr = os.Stderr
	return cmd, nil
}

func startChild(ctx context.Context, cfg childConfig) (*exec.Cmd, *bufio.Reader, error) {
	cmd, err := childCommand(ctx, fanoutChildEnv, cfg)
	if err != nil {
		return nil, nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, nil, err
	}
	return cmd, bufio.NewReader(stdout), nil
}

// metricValue reads a gauge or counter from reg by name; 0 if absent.
func metricValue(reg *prometheus.Registry, name string) float64 {
	mfs, err := reg.Gather()
	if err != nil {
		return 0
	}
	for _, mf := range mfs {
		if mf.GetName() == name && len(mf.Metric) > 0 {
			return metricNumber(mf.Metric[0])
		}
	}
	return 0
}

func metricNumber(m *dto.Metric) float64 {
	switch {
	case m.Gauge != nil:
		return m.Gauge.GetValue()
	case m.Counter != nil:
		return m.Counter.GetValue()
	}
	return 0
}

// processCPU is this process's user plus system CPU time.
func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// udpBaseline measures how many Gbit/s one core pushes through plain
// 1200-byte UDP sends on loopback to a socket nobody reads (the kernel
// drops on overflow), the floor any QUIC sender pays per byte.
func udpBaseline(ctx context.Context, d time.Duration) (float64, error) {
	rx, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer rx.Close()
	tx, err := net.DialUDP("udp", nil, rx.LocalAddr().(*net.UDPAddr))
	if err != nil {
		return 0, err
	}
	defer tx.Close()
	buf := make([]byte, 1200)
	var sent int64
	cpu0, t0 := processCPU(), time.Now()
	for time.Since(t0) < d && ctx.Err() == nil {
		for range 256 {
			n, err := tx.Write(buf)
			if err != nil {
				continue // ECONNREFUSED bursts on loopback are harmless
			}
			sent += int64(n)
		}
	}
	cpu := processCPU() - cpu0
	if cpu <= 0 {
		return 0, nil
	}
	return float64(sent) * 8 / 1e9 / cpu.Seconds(), nil
}

// benchTLS makes a throwaway certificate for 127.0.0.1.
func benchTLS() (*tls.Config, []byte, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "strata-bench"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, err
	}
	return &tls.Config{Certificates: []tls.Certificate{{Certificate: [][]byte{der}, PrivateKey: key}}}, der, nil
}

// moqVersion is the subscribers' version: the option, or the newest.
func (o FanoutOptions) moqVersion() wire.Version {
	if o.MoQVersion != 0 {
		return o.MoQVersion
	}
	return wire.SupportedVersions()[0]
}
