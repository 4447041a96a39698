package main

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/strata-edge/strata/bench"
	"github.com/strata-edge/strata/internal/capacity"
)

// TestCalibrateFromResults: calibrate --from turns stamped capacity
// results into a profile an edge reads, with the lowest knee egress and
// the results' hardware fingerprint.
func TestCalibrateFromResults(t *testing.T) {
	dir := t.TempDir()
	host := bench.ThisHost()
	var files []string
	for tr, gbps := range map[string]float64{"webrtc": 0.2, "moq": 0.35} {
		res := bench.CapacityResult{Transport: tr, BitrateBps: 1e6, KneeViewers: int(gbps * 1000),
			EgressGbpsAtKnee: gbps, CPUCoresAtKnee: 0.3, Broke: true}
		raw, err := bench.Stamped(res, host, []string{"strata-bench", "capacity"})
		if err != nil {
			t.Fatal(err)
		}
		path := filepath.Join(dir, tr+".json")
		if err := os.WriteFile(path, raw, 0o644); err != nil {
			t.Fatal(err)
		}
		files = append(files, path)
	}
	out := filepath.Join(dir, "profile.json")
	got, err := benchCalibrate(context.Background(), []string{"--from", files[0] + "," + files[1], "--write", out}, nil)
	if err != nil {
		t.Fatal(err)
	}
	if cal := got.(calibration); len(cal.Sweeps) != 2 {
		t.Fatalf("calibration %+v", cal)
	}
	p, err := capacity.ReadProfile(out)
	if err != nil {
		t.Fatal(err)
	}
	if p.EgressMbps != 200 || p.Transports["moq"].KneeViewers != 350 || p.Matches(host) != nil {
		t.Fatalf("profile %+v", p)
	}
	if _, err := benchCalibrate(context.Background(), []string{"--from", files[0]}, nil); err == nil {
		t.Fatal("calibrate without --write accepted")
	}
}
