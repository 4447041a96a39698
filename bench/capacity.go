package bench

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/strata-edge/strata/internal/capacity"
)

// ErrCapacityConfig reports unusable CapacityOptions.
var ErrCapacityConfig = errors.New("bench: invalid capacity sweep config")

// Transport names of the capacity sweep.
const (
	TransportMoQ    = "moq"
	TransportWebRTC = "webrtc"
)

// CapacityOptions configures a capacity sweep.
type CapacityOptions struct {
	Transport string // TransportMoQ or TransportWebRTC
	// Steps run Start, Start+Step, ... up to MaxViewers viewers.
	Start, Step, MaxViewers int
	StepDuration            time.Duration // measured window per step
	BitrateBps              int64
	FPS                     int
	SLO                     SLO
	// Confirm re-measures a step that breaks the SLO once; the step
	// breaks only if the re-run breaks too, so one noisy window does not
	// end the sweep early.
	Confirm  bool
	Progress *Progress
	// Measure holds n viewers for one step and measures it; nil means a
	// local edge (the fan-out benches' relay in this process, its viewers
	// in a child process) for Transport.
	Measure func(ctx context.Context, n int) (CapacityStep, error)
}

// CapacityStep is one step of the sweep: the edge's cost and the viewers'
// experience while n viewers watch.
type CapacityStep struct {
	Viewers    int     `json:"viewers"`
	CPUCores   float64 `json:"cpu_cores"`   // edge CPU time over the window
	RSSBytes   uint64  `json:"rss_bytes"`   // edge resident memory at the window's end
	EgressGbps float64 `json:"egress_gbps"` // NIC bits/s towards the viewers
	P50Ms      float64 `json:"p50_ms"`      // glass to glass, from capture timestamps
	P99Ms      float64 `json:"p99_ms"`
	Lost       uint64  `json:"lost"`     // frames (objects) owed and not received
	Received   uint64  `json:"received"` // frames received, all viewers
	Loss       float64 `json:"loss"`     // Lost / (Lost + Received)
	Freezes    uint64  `json:"freezes"`
	// GPU load and encoder sessions, where nvidia-smi exists.
	GPUUtilPct     *float64 `json:"gpu_util_pct,omitempty"`
	EncoderSession *int     `json:"encoder_sessions,omitempty"`
	MeetsSLO       bool     `json:"meets_slo"`
}

// CapacityResult is a sweep's outcome. The knee is the last step that met
// the SLO; Broke says whether a later step broke it (if not, the edge
// carries more than the sweep asked of it).
type CapacityResult struct {
	Transport            string  `json:"transport"`
	BitrateBps           int64   `json:"bitrate_bps"`
	StepSeconds          float64 `json:"step_seconds"`
	SLO                  SLO     `json:"slo"`
	KneeViewers          int     `json:"knee_viewers"`
	ViewersPerCoreAtKnee float64 `json:"viewers_per_core_at_knee"`
	GbpsPerCoreAtKnee    float64 `json:"gbps_per_core_at_knee"`
	CPUCoresAtKnee       float64 `json:"cpu_cores_at_knee"`
	EgressGbpsAtKnee     float64 `json:"egress_gbps_at_knee"`
	Broke                bool    `json:"broke"`
	// Steps are the measured steps in order, the breaking one last.
	Steps []CapacityStep `json:"steps"`
	// Per-step arrays, aligned with Steps, for plotting tools.
	Viewers  []int     `json:"viewers"`
	CPUCores []float64 `json:"cpu_cores"`
	P50Ms    []float64 `json:"p50_ms"`
	P99Ms    []float64 `json:"p99_ms"`
	Loss     []float64 `json:"loss"`
}

