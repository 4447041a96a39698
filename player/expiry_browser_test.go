package player_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/strata-edge/strata/api"
	"github.com/strata-edge/strata/internal/poll"
	"github.com/strata-edge/strata/internal/testcluster"
	"github.com/strata-edge/strata/player"
	"github.com/strata-edge/strata/player/playertest"
)

// stateJS reads the first player's state, reason and the text it shows.
const stateJS = `(() => { const p = document.querySelector("strata-player"); const el = p.shadowRoot.querySelector(".state");
	return JSON.stringify({state: p.state, reason: p.dataset.reason || "", text: el.hidden ? "" : el.textContent, token: p.getAttribute("token")}); })()`

// TestBrowserTokenExpiry: a player whose short-lived viewer token
// expired says so ("token expired", over MoQ and over WHEP) instead of
// "bad token", and plays again with a new token: one its tokenRefresh
// callback returns, one set as its token attribute, or one the embed
// page fetches from its refresh URL.
func TestBrowserTokenExpiry(t *testing.T) {
	b := browser(t)
	ctx, cancel := context.WithTimeout(context.Background(), 150*time.Second)
	defer cancel()
	rig, err := testcluster.StartPlayerRig(ctx, testcluster.PlayerRigOptions{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer rig.Close()
	short, err := rig.ViewerTTL(ctx, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	// It plays while the token is valid.
	moqTab := openPlaying(t, b, false, rig.EmbedURL(short.Token))

	// Wait until the edge refuses the token as expired (its expiry plus
	// the verifiers' clock-skew leeway).
	hc := rig.PinnedClient()
	poll.For(t, 60*time.Second, 2500*time.Millisecond, func() error {
		req, _ := http.NewRequest(http.MethodPost, rig.BeaconURL(), strings.NewReader(`{"transport":"moq","watch_ms":0}`))
		req.Header.Set("Authorization", "Bearer "+short.Token)
		req.Header.Set("Content-Type", "application/json")
		resp, err := hc.Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			return fmt.Errorf("token not expired yet: beacon answered %d", resp.StatusCode)
		}
		var e api.ErrorResponse
		if err := json.NewDecoder(resp.Body).Decode(&e); err != nil || e.Error.Code != api.CodeTokenExpired {
			t.Fatalf("expired token refused with %q (%v), want token_expired", e.Error.Code, err)
		}
		return nil
	})

	expiredState := func(tab *playertest.Tab) {
		t.Helper()
		m, err := tab.WaitJSON(20*time.Second, stateJS, func(m map[string]any) bool { return m["state"] == "error" })
		if err != nil || m["reason"] != "token expired" || m["text"] != "Error: token expired" {
			t.Fatalf("player not in the expired state: %v %v", err, m)
		}
	}
	playingWith := func(tab *playertest.Tab, tok string) {
		t.Helper()
		m, err := tab.WaitJSON(20*time.Second, stateJS, func(m map[string]any) bool { return m["state"] == "playing" || m["state"] == "error" })
		if err != nil || m["state"] != "playing" || m["token"] != tok {
			t.Fatalf("player not playing with the new token: %v %v", err, m)
		}
		s, _ := tab.PlayerStats()
		if _, err := tab.WaitStats(10*time.Second, func(n *playertest.Stats) bool { return n.FramesRendered >= s.FramesRendered+30 }); err != nil {
			t.Fatalf("no frames after the new token: %v", err)
		}
	}
	fresh := func() string {
		t.Helper()
		v, err := rig.Viewer(ctx, false)
		if err != nil {
			t.Fatal(err)
		}
		return v.Token
	}

	t.Run("moq", func(t *testing.T) {
		// Reconnecting (as after a lost network) with the expired token.
		if err := moqTab.Eval(`document.querySelector("strata-player").play()`); err != nil {
			t.Fatal(err)
		}
		expiredState(moqTab)
		// A tokenRefresh callback: the player gets a new token and plays.
		tok := fresh()
		if err := moqTab.Eval(`(() => { const p = document.querySelector("strata-player"); window.__refreshed = 0;
			p.tokenRefresh = async () => { window.__refreshed++; return ` + jsString(tok) + `; };
			p.setAttribute("token", ` + jsString(short.Token) + `); p.play(); })()`); err != nil {
			t.Fatal(err)
		}
		playingWith(moqTab, tok)
		if s, _ := moqTab.PlayerStats(); s.Transport == nil || *s.Transport != "moq" {
			t.Fatalf("transport after refresh: %+v", s)
		}
	})

	t.Run("whep", func(t *testing.T) {
		tab, err := b.NewTab(true)
		if err != nil {
			t.Fatal(err)
		}
		defer tab.Close()
		if err := tab.Open(rig.EmbedURL(short.Token)); err != nil {
			t.Fatal(err)
		}
		expiredState(tab)
		// A new token attribute plays again.
		tok := fresh()
		if err := tab.Eval(`document.querySelector("strata-player").setAttribute("token", ` + jsString(tok) + `)`); err != nil {
			t.Fatal(err)
		}
		playingWith(tab, tok)
	})

	t.Run("embed-refresh-url", func(t *testing.T) {
		tok := fresh()
		var asked atomic.Int32
		refresh := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Access-Control-Allow-Origin", "*")
			if r.Method != http.MethodPost {
				http.Error(w, "POST", http.StatusMethodNotAllowed)
				return
			}
			asked.Add(1)
			w.Header().Set("Content-Type", "application/json")
			_ = json.NewEncoder(w).Encode(api.ViewerAnswer{Token: tok})
		}))
		defer refresh.Close()
		tab, err := b.NewTab(false)
		if err != nil {
			t.Fatal(err)
		}
		defer tab.Close()
		if err := tab.Open(rig.EmbedURL(short.Token) + "&" + player.RefreshParam + "=" + url.QueryEscape(refresh.URL+"/token")); err != nil {
			t.Fatal(err)
		}
		playingWith(tab, tok)
		if n := asked.Load(); n != 1 {
			t.Fatalf("refresh URL asked %d times, want 1", n)
		}
	})
}

// jsString quotes s as a JavaScript string literal.
func jsString(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}
