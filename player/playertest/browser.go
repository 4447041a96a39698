// Package playertest drives headless Chromium for the player's browser
// tests and `strata-bench player`: start a browser, open pages, read the
// player's stats. The cluster the player plays from is
// testcluster.StartPlayerRig; this package knows nothing of nodes.
package playertest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"time"

	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// ErrNoBrowser means no Chromium binary was found.
var ErrNoBrowser = errors.New("playertest: no chromium found (set STRATA_CHROMIUM or install chromium)")

// FindChromium returns the browser to drive: $STRATA_CHROMIUM, else the
// first of chromium, chromium-browser, google-chrome on PATH.
func FindChromium() (string, error) {
	if p := os.Getenv("STRATA_CHROMIUM"); p != "" {
		return p, nil
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p, nil
		}
	}
	return "", ErrNoBrowser
}

// Browser is one headless Chromium process.
type Browser struct {
	ctx    context.Context
	cancel context.CancelFunc
	dir    string
}

// StartBrowser launches headless Chromium with a fresh profile in dir.
// QUIC stays on: WebTransport needs it.
func StartBrowser(path, dir string) (*Browser, error) {
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.UserDataDir(dir),
		chromedp.WindowSize(1280, 720),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-background-timer-throttling", true),
		chromedp.Flag("disable-renderer-backgrounding", true),
		chromedp.Flag("disable-backgrounding-occluded-windows", true),
		chromedp.Flag("autoplay-policy", "no-user-gesture-required"),
		chromedp.Flag("use-fake-ui-for-media-stream", true),
	}
	actx, acancel := chromedp.NewExecAllocator(context.Background(), opts...)
	ctx, cancel := chromedp.NewContext(actx)
	// Start the browser now so a missing or broken binary shows here.
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		cancel()
		acancel()
		return nil, fmt.Errorf("playertest: start %s: %w", path, err)
	}
	return &Browser{ctx: ctx, cancel: func() { cancel(); acancel() }, dir: dir}, nil
}

// Close ends the browser process.
func (b *Browser) Close() { b.cancel() }

// Tab is one page of the browser.
type Tab struct {
	Ctx    context.Context
	cancel context.CancelFunc
}

// NewTab opens a tab; noWebTransport removes WebTransport from every page
// it loads, as in a browser without it.
func (b *Browser) NewTab(noWebTransport bool) (*Tab, error) {
	ctx, cancel := chromedp.NewContext(b.ctx)
	if err := chromedp.Do(ctx, chromedp.Navigate("about:blank")); err != nil {
		cancel()
		return nil, err
	}
	if noWebTransport {
		_, err := chromedp.Call(ctx, page.AddScriptToEvaluateOnNewDocument,
			page.AddScriptToEvaluateOnNewDocumentParams{Source: "delete window.WebTransport;"})
		if err != nil {
			cancel()
			return nil, err
		}
	}
	return &Tab{Ctx: ctx, cancel: cancel}, nil
}

// Close closes the tab.
func (t *Tab) Close() { t.cancel() }

// Stats is the player element's stats property (see player/src/element.ts).
type Stats struct {
	State             string   `json:"state"`
	Transport         *string  `json:"transport"`
	FirstFrameMs      *float64 `json:"firstFrameMs"`
	FPS               float64  `json:"fps"`
	BitrateKbps       float64  `json:"bitrateKbps"`
	FramesDecoded     int      `json:"framesDecoded"`
	FramesRendered    int      `json:"framesRendered"`
	FramesDropped     int      `json:"framesDropped"`
	Skips             int      `json:"skips"`
	LatencyMs         *float64 `json:"latencyMs"`
	RTTMs             *float64 `json:"rttMs"`
	GlassToGlassP50Ms *float64 `json:"glassToGlassP50Ms"`
	GlassToGlassP99Ms *float64 `json:"glassToGlassP99Ms"`
	InputSent         int      `json:"inputSent"`
	FallbackReason    *string  `json:"fallbackReason"`
	InputChannel      *string  `json:"inputChannel"`
	Audio             bool     `json:"audio"`
	// MoQDraft is the MoQ Transport draft negotiated (14 or 18), over MoQ.
	MoQDraft     *int `json:"moqDraft"`
	BeaconsSent  int  `json:"beaconsSent"`
	BeaconStatus *int `json:"beaconStatus"`
	// Reason is the element's error reason (data-reason), if any.
	Reason string `json:"reason"`
}

