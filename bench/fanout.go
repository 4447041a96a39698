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
	"io"
	"log/slog"
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
	// FPS and GOP shape the track; zero means 60 and 60 (one-second
	// groups).
	FPS, GOP int
}

// FanoutResult is one MoQ fan-out measurement.
type FanoutResult struct {
	Subscribers            int     `json:"subscribers"`
	EgressGbps             float64 `json:"egress_gbps"`
	RelayCPUCores          float64 `json:"relay_cpu_cores"`
	GbpsPerRelayCore       float64 `json:"gbps_per_relay_core"`
	AddedLatencyP50Ms      float64 `json:"added_latency_p50_ms"`
	AddedLatencyP99Ms      float64 `json:"added_latency_p99_ms"`
	DroppedObjects         int64   `json:"dropped_objects"`
	UDPBaselineGbpsPerCore float64 `json:"udp_baseline_gbps_per_core,omitempty"`
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
func FanoutMoQ(ctx context.Context, opts FanoutOptions) (FanoutResult, error) {
	if opts.Subscribers <= 0 || opts.BitrateBps <= 0 || opts.Duration <= 0 {
		return FanoutResult{}, fmt.Errorf("%w: subscribers, bitrate and duration must be positive", ErrFanoutConfig)
	}
	if opts.FPS <= 0 {
		opts.FPS = 60
	}
	if opts.GOP <= 0 {
		opts.GOP = 60
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
	reg := prometheus.NewRegistry()
	r, err := relay.New(relay.Options{Keys: keys, Registerer: reg,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		return FanoutResult{}, err
	}
	defer r.Close()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		return FanoutResult{}, err
	}
	defer pc.Close()
	if err := r.Listen(pc, srvTLS, nil); err != nil {
		return FanoutResult{}, err
	}
	ns := media.Namespace{Tenant: "bench", Session: "fanout"}
	b, err := r.Hub().Publish(ns)
	if err != nil {
		return FanoutResult{}, err
	}
	track, err := b.CreateTrack(media.TrackInfo{Name: "video", Kind: media.KindVideo}, media.TrackOptions{})
	if err != nil {
		return FanoutResult{}, err
	}
	now := time.Now()
	tok, err := token.Sign(priv, "bench", token.Claims{Issuer: "bench", Tenant: ns.Tenant, Session: ns.Session,
		Role: token.RoleViewer, IssuedAt: now, ExpiresAt: now.Add(time.Hour)})
	if err != nil {
		return FanoutResult{}, err
	}

	cfg := childConfig{Addr: pc.LocalAddr().String(), Subscribers: opts.Subscribers,
		CertDER: base64.StdEncoding.EncodeToString(certDER), Token: tok,
		Namespace: ns.Tuple(), Track: "video", Timeout: opts.Duration + time.Minute}
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
	egress0, cpu0, t0 := metricValue(reg, "strata_edge_moq_egress_bytes_total"), processCPU(), time.Now()
	published, err := publishFanout(ctx, track, opts)
	if err != nil {
		return FanoutResult{}, err
	}
	elapsed, cpu := time.Since(t0), processCPU()-cpu0
	egress := metricValue(reg, "strata_edge_moq_egress_bytes_total") - egress0
	b.Close() // ends the track: subscribers get PUBLISH_DONE and report

	var rep childReport
	if err := json.NewDecoder(out).Decode(&rep); err != nil {
		return FanoutResult{}, fmt.Errorf("bench: subscriber report: %w", err)
	}
	res := FanoutResult{
		Subscribers:       opts.Subscribers,
		EgressGbps:        egress * 8 / elapsed.Seconds() / 1e9,
		RelayCPUCores:     cpu.Seconds() / elapsed.Seconds(),
		AddedLatencyP50Ms: rep.P50Ms,
		AddedLatencyP99Ms: rep.P99Ms,
		DroppedObjects:    max(0, int64(published)*int64(opts.Subscribers)-rep.Objects),
	}
	if res.RelayCPUCores > 0 {
		res.GbpsPerRelayCore = res.EgressGbps / res.RelayCPUCores
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

func startChild(ctx context.Context, cfg childConfig) (*exec.Cmd, *bufio.Reader, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, nil, err
	}
	raw, err := json.Marshal(cfg)
	if err != nil {
		return nil, nil, err
	}
	// -test.run matching nothing keeps a test binary whose TestMain forgot
	// the hook from running the suite; a normal binary ignores the hook
	// only if its main forgot it too.
	cmd := exec.CommandContext(ctx, exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), fanoutChildEnv+"="+string(raw))
	cmd.Stderr = os.Stderr
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
