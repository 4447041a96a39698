package bench

import (
	"bytes"
	"encoding/xml"
	"errors"
	"image/png"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/strata-edge/strata/player/playertest"
)

// syntheticSweep is a sweep that breaks at 250 viewers.
func syntheticSweep() CapacityResult {
	r := CapacityResult{Transport: TransportWebRTC, BitrateBps: 1e6, StepSeconds: 5, SLO: SLO{P99Ms: 150, Loss: 0.01}}
	for v := 50; v <= 250; v += 50 {
		st := CapacityStep{Viewers: v, CPUCores: float64(v) / 120, EgressGbps: float64(v) / 1000, P50Ms: 8 + float64(v)/40,
			P99Ms: 20 + float64(v)/5, Loss: 0.0005}
		if v == 250 {
			st.P99Ms, st.Loss = 420, 0.04
		}
		st.MeetsSLO = r.SLO.Met(st.P99Ms, st.Loss)
		r.Steps = append(r.Steps, st)
	}
	r.finish()
	return r
}

// wellFormed fails unless b parses as XML from start to end.
func wellFormed(t *testing.T, name string, b []byte) {
	t.Helper()
	d := xml.NewDecoder(bytes.NewReader(b))
	for {
		_, err := d.Token()
		if errors.Is(err, io.EOF) {
			return
		}
		if err != nil {
			t.Fatalf("%s is not well-formed XML: %v", name, err)
		}
	}
}

// TestCapacityReportFiles: the report has index.html with every plot
// inline, one SVG file per plot with the knee marked, and result.json.
func TestCapacityReportFiles(t *testing.T) {
	res := syntheticSweep()
	if res.KneeViewers != 200 {
		t.Fatalf("synthetic knee %d", res.KneeViewers)
	}
	rep, err := ReportFor("capacity", res, ThisHost(), []string{"strata-bench", "capacity"})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := rep.Write(dir); err != nil {
		t.Fatal(err)
	}
	page, err := os.ReadFile(filepath.Join(dir, "index.html"))
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"cpu", "latency", "loss", "egress"} {
		svg, err := os.ReadFile(filepath.Join(dir, name+".svg"))
		if err != nil {
			t.Fatal(err)
		}
		wellFormed(t, name+".svg", svg)
		if !bytes.Contains(svg, []byte(`class="knee"`)) || !bytes.Contains(svg, []byte("knee: 200 viewers")) {
			t.Fatalf("%s.svg has no knee mark", name)
		}
		if !bytes.Contains(page, []byte(`id="plot-`+name+`"`)) {
			t.Fatalf("index.html lacks the %s plot", name)
		}
	}
	if bytes.Contains(page, []byte("<script")) || bytes.Contains(page, []byte("src=")) {
		t.Fatal("index.html is not self-contained")
	}
	if raw, err := os.ReadFile(filepath.Join(dir, "result.json")); err != nil || !bytes.Contains(raw, []byte(`"knee_viewers":200`)) {
		t.Fatalf("result.json: %s %v", raw, err)
	}
}

// TestReportForOtherSuites: a suite without plots gets a table of its
// figures.
func TestReportForOtherSuites(t *testing.T) {
	rep, err := ReportFor("fanout", WebRTCFanoutResult{Subscribers: 3, EgressGbps: 0.5}, ThisHost(), nil)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, kv := range rep.Summary {
		names = append(names, kv[0])
	}
	if !strings.Contains(strings.Join(names, " "), "egress_gbps") || len(rep.Plots) != 0 {
		t.Fatalf("summary %v", rep.Summary)
	}
}

// TestCapacityReportInBrowser opens a report in headless Chromium and
// screenshots it (kept under $STRATA_ARTIFACTS when set). Without a
// browser it skips, unless CI=true.
func TestCapacityReportInBrowser(t *testing.T) {
	path, err := playertest.FindChromium()
	if errors.Is(err, playertest.ErrNoBrowser) {
		if os.Getenv("CI") == "true" {
			t.Fatal(err)
		}
		t.Skip(err)
	}
	b, err := playertest.StartBrowser(path, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	rep, err := ReportFor("capacity", syntheticSweep(), ThisHost(), []string{"strata-bench", "capacity", "--report", "DIR"})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	if err := rep.Write(dir); err != nil {
		t.Fatal(err)
	}
	tab, err := b.NewTab(false)
	if err != nil {
		t.Fatal(err)
	}
	defer tab.Close()
	if err := tab.Open("file://" + filepath.Join(dir, "index.html")); err != nil {
		t.Fatal(err)
	}
	shot, err := tab.Screenshot()
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(shot))
	if err != nil {
		t.Fatal(err)
	}
	// Four 640x360 plots and the summary make a page well over one plot
	// high; a blank or broken page would be a single short viewport.
	if r := img.Bounds(); r.Dx() < 640 || r.Dy() < 700 {
		t.Fatalf("screenshot %v: the page did not lay out its plots", r)
	}
	out := t.TempDir()
	if d := os.Getenv("STRATA_ARTIFACTS"); d != "" {
		out = d
	}
	if err := os.WriteFile(filepath.Join(out, "capacity-report.png"), shot, 0o644); err != nil {
		t.Fatal(err)
	}
}
