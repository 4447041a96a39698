package bench

import (
	"context"
	"errors"
	"math"
	"testing"
	"time"
)

// TestCapacitySweepStopsAtFirstBreak: the sweep measures steps in order,
// stops at the first that breaks the SLO, and reports the step before it
// as the knee with per-core figures from that step.
func TestCapacitySweepStopsAtFirstBreak(t *testing.T) {
	var asked []int
	measure := func(_ context.Context, n int) (CapacityStep, error) {
		asked = append(asked, n)
		st := CapacityStep{CPUCores: float64(n) / 100, EgressGbps: float64(n) / 1000, P99Ms: 20}
		if n > 150 {
			st.P99Ms = 400
		}
		return st, nil
	}
	res, err := Capacity(context.Background(), CapacityOptions{Step: 50, MaxViewers: 400,
		SLO: SLO{P99Ms: 100}, Measure: measure})
	if err != nil {
		t.Fatal(err)
	}
	if len(asked) != 4 || asked[3] != 200 {
		t.Fatalf("measured %v, want 50..200 and a stop", asked)
	}
	if res.KneeViewers != 150 || !res.Broke || math.Abs(res.ViewersPerCoreAtKnee-100) > 1e-9 || math.Abs(res.GbpsPerCoreAtKnee-0.1) > 1e-9 {
		t.Fatalf("result %+v", res)
	}
	if len(res.Viewers) != 4 || len(res.P99Ms) != 4 || res.Steps[3].MeetsSLO {
		t.Fatalf("per-step arrays %+v", res)
	}
}

// TestCapacityConfirmFiltersOneNoisyWindow: with Confirm, a step that
// breaks once and meets the SLO when measured again does not end the
// sweep.
func TestCapacityConfirmFiltersOneNoisyWindow(t *testing.T) {
	calls := map[int]int{}
	measure := func(_ context.Context, n int) (CapacityStep, error) {
		calls[n]++
		if n == 100 && calls[n] == 1 {
			return CapacityStep{P99Ms: 999}, nil
		}
		return CapacityStep{P99Ms: 10, CPUCores: 1}, nil
	}
	res, err := Capacity(context.Background(), CapacityOptions{Step: 50, MaxViewers: 200, Confirm: true,
		SLO: SLO{P99Ms: 100}, Measure: measure})
	if err != nil {
		t.Fatal(err)
	}
	if res.KneeViewers != 200 || res.Broke || calls[100] != 2 {
		t.Fatalf("knee %d broke %v calls %v", res.KneeViewers, res.Broke, calls)
	}
}

func TestCapacityConfig(t *testing.T) {
	for _, o := range []CapacityOptions{{Transport: "sctp", MaxViewers: 10}, {Transport: TransportMoQ, MaxViewers: 10, Start: 20},
		{Transport: TransportMoQ, MaxViewers: 10, SLO: SLO{Loss: 1}}} {
		if _, err := Capacity(context.Background(), o); !errors.Is(err, ErrCapacityConfig) {
			t.Fatalf("%+v: %v", o, err)
		}
	}
}

// TestCapacityLoopback sweeps a real local edge of each transport on
// loopback (small steps, short windows) with a loose SLO and finds a
// knee.
func TestCapacityLoopback(t *testing.T) {
	if testing.Short() {
		t.Skip("spawns viewer processes")
	}
	for _, tr := range []string{TransportWebRTC, TransportMoQ} {
		t.Run(tr, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer cancel()
			res, err := Capacity(ctx, CapacityOptions{Transport: tr, Start: 2, Step: 2, MaxViewers: 4,
				StepDuration: 1500 * time.Millisecond, BitrateBps: 500_000, SLO: SLO{P99Ms: 2000, Loss: 0.5}})
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%+v", res)
			if res.KneeViewers != 4 || res.Broke || res.ViewersPerCoreAtKnee <= 0 || res.GbpsPerCoreAtKnee <= 0 {
				t.Fatalf("no knee: %+v", res)
			}
			if st := res.Steps[0]; st.Received == 0 || st.RSSBytes == 0 || st.P50Ms <= 0 {
				t.Fatalf("step %+v", st)
			}
		})
	}
}
