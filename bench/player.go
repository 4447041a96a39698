package bench

import (
	"context"
	"fmt"
	"os"
	"slices"
	"time"

	"github.com/strata-edge/strata/internal/testcluster"
	"github.com/strata-edge/strata/player/playertest"
)

// PlayerOptions configure the player benchmark.
type PlayerOptions struct {
	// Runs is how many page loads time the first frame (default 5).
	Runs int
	// Window is how long the last MoQ run plays before glass-to-glass is
	// read (default 10 s).
	Window time.Duration
	// Chromium is the browser binary; empty finds one.
	Chromium string
	Progress *Progress
}

// PlayerResult is `strata bench player`'s report. Times are from the
// browser's clock: first frame from play() to the first picture drawn,
// glass-to-glass from the source's LOC capture timestamp to the frame
// being drawn on the canvas (one host, one clock).
type PlayerResult struct {
	Browser               string    `json:"browser"`
	Runs                  int       `json:"runs"`
	FirstFrameMs          float64   `json:"first_frame_ms"` // median over runs
	FirstFrameMaxMs       float64   `json:"first_frame_max_ms"`
	FirstFrameRunsMs      []float64 `json:"first_frame_runs_ms"`
	GlassToGlassP50Ms     float64   `json:"glass_to_glass_p50_ms"`
	GlassToGlassP99Ms     float64   `json:"glass_to_glass_p99_ms"`
	PlayoutDelayMs        float64   `json:"playout_delay_ms"`
	FPS                   float64   `json:"fps"`
	FramesDecoded         int       `json:"frames_decoded"`
	FramesDropped         int       `json:"frames_dropped"`
	Skips                 int       `json:"skips"`
	FallbackFirstFrameMs  float64   `json:"fallback_first_frame_ms"`
	FallbackFramesDecoded int       `json:"fallback_frames_decoded"`
}

// Player runs an in-process cluster with the test source and plays the
// session's embed page in headless Chromium: Runs page loads over MoQ
// (WebTransport), a Window of steady playback, then one load with
// WebTransport removed (the WHEP fallback).
func Player(ctx context.Context, o PlayerOptions) (PlayerResult, error) {
	if o.Runs <= 0 {
		o.Runs = 5
	}
	if o.Window <= 0 {
		o.Window = 10 * time.Second
	}
	var res PlayerResult
	path := o.Chromium
	if path == "" {
		p, err := playertest.FindChromium()
		if err != nil {
			return res, err
		}
		path = p
	}
	res.Browser, res.Runs = path, o.Runs
	dir, err := os.MkdirTemp("", "strata-bench-player-")
	if err != nil {
		return res, err
	}
	defer os.RemoveAll(dir)

	o.Progress.Step("starting cluster, edge and test source")
	rig, err := testcluster.StartPlayerRig(ctx, testcluster.PlayerRigOptions{Dir: dir + "/cluster"})
	if err != nil {
		return res, err
	}
	defer rig.Close()
	v, err := rig.Viewer(ctx, false)
	if err != nil {
		return res, err
	}
	o.Progress.Step("starting %s", path)
	b, err := playertest.StartBrowser(path, dir+"/profile")
	if err != nil {
		return res, err
	}
	defer b.Close()

	for i := range o.Runs {
		last := i == o.Runs-1
		st, err := playOnce(b, rig.EmbedURL(v.Token), false, func(s *playertest.Stats) bool {
			return s.FirstFrameMs != nil
		})
		if err != nil {
			return res, fmt.Errorf("moq run %d: %w", i+1, err)
		}
		res.FirstFrameRunsMs = append(res.FirstFrameRunsMs, *st.FirstFrameMs)
		o.Progress.Step("moq run %d: first frame %.0f ms", i+1, *st.FirstFrameMs)
		if !last {
			continue
		}
		o.Progress.Step("playing %s for glass-to-glass", o.Window)
		start := time.Now()
		st, err = playOnce(b, rig.EmbedURL(v.Token), false, func(s *playertest.Stats) bool {
			return time.Since(start) >= o.Window && s.GlassToGlassP50Ms != nil
		})
		if err != nil {
			return res, fmt.Errorf("moq window: %w", err)
		}
		res.GlassToGlassP50Ms, res.GlassToGlassP99Ms = *st.GlassToGlassP50Ms, deref(st.GlassToGlassP99Ms)
		res.PlayoutDelayMs, res.FPS = deref(st.LatencyMs), st.FPS
		res.FramesDecoded, res.FramesDropped, res.Skips = st.FramesDecoded, st.FramesDropped, st.Skips
	}
	s := slices.Clone(res.FirstFrameRunsMs)
	slices.Sort(s)
	res.FirstFrameMs, res.FirstFrameMaxMs = s[len(s)/2], s[len(s)-1]

	o.Progress.Step("WHEP fallback (WebTransport removed)")
	st, err := playOnce(b, rig.EmbedURL(v.Token), true, func(s *playertest.Stats) bool {
		return s.FirstFrameMs != nil && s.FramesDecoded > 0
	})
	if err != nil {
		return res, fmt.Errorf("whep run: %w", err)
	}
	res.FallbackFirstFrameMs, res.FallbackFramesDecoded = *st.FirstFrameMs, st.FramesDecoded
	return res, nil
}

// playOnce opens the page in a fresh tab and polls the player until done
// accepts its stats; an error state ends it early.
func playOnce(b *playertest.Browser, u string, noWT bool, done func(*playertest.Stats) bool) (*playertest.Stats, error) {
	tab, err := b.NewTab(noWT)
	if err != nil {
		return nil, err
	}
	defer tab.Close()
	if err := tab.Open(u); err != nil {
		return nil, err
	}
	st, err := tab.WaitStats(2*time.Minute, func(s *playertest.Stats) bool { return s.State == "error" || done(s) })
	if err != nil {
		return nil, fmt.Errorf("%w (stats %+v)", err, st)
	}
	if st.State == "error" {
		return nil, fmt.Errorf("player error: %s", st.Reason)
	}
	return st, nil
}

func deref(p *float64) float64 {
	if p == nil {
		return 0
	}
	return *p
}