func (o *CapacityOptions) defaults() error {
	if o.Transport != TransportMoQ && o.Transport != TransportWebRTC && o.Measure == nil {
		return fmt.Errorf("%w: transport %q: want moq or webrtc", ErrCapacityConfig, o.Transport)
	}
	if o.Step <= 0 {
		o.Step = 50
	}
	if o.Start <= 0 {
		o.Start = o.Step
	}
	if o.StepDuration <= 0 {
		o.StepDuration = 5 * time.Second
	}
	if o.FPS <= 0 {
		o.FPS = 30
	}
	if o.BitrateBps <= 0 {
		o.BitrateBps = 1_000_000
	}
	if o.MaxViewers < o.Start {
		return fmt.Errorf("%w: max viewers %d below the first step %d", ErrCapacityConfig, o.MaxViewers, o.Start)
	}
	if o.SLO.P99Ms < 0 || o.SLO.Loss < 0 || o.SLO.Loss >= 1 {
		return fmt.Errorf("%w: SLO %+v", ErrCapacityConfig, o.SLO)
	}
	return nil
}

// Capacity sweeps viewers against one edge until a step breaks the SLO or
// MaxViewers is reached, and reports the knee.
func Capacity(ctx context.Context, o CapacityOptions) (CapacityResult, error) {
	if err := o.defaults(); err != nil {
		return CapacityResult{}, err
	}
	if o.Measure == nil {
		o.Measure = o.localMeasure
	}
	res := CapacityResult{Transport: o.Transport, BitrateBps: o.BitrateBps, StepSeconds: o.StepDuration.Seconds(), SLO: o.SLO}
	total := (o.MaxViewers-o.Start)/o.Step + 1
	for i, n := 0, o.Start; n <= o.MaxViewers; i, n = i+1, n+o.Step {
		o.Progress.Bar(i, total, fmt.Sprintf("%s: %d viewers", o.Transport, n))
		st, err := o.measure(ctx, n)
		if err != nil {
			return res, fmt.Errorf("bench: step of %d viewers: %w", n, err)
		}
		res.Steps = append(res.Steps, st)
		o.Progress.Step("%d viewers: %.2f cores, %.3f Gbit/s, p50 %.1f ms, p99 %.1f ms, loss %.4f, %d freezes, SLO %s",
			n, st.CPUCores, st.EgressGbps, st.P50Ms, st.P99Ms, st.Loss, st.Freezes, map[bool]string{true: "met", false: "broken"}[st.MeetsSLO])
		if !st.MeetsSLO {
			break
		}
	}
	o.Progress.Bar(total, total, "done")
	res.finish()
	return res, nil
}

// measure runs one step, and once more if it breaks and Confirm is set.
func (o *CapacityOptions) measure(ctx context.Context, n int) (CapacityStep, error) {
	st, err := o.Measure(ctx, n)
	if err != nil {
		return st, err
	}
	st.Viewers = n
	st.MeetsSLO = o.SLO.Met(st.P99Ms, st.Loss)
	if st.MeetsSLO || !o.Confirm {
		return st, nil
	}
	o.Progress.Step("%d viewers broke the SLO (p99 %.1f ms, loss %.4f); measuring again", n, st.P99Ms, st.Loss)
	again, err := o.Measure(ctx, n)
	if err != nil {
		return st, err
	}
	again.Viewers = n
	again.MeetsSLO = o.SLO.Met(again.P99Ms, again.Loss)
	return again, nil
}

// finish fills the knee and the per-step arrays from Steps.
func (r *CapacityResult) finish() {
	pts := make([]KneePoint, len(r.Steps))
	for i, s := range r.Steps {
		pts[i] = KneePoint{Viewers: s.Viewers, P99Ms: s.P99Ms, Loss: s.Loss}
		r.Viewers = append(r.Viewers, s.Viewers)
		r.CPUCores = append(r.CPUCores, s.CPUCores)
		r.P50Ms = append(r.P50Ms, s.P50Ms)
		r.P99Ms = append(r.P99Ms, s.P99Ms)
		r.Loss = append(r.Loss, s.Loss)
	}
	k, broke := Knee(pts, r.SLO)
	r.Broke = broke
	if k < 0 {
		return
	}
	s := r.Steps[k]
	r.KneeViewers, r.CPUCoresAtKnee, r.EgressGbpsAtKnee = s.Viewers, s.CPUCores, s.EgressGbps
	if s.CPUCores > 0 {
		r.ViewersPerCoreAtKnee = float64(s.Viewers) / s.CPUCores
		r.GbpsPerCoreAtKnee = s.EgressGbps / s.CPUCores
	}
}

