package player_test

import (
	"bufio"
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/strata-edge/strata/internal/poll"
	"github.com/strata-edge/strata/internal/testcluster"
	"github.com/strata-edge/strata/player/playertest"
)

// TestBrowserBeacon: a player that plays reports its viewer's
// experience to the edge it plays from, and the edge's /metrics shows
// it as strata_viewer_* histograms labelled with the edge's region and
// the transport, over MoQ and over WHEP.
func TestBrowserBeacon(t *testing.T) {
	b := browser(t)
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	rig, err := testcluster.StartPlayerRig(ctx, testcluster.PlayerRigOptions{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer rig.Close()
	viewer, err := rig.Viewer(ctx, false)
	if err != nil {
		t.Fatal(err)
	}

	for _, transport := range []string{"moq", "whep"} {
		t.Run(transport, func(t *testing.T) {
			tab := openPlaying(t, b, transport == "whep", rig.EmbedURL(viewer.Token))
			s, err := tab.WaitStats(20*time.Second, func(s *playertest.Stats) bool { return s.FramesRendered >= 60 })
			if err != nil || s.Transport == nil || *s.Transport != transport {
				t.Fatalf("playing: %v %+v", err, s)
			}
			// Play again with beacons every 2 s: stopping the first
			// playback sends its last beacon (with its first frame time).
			if err := tab.Eval(`(() => { const p = document.querySelector("strata-player"); p.setAttribute("beacon-interval", "2"); p.play(); })()`); err != nil {
				t.Fatal(err)
			}
			if s, err = tab.WaitStats(20*time.Second, func(s *playertest.Stats) bool {
				return s.BeaconsSent >= 2 && s.BeaconStatus != nil && *s.BeaconStatus == 204
			}); err != nil {
				t.Fatalf("no beacons accepted: %v %+v", err, s)
			}
			l := `{region="local",transport="` + transport + `"}`
			var m map[string]float64
			poll.For(t, 10*time.Second, 100*time.Millisecond, func() error {
				body, err := rig.EdgeMetrics(ctx)
				if err != nil {
					return err
				}
				m = parseMetrics(body)
				for _, series := range []string{"strata_viewer_beacons_total", "strata_viewer_first_frame_seconds_count", "strata_viewer_frames_per_second_count"} {
					if m[series+l] < 1 {
						return fmt.Errorf("%s%s = %g, want at least 1", series, l, m[series+l])
					}
				}
				if transport == "moq" && m["strata_viewer_glass_to_glass_seconds_count"+l] < 1 {
					return fmt.Errorf("no glass-to-glass observation over MoQ")
				}
				return nil
			})
			for k := range m {
				if strings.HasPrefix(k, "strata_viewer_") && strings.Contains(k, "{") && !strings.Contains(k, `region="local"`) && !strings.HasPrefix(k, "strata_viewer_beacons_refused_total") {
					t.Errorf("series without the edge's region: %s", k)
				}
			}
			mean := func(name string) string {
				if n := m[name+"_count"+l]; n > 0 {
					return fmt.Sprintf("%.3g (%g observations)", m[name+"_sum"+l]/n, n)
				}
				return "none"
			}
			t.Logf("%s beacons %g: first frame %s s, glass-to-glass %s s, fps %s, stalls %s s; player p50 glass-to-glass %v ms",
				transport, m["strata_viewer_beacons_total"+l], mean("strata_viewer_first_frame_seconds"), mean("strata_viewer_glass_to_glass_seconds"),
				mean("strata_viewer_frames_per_second"), mean("strata_viewer_stall_seconds"), deref(s.GlassToGlassP50Ms))
		})
	}
}

// parseMetrics reads Prometheus' text format as series -> value.
func parseMetrics(body string) map[string]float64 {
	out := map[string]float64{}
	sc := bufio.NewScanner(strings.NewReader(body))
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		if v, err := strconv.ParseFloat(line[i+1:], 64); err == nil {
			out[line[:i]] = v
		}
	}
	return out
}
