package webrtc

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
	"github.com/strata-edge/strata/api"
	"github.com/strata-edge/strata/internal/poll"
	"github.com/strata-edge/strata/transport/media"
)

// A session has one publisher: a second WHIP publisher is refused with 409
// and a stable code unless its token is newer, which takes the session
// over and closes the old peer; a newer publisher on another path into the
// hub closes the WHIP peer as well.
func TestOnePublisherPerSession(t *testing.T) {
	t0 := time.Unix(1_800_000_000, 0)
	issued := map[string]time.Time{
		"older": t0.Add(-time.Second), "first": t0, "same": t0, "newer": t0.Add(time.Millisecond),
	}
	auth := func(_ context.Context, token string, _ media.Namespace, want Role) (Grant, error) {
		at, ok := issued[token]
		if !ok {
			return Grant{}, errors.New("bad token")
		}
		return Grant{Role: want, Issued: at}, nil
	}
	e := newEnv(t, func(c *Config) { c.Authorizer = auth })
	ns := media.Namespace{Tenant: "acme", Session: "one"}

	first := e.publish("one", "first")
	live, ok := e.hub.Broadcast(ns)
	if !ok {
		t.Fatal("no broadcast after the first publisher")
	}
	for _, tok := range []string{"same", "older"} {
		pc, err := clientAPI(t).NewPeerConnection(webrtc.Configuration{})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := pc.AddTransceiverFromKind(webrtc.RTPCodecTypeVideo, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendonly}); err != nil {
			t.Fatal(err)
		}
		status, h, body := e.do(http.MethodPost, e.url("whip", "one"), ContentTypeSDP, offer(t, pc), map[string]string{"Authorization": "Bearer " + tok})
		_ = pc.Close()
		var er api.ErrorResponse
		if status != http.StatusConflict || h.Get("Content-Type") != "application/json" || json.Unmarshal([]byte(body), &er) != nil || er.Error.Code != api.CodePublisherLive {
			t.Fatalf("%s token: %d %s %q; want 409 with code %s", tok, status, h.Get("Content-Type"), body, api.CodePublisherLive)
		}
	}
	if cur, _ := e.hub.Broadcast(ns); cur != live {
		t.Fatal("a refused publisher replaced the live broadcast")
	}
	if pubs, _ := e.srv.Counts(); pubs != 1 {
		t.Fatalf("%d WHIP publishers after refusals, want 1", pubs)
	}

	// A newer token takes over; the old peer and its broadcast end.
	e.publish("one", "newer")
	select {
	case <-live.Done():
	case <-time.After(10 * time.Second):
		t.Fatal("the old broadcast is still open after the takeover")
	}
	gone := func(url string) func() error {
		return func() error {
			if status, _, _ := e.do(http.MethodDelete, url, "", "", map[string]string{"Authorization": "Bearer first"}); status != http.StatusNotFound {
				return errors.New("old WHIP resource still there")
			}
			if pubs, _ := e.srv.Counts(); pubs != 1 {
				return errors.New("old WHIP peer not closed")
			}
			return nil
		}
	}
	poll.For(t, 10*time.Second, 10*time.Millisecond, gone(first.url))

	// A newer publisher on another path (MoQ, say) ends the WHIP one.
	cur, _ := e.hub.Broadcast(ns)
	if _, _, err := e.hub.PublishNewer(ns, t0.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	<-cur.Done()
	poll.For(t, 10*time.Second, 10*time.Millisecond, func() error {
		if pubs, _ := e.srv.Counts(); pubs != 0 {
			return errors.New("WHIP peer survives a newer publisher on the hub")
		}
		return nil
	})
}
