package player_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/strata-edge/strata/internal/poll"
	"github.com/strata-edge/strata/internal/testcluster"
	"github.com/strata-edge/strata/player/playertest"
)

// browser starts headless Chromium, or skips the test when none is
// installed; with CI=true a missing browser fails instead.
func browser(t *testing.T) *playertest.Browser {
	t.Helper()
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
	t.Cleanup(b.Close)
	return b
}

// artifactDir is where screenshots go: $STRATA_ARTIFACTS, else the
// test's artifact directory (go test -artifacts keeps it).
func artifactDir(t *testing.T) string {
	if d := os.Getenv("STRATA_ARTIFACTS"); d != "" {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		return d
	}
	return t.ArtifactDir()
}

// TestBrowserPlayer drives the player in one headless Chromium against
// an in-process cluster with the test source publishing: MoQ over
// WebTransport, the WHEP fallback, input back to the source, and a bad
// token.
func TestBrowserPlayer(t *testing.T) {
	b := browser(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
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

	t.Run("moq", func(t *testing.T) {
		tab, err := b.NewTab(false)
		if err != nil {
			t.Fatal(err)
		}
		defer tab.Close()
		if err := tab.Open(rig.EmbedURL(viewer.Token)); err != nil {
			t.Fatal(err)
		}
		first, err := tab.WaitStats(15*time.Second, func(s *playertest.Stats) bool { return s.FirstFrameMs != nil || s.State == "error" })
		if err != nil || first.State == "error" {
			t.Fatalf("no first frame: %v %+v", err, first)
		}
		start := time.Now()
		s, err := tab.WaitStats(10*time.Second, func(s *playertest.Stats) bool { return s.FramesDecoded >= 60 && s.GlassToGlassP50Ms != nil })
		if err != nil {
			t.Fatalf("decoding: %v %+v", err, s)
		}
		if took := time.Since(start); took > 5*time.Second {
			t.Errorf("60 frames took %s after the first, want under 5 s", took)
		}
		if s.Transport == nil || *s.Transport != "moq" || s.State != "playing" {
			t.Fatalf("transport %v state %s", s.Transport, s.State)
		}
		// The browser offers moqt-18 (WT-Available-Protocols) and the
		// edge, which speaks it, chooses it.
		if s.MoQDraft == nil || *s.MoQDraft != 18 {
			t.Fatalf("negotiated MoQ draft %v, want 18", derefI(s.MoQDraft))
		}
		t.Logf("moq: first frame %.0f ms, glass-to-glass p50 %.0f ms p99 %.0f ms, %d frames decoded, %d rendered, %d dropped",
			*s.FirstFrameMs, *s.GlassToGlassP50Ms, deref(s.GlassToGlassP99Ms), s.FramesDecoded, s.FramesRendered, s.FramesDropped)
		png, err := tab.Screenshot()
		if err != nil {
			t.Fatal(err)
		}
		out := filepath.Join(artifactDir(t), "player-moq.png")
		if err := os.WriteFile(out, png, 0o644); err != nil {
			t.Fatal(err)
		}
		t.Logf("screenshot: %s", out)
		// The JS API: stop, then play again with listeners on the events.
		if err := tab.Eval(`(() => { const p = document.querySelector("strata-player"); p.stop();
			window.__ev = {stopped: p.state}; for (const e of ["playing", "stats", "error"]) p.addEventListener(e, () => window.__ev[e] = (window.__ev[e] || 0) + 1);
			p.play(); })()`); err != nil {
			t.Fatal(err)
		}
		ev, err := tab.WaitJSON(10*time.Second, `JSON.stringify(window.__ev)`, func(m map[string]any) bool { return m["playing"] != nil && m["stats"] != nil })
		if err != nil || ev["stopped"] != "idle" || ev["error"] != nil {
			t.Fatalf("events after stop/play: %v %v", err, ev)
		}
	})

	// A player told to offer only draft 14 (as an older player would)
	// gets it through SETUP, with no WebTransport protocol.
	t.Run("moq-draft-14", func(t *testing.T) {
		tab := openPlaying(t, b, false, rig.EmbedURL(viewer.Token))
		if err := tab.Eval(`(() => { const p = document.querySelector("strata-player"); p.stop();
			p.setAttribute("moq-drafts", "14"); p.play(); })()`); err != nil {
			t.Fatal(err)
		}
		s, err := tab.WaitStats(15*time.Second, func(s *playertest.Stats) bool {
			return s.State == "error" || (s.MoQDraft != nil && *s.MoQDraft == 14 && s.FramesDecoded >= 30)
		})
		if err != nil || s.State == "error" {
			t.Fatalf("draft 14 playback: %v %+v", err, s)
		}
	})

	t.Run("stall-skips-ahead", func(t *testing.T) {
		tab := openPlaying(t, b, false, rig.EmbedURL(viewer.Token))
		// Freeze the page for 1.5 s: media piles up behind it, and the
		// player must drop it and resume at the newest group.
		if err := tab.Eval(`(() => { const t = Date.now(); while (Date.now() - t < 1500) {} })()`); err != nil {
			t.Fatal(err)
		}
		s, err := tab.WaitStats(20*time.Second, func(s *playertest.Stats) bool {
			return s.Skips >= 1 && s.State == "playing"
		})
		if err != nil {
			t.Fatalf("no skip after a stall: %v %+v", err, s)
		}
		rendered := s.FramesRendered
		if s, err = tab.WaitStats(10*time.Second, func(s *playertest.Stats) bool { return s.FramesRendered >= rendered+30 }); err != nil {
			t.Fatalf("not playing after the skip: %v %+v", err, s)
		}
		t.Logf("stall: %d skips, %d frames dropped, playing on", s.Skips, s.FramesDropped)
	})

	t.Run("whep-fallback", func(t *testing.T) {
		tab, err := b.NewTab(true) // a browser without WebTransport
		if err != nil {
			t.Fatal(err)
		}
		defer tab.Close()
		if err := tab.Open(rig.EmbedURL(viewer.Token)); err != nil {
			t.Fatal(err)
		}
		s, err := tab.WaitStats(20*time.Second, func(s *playertest.Stats) bool {
			return s.State == "error" || (s.FirstFrameMs != nil && s.FramesDecoded >= 30)
		})
		if err != nil || s.State == "error" {
			t.Fatalf("WHEP playback: %v %+v", err, s)
		}
		if s.Transport == nil || *s.Transport != "whep" {
			t.Fatalf("transport %v", s.Transport)
		}
		t.Logf("whep: first frame %.0f ms, %d frames decoded", *s.FirstFrameMs, s.FramesDecoded)
		png, err := tab.Screenshot()
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(artifactDir(t), "player-whep.png"), png, 0o644); err != nil {
			t.Fatal(err)
		}
	})

	t.Run("input", func(t *testing.T) {
		for _, transport := range []string{"moq", "whep"} {
			t.Run(transport, func(t *testing.T) {
				ctl, err := rig.Viewer(ctx, true)
				if err != nil {
					t.Fatal(err)
				}
				before := rig.Publisher.Input()
				tab := openPlaying(t, b, transport == "whep", rig.EmbedURL(ctl.Token))
				// Press, click and tap until the source has seen each; the input
				// channel may still be opening for the first ones.
				if err := poll.Until(15*time.Second, 100*time.Millisecond, func() error {
					if err := tab.Click(400, 300); err != nil {
						t.Fatal(err)
					}
					if err := tab.Key("w"); err != nil {
						t.Fatal(err)
					}
					if err := tab.Tap(500, 350); err != nil {
						t.Fatal(err)
					}
					if in := rig.Publisher.Input(); in.Keys-before.Keys < 2 || in.Pointer-before.Pointer < 2 || in.Touch-before.Touch < 2 {
						return fmt.Errorf("input did not reach the source: %+v", in)
					}
					return nil
				}); err != nil {
					s, _ := tab.PlayerStats()
					t.Fatalf("%v (player %+v, input channel %s)", err, s, derefS(s.InputChannel))
				}
				in := rig.Publisher.Input()
				t.Logf("%s input: %d events at the source (%d keys, %d pointer, %d touch), last %+v after %s",
					transport, in.Events-before.Events, in.Keys-before.Keys, in.Pointer-before.Pointer, in.Touch-before.Touch, in.Last, in.LastDelay)
				// Over MoQ the player publishes input on its own session,
				// not on a side WebRTC connection.
				// Stats are a periodic snapshot: wait for one taken after the input.
				if transport == "moq" {
					if s, err := tab.WaitStats(10*time.Second, func(s *playertest.Stats) bool { return derefS(s.InputChannel) == "moq" }); err != nil {
						t.Fatalf("moq input path: %v %+v", err, s)
					}
				}
			})
		}
	})

	t.Run("viewer-sends-no-input", func(t *testing.T) {
		tab := openPlaying(t, b, false, rig.EmbedURL(viewer.Token))
		for range 3 {
			if err := tab.Click(400, 300); err != nil {
				t.Fatal(err)
			}
			if err := tab.Key("w"); err != nil {
				t.Fatal(err)
			}
		}
		if s, _ := tab.PlayerStats(); s == nil || s.InputSent != 0 {
			t.Fatalf("a viewer without the controller role sent input: %+v", s)
		}
	})

	t.Run("unreachable", func(t *testing.T) {
		tab, err := b.NewTab(false)
		if err != nil {
			t.Fatal(err)
		}
		defer tab.Close()
		if err := tab.Open(rig.EmbedURL(viewer.Token)); err != nil {
			t.Fatal(err)
		}
		// Point the element at ports nothing listens on and play again.
		dead := freeUDPAddr(t)
		if err := tab.Eval(`(() => { const p = document.querySelector("strata-player");
			p.setAttribute("src", "https://` + dead + `/moq"); p.setAttribute("whep", "http://` + dead + `/whep/x/y"); p.play(); })()`); err != nil {
			t.Fatal(err)
		}
		s, err := tab.WaitStats(20*time.Second, func(s *playertest.Stats) bool { return s.State == "error" })
		if err != nil || !contains(s.Reason, "edge unreachable") {
			t.Fatalf("no unreachable error: %v %+v", err, s)
		}
		t.Logf("unreachable: %q", s.Reason)
	})

	t.Run("bad-token", func(t *testing.T) {
		tab, err := b.NewTab(false)
		if err != nil {
			t.Fatal(err)
		}
		defer tab.Close()
		// A well-formed token with a broken signature: the edge refuses it.
		bad := viewer.Token[:len(viewer.Token)-4] + "AAAA"
		if bad == viewer.Token {
			bad = viewer.Token[:len(viewer.Token)-4] + "BBBB"
		}
		if err := tab.Open(rig.EmbedURL(bad)); err != nil {
			t.Fatal(err)
		}
		s, err := tab.WaitStats(15*time.Second, func(s *playertest.Stats) bool { return s.State == "error" })
		if err != nil {
			t.Fatalf("no error state: %v %+v", err, s)
		}
		if s.FramesDecoded != 0 || !contains(s.Reason, "bad token") {
			t.Fatalf("error state %+v", s)
		}
		t.Logf("bad token: %q (fallback: %v)", s.Reason, derefS(s.FallbackReason))
	})

	// Last: it ends the session's broadcast, then publishes again. A
	// player whose source left says so instead of showing black, and
	// plays again when the source returns.
	t.Run("source-gone", func(t *testing.T) {
		tab := openPlaying(t, b, false, rig.EmbedURL(viewer.Token))
		rig.StopSource()
		const stateJS = `(() => { const p = document.querySelector("strata-player"); const el = p.shadowRoot.querySelector(".state");
			return JSON.stringify({state: p.state, text: el.textContent, hidden: el.hidden}); })()`
		m, err := tab.WaitJSON(20*time.Second, stateJS, func(m map[string]any) bool { return m["state"] == "waiting" })
		if err != nil || m["text"] != "Waiting for the source…" || m["hidden"] != false {
			t.Fatalf("player not waiting for the source: %v %v", err, m)
		}
		if err := rig.RestartSource(ctx); err != nil {
			t.Fatal(err)
		}
		if s, err := tab.WaitStats(30*time.Second, func(s *playertest.Stats) bool { return s.State == "playing" }); err != nil {
			t.Fatalf("not playing after the source returned: %v %+v", err, s)
		}
	})
}

// freeUDPAddr is a loopback address nothing listens on (TCP or UDP).
func freeUDPAddr(t *testing.T) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := pc.LocalAddr().String()
	_ = pc.Close()
	return addr
}

func contains(s, sub string) bool {
	return len(sub) == 0 || (len(s) >= len(sub) && (s[:len(sub)] == sub || contains(s[1:], sub)))
}

func deref(p *float64) float64 {
	if p == nil {
		return -1
	}
	return *p
}

func derefI(p *int) int {
	if p == nil {
		return -1
	}
	return *p
}

func derefS(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// openPlaying opens url in a new tab (without WebTransport when noWT) and
// waits until the player plays; the tab closes with the test.
func openPlaying(t *testing.T, b *playertest.Browser, noWT bool, url string) *playertest.Tab {
	t.Helper()
	tab, err := b.NewTab(noWT)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(tab.Close)
	if err := tab.Open(url); err != nil {
		t.Fatal(err)
	}
	if s, err := tab.WaitStats(20*time.Second, func(s *playertest.Stats) bool { return s.State == "playing" || s.State == "error" }); err != nil || s.State != "playing" {
		t.Fatalf("not playing: %v %+v", err, s)
	}
	return tab
}