// localMeasure runs one step against a fresh local edge: the fan-out
// bench of o.Transport with n viewers.
func (o *CapacityOptions) localMeasure(ctx context.Context, n int) (CapacityStep, error) {
	var st CapacityStep
	switch o.Transport {
	case TransportWebRTC:
		r, err := FanoutWebRTC(ctx, FanoutWebRTCOptions{Subscribers: n, BitrateBps: o.BitrateBps, Duration: o.StepDuration, FPS: o.FPS})
		if err != nil {
			return st, err
		}
		st = CapacityStep{CPUCores: r.RelayCPUCores, EgressGbps: r.EgressGbps, P50Ms: r.AddedLatencyP50Ms, P99Ms: r.AddedLatencyP99Ms,
			Lost: r.DroppedObjects, Received: r.ReceivedFrames, Freezes: r.Freezes}
	default:
		r, err := FanoutMoQ(ctx, FanoutOptions{Subscribers: n, BitrateBps: o.BitrateBps, Duration: o.StepDuration, FPS: o.FPS})
		if err != nil {
			return st, err
		}
		st = CapacityStep{CPUCores: r.RelayCPUCores, EgressGbps: r.EgressGbps, P50Ms: r.AddedLatencyP50Ms, P99Ms: r.AddedLatencyP99Ms,
			Lost: uint64(r.DroppedObjects), Received: uint64(r.ReceivedObjects), Freezes: uint64(r.Freezes)}
	}
	if owed := st.Lost + st.Received; owed > 0 {
		st.Loss = float64(st.Lost) / float64(owed)
	} else {
		st.Loss = 1 // no viewer got anything
	}
	st.RSSBytes = selfRSS()
	st.GPUUtilPct, st.EncoderSession = gpuLoad()
	return st, nil
}

// selfRSS is this process's resident memory, from /proc; 0 elsewhere.
func selfRSS() uint64 {
	v := capacity.ProcField("/proc/self/status", "VmRSS")
	kb, err := strconv.ParseUint(strings.TrimSuffix(v, " kB"), 10, 64)
	if err != nil {
		return 0
	}
	return kb * 1024
}

// gpuLoad reads the first GPU's utilisation and encoder sessions from
// nvidia-smi; both nil without one.
func gpuLoad() (*float64, *int) {
	out, err := capacity.NvidiaSMI("--query-gpu=utilization.gpu,encoder.stats.sessionCount", "--format=csv,noheader,nounits")
	if err != nil {
		return nil, nil
	}
	line, _, _ := strings.Cut(string(out), "\n")
	u, s, ok := strings.Cut(line, ",")
	if !ok {
		return nil, nil
	}
	util, err1 := strconv.ParseFloat(strings.TrimSpace(u), 64)
	sess, err2 := strconv.Atoi(strings.TrimSpace(s))
	if err1 != nil || err2 != nil {
		return nil, nil
	}
	return &util, &sess
}

// isTerminal reports whether f is a character device (a terminal), where
// progress redraws one line instead of printing many.
func isTerminal(f *os.File) bool {
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}

// ProfileFrom turns capacity sweeps, by transport, into a capacity
// profile for host.
func ProfileFrom(sweeps map[string]CapacityResult, host Host, now time.Time) (capacity.Profile, error) {
	ts := map[string]capacity.Transport{}
	var bitrate int64
	for name, r := range sweeps {
		ts[name] = capacity.Transport{KneeViewers: r.KneeViewers, EgressMbps: r.EgressGbpsAtKnee * 1000,
			CPUCores: r.CPUCoresAtKnee, Broke: r.Broke}
		bitrate = r.BitrateBps
	}
	return capacity.NewProfile(host, bitrate, ts, now)
}
