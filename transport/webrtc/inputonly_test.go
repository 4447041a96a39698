package webrtc

import (
	"context"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/strata-edge/strata/internal/poll"
	"github.com/strata-edge/strata/transport/media"
	"github.com/strata-edge/strata/transport/msf"
)

// inputOnlyPeer is a controller's media-less WHEP connection: one data
// channel, no audio or video sections (the player's input path beside
// MoQ playback). tracks counts RTP tracks the edge sent anyway.
type inputOnlyPeer struct {
	pc     *webrtc.PeerConnection
	dc     *webrtc.DataChannel
	answer string
	tracks atomic.Int64
}

func (e *testEnv) inputOnly(session, token string) *inputOnlyPeer {
	e.t.Helper()
	pc, err := clientAPI(e.t).NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		e.t.Fatal(err)
	}
	p := &inputOnlyPeer{pc: pc}
	e.t.Cleanup(func() { _ = pc.Close() })
	pc.OnTrack(func(*webrtc.TrackRemote, *webrtc.RTPReceiver) { p.tracks.Add(1) })
	if p.dc, err = pc.CreateDataChannel(InputLabel, nil); err != nil {
		e.t.Fatal(err)
	}
	e.postOffer(pc, e.url("whep", session), token)
	if o := pc.LocalDescription().SDP; strings.Contains(o, "m=audio") || strings.Contains(o, "m=video") {
		e.t.Fatalf("offer has media sections:\n%s", o)
	}
	p.answer = pc.RemoteDescription().SDP
	return p
}

// TestInputOnlyConnectionPullsNoMedia: a media-less WHEP offer from a
// controller subscribes to no feed and no hub track (here or upstream),
// gets no audio or video in its answer and no RTP, and its input still
// lands on the session's input track.
func TestInputOnlyConnectionPullsNoMedia(t *testing.T) {
	auth := func(_ context.Context, token string, _ media.Namespace, want Role) (Grant, error) {
		if token == "ctl" {
			return Grant{Role: RoleController}, nil
		}
		return Grant{Role: want}, nil
	}
	var mu sync.Mutex
	var upstream []string // tracks the hub asked upstream for
	hub := media.NewHub(media.HubOptions{Upstream: func(_ context.Context, b *media.Broadcast, track string) error {
		mu.Lock()
		upstream = append(upstream, track)
		mu.Unlock()
		_, err := b.CreateTrack(media.TrackInfo{Name: track, Kind: media.KindVideo}, media.TrackOptions{})
		return err
	}})
	t.Cleanup(hub.Close)
	e := newEnv(t, func(c *Config) { c.Authorizer = auth; c.Hub = hub })
	ns := media.Namespace{Tenant: "acme", Session: "live"}
	b, err := hub.Publish(ns)
	if err != nil {
		t.Fatal(err)
	}
	video, err := b.CreateTrack(media.TrackInfo{Name: msf.SessionVideoTrack, Kind: media.KindVideo}, media.TrackOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := video.Append(media.Object{Keyframe: true, Payload: testFrame(0, true, 100)}); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name    string
		session string
	}{
		{"ingested here", "live"},
		{"not here (would be relayed)", "elsewhere"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := e.inputOnly(tc.session, "ctl")
			if strings.Contains(p.answer, "m=audio") || strings.Contains(p.answer, "m=video") {
				t.Fatalf("answer has media sections:\n%s", p.answer)
			}
			poll.For(t, 20*time.Second, 5*time.Millisecond, func() error {
				if p.dc.ReadyState() == webrtc.DataChannelStateOpen {
					return nil
				}
				return errors.New("waiting for input channel open")
			})
			e.srv.mu.Lock()
			feeds := len(e.srv.feeds)
			e.srv.mu.Unlock()
			if feeds != 0 {
				t.Fatalf("%d feeds running for a media-less connection", feeds)
			}
			if n := video.Stats().Subscribers; n != 0 {
				t.Fatalf("video track has %d subscribers", n)
			}
			mu.Lock()
			asked := append([]string(nil), upstream...)
			mu.Unlock()
			if len(asked) != 0 {
				t.Fatalf("upstream asked for %v", asked)
			}
			if tc.session != "live" {
				return
			}
			// Input still flows.
			msg := `{"type":"keydown","key":"q"}`
			poll.For(t, 20*time.Second, 20*time.Millisecond, func() error {
				in, ok := b.Track(msf.SessionInputTrack)
				if ok && in.Stats().Objects > 0 {
					return nil
				}
				_ = p.dc.SendText(msg)
				return errors.New("waiting for input object")
			})
			if n := p.tracks.Load(); n != 0 {
				t.Fatalf("%d media tracks reached the media-less peer", n)
			}
		})
	}
}