// statsJS reads the first player's live state and statistics.
const statsJS = `(() => { const p = document.querySelector("strata-player"); if (!p) return "null";
  const s = Object.assign({}, p.stats); s.state = p.state; s.reason = p.dataset.reason || "";
  return JSON.stringify(s); })()`

// PlayerStats reads the player's stats now (nil before the element exists).
func (t *Tab) PlayerStats() (*Stats, error) {
	raw, err := chromedp.Run(t.Ctx, chromedp.Evaluate[string](statsJS))
	if err != nil {
		return nil, err
	}
	if raw == "null" {
		return nil, nil
	}
	var s Stats
	if err := json.Unmarshal([]byte(raw), &s); err != nil {
		return nil, err
	}
	return &s, nil
}

// WaitStats polls the player's stats every 50 ms until ok accepts them or
// d passes; it returns the last stats read either way.
func (t *Tab) WaitStats(d time.Duration, ok func(*Stats) bool) (*Stats, error) {
	deadline := time.Now().Add(d)
	var last *Stats
	for {
		s, err := t.PlayerStats()
		if err != nil {
			return last, err
		}
		if s != nil {
			last = s
			if ok(s) {
				return s, nil
			}
		}
		if time.Now().After(deadline) {
			return last, fmt.Errorf("playertest: condition not met in %s", d)
		}
		select {
		case <-t.Ctx.Done():
			return last, t.Ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Open navigates the tab to u.
func (t *Tab) Open(u string) error { return chromedp.Do(t.Ctx, chromedp.Navigate(u)) }

// Screenshot captures the whole page as PNG.
func (t *Tab) Screenshot() ([]byte, error) {
	return chromedp.Run(t.Ctx, chromedp.FullScreenshot(100))
}

// Click clicks the left mouse button at x, y (CSS pixels).
func (t *Tab) Click(x, y float64) error {
	return chromedp.Do(t.Ctx, chromedp.MouseClickXY(x, y))
}

// Key types keys into the focused element.
func (t *Tab) Key(keys string) error {
	return chromedp.Do(t.Ctx, chromedp.KeyEvent(keys))
}

// Eval runs a JavaScript expression in the page, ignoring its value.
func (t *Tab) Eval(js string) error {
	return chromedp.Do(t.Ctx, chromedp.Evaluate[chromedp.Void](js))
}

// Tap touches the page at x, y and lifts the finger.
func (t *Tab) Tap(x, y float64) error {
	_, err := chromedp.Call(t.Ctx, input.DispatchTouchEvent, input.DispatchTouchEventParams{
		Type: input.DispatchTouchEventTypeTouchStart, TouchPoints: []*input.TouchPoint{{X: x, Y: y}}})
	if err != nil {
		return err
	}
	_, err = chromedp.Call(t.Ctx, input.DispatchTouchEvent, input.DispatchTouchEventParams{
		Type: input.DispatchTouchEventTypeTouchEnd, TouchPoints: []*input.TouchPoint{}})
	return err
}

// WaitJSON polls a JavaScript expression yielding a JSON object every
// 50 ms until ok accepts it or d passes.
func (t *Tab) WaitJSON(d time.Duration, expr string, ok func(map[string]any) bool) (map[string]any, error) {
	deadline := time.Now().Add(d)
	for {
		raw, err := chromedp.Run(t.Ctx, chromedp.Evaluate[string](expr))
		if err != nil {
			return nil, err
		}
		var m map[string]any
		if err := json.Unmarshal([]byte(raw), &m); err == nil && ok(m) {
			return m, nil
		}
		if time.Now().After(deadline) {
			return m, fmt.Errorf("playertest: %s not satisfied in %s: %s", expr, d, raw)
		}
		select {
		case <-t.Ctx.Done():
			return m, t.Ctx.Err()
		case <-time.After(50 * time.Millisecond):
		}
	}
}
