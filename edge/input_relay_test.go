package edge_test

import (
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/strata-edge/strata/api"
	"github.com/strata-edge/strata/internal/poll"
	"github.com/strata-edge/strata/internal/testcluster"
	"github.com/strata-edge/strata/internal/testsrc"
	"github.com/strata-edge/strata/transport/media"
	"github.com/strata-edge/strata/transport/moq"
	"github.com/strata-edge/strata/transport/moq/wire"
	"github.com/strata-edge/strata/transport/msf"
)

// TestControllerInputAcrossEdges: the test source publishes on edge A; a
// WHEP controller watches on edge B, which relays the session from A, and
// sends input on the data channel; then a MoQ controller on B publishes
// input on its session as the player does. B forwards both to A with MoQ
// PUBLISH (relay token), and the source on A counts every event.
func TestControllerInputAcrossEdges(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cl, ten, app := startBridgeCluster(ctx, t, "input", nil)
	ns, pub, _ := bridgeSession(ctx, t, cl, ten.ID, app.ID)
	lat, lon := 40.7, -74.0
	ctl, err := cl.Sessions().Viewer(ctx, ns.Session, api.ViewerRequest{Region: "us", Lat: &lat, Lon: &lon, Controller: true})
	if err != nil {
		t.Fatal(err)
	}
	if ctl.Edge != "edge-b" {
		t.Fatalf("controller routed to %s, want edge-b", ctl.Edge)
	}

	src := startTestsrc(ctx, t, pub, ns)
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}, Timeout: 10 * time.Second}
	defer hc.CloseIdleConnections()
	pc, err := bridgeAPI(t).NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	if _, err := pc.AddTransceiverFromKind(webrtc.RTPCodecTypeVideo, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly}); err != nil {
		t.Fatal(err)
	}
	dc, err := pc.CreateDataChannel("input", nil)
	if err != nil {
		t.Fatal(err)
	}
	open := make(chan struct{})
	dc.OnOpen(func() { close(open) })
	// B relays the session once A has its video; until then WHEP is refused.
	poll.For(t, 20*time.Second, 20*time.Millisecond, func() error {
		st, _, body := postOfferOnce(ctx, t, hc, pc, ctl.WHEPURL, ctl.Token)
		if st != http.StatusCreated {
			return fmt.Errorf("WHEP on edge-b: %d %s", st, strings.TrimSpace(body))
		}
		return pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: body})
	})
	select {
	case <-open:
	case <-ctx.Done():
		t.Fatal("input data channel never opened")
	}
	// Send an event at a time until the source on A has counted it: the
	// first ones may race B's PUBLISH of the input track to A.
	events := []string{
		`{"type":"keydown","key":"b","code":"KeyB"}`,
		`{"type":"pointerdown","x":0.5,"y":0.5,"pointer":"mouse"}`,
		`{"type":"keyup","key":"b","code":"KeyB"}`,
	}
	for i, ev := range events {
		want := int64(i + 1)
		poll.For(t, 20*time.Second, 20*time.Millisecond, func() error {
			if got := src.Input().Events; got >= want {
				return nil
			}
			if err := dc.SendText(ev); err != nil {
				return err
			}
			// Give the event a while to land before sending it again.
			return poll.Until(300*time.Millisecond, 5*time.Millisecond, func() error {
				if in := src.Input(); in.Events < want {
					return fmt.Errorf("source on edge-a has %+v", in)
				}
				return nil
			})
		})
	}
	if st := src.Input(); st.Keys < 2 || st.Pointer < 1 || st.Last.Type == "" {
		t.Fatalf("input stats %+v", st)
	}
	// A burst of numbered events, now that B's PUBLISH is up, reaches the
	// source in send order: B forwards them on one stream, A keeps them as
	// consecutive objects of one group of its input track and delivers
	// that group on one stream.
	const burst = 6
	for i := range burst {
		if err := dc.SendText(fmt.Sprintf(`{"type":"keydown","key":"q%d","code":"KeyQ"}`, i)); err != nil {
			t.Fatal(err)
		}
	}
	poll.For(t, 20*time.Second, 20*time.Millisecond, func() error {
		if got := burstOrder(src.RecentInput()); len(got) < burst {
			return fmt.Errorf("source on edge-a has burst events %v", got)
		}
		return nil
	})
	if got := burstOrder(src.RecentInput()); !slices.Equal(got, []string{"q0", "q1", "q2", "q3", "q4", "q5"}) {
		t.Fatalf("burst reached edge-a in the order %v", got)
	}

	// A MoQ controller on B (the player's path) publishes the input track
	// on its own session; B forwards it to A the same way.
	s := dialBridgeMoQ(ctx, t, ctl.MoQURL)
	if _, err := subscribeBridge(ctx, s, ns, ctl.Token); err != nil {
		t.Fatalf("moq viewer on edge-b: %v", err)
	}
	tp, err := moq.TokenParam([]byte(ctl.Token))
	if err != nil {
		t.Fatal(err)
	}
	mp, _, err := s.Publish(ctx, wire.Publish{Namespace: ns.Tuple(), TrackName: msf.SessionInputTrack,
		GroupOrder: wire.GroupOrderAscending, Forward: true, Params: wire.Parameters{tp}})
	if err != nil {
		t.Fatalf("publish input on edge-b: %v", err)
	}
	st, err := mp.OpenSubgroup(ctx, wire.SubgroupHeader{GroupID: uint64(time.Now().UnixMilli()), IDMode: wire.SubgroupIDZero})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Cancel(wire.StreamErrCancelled)
	base := src.Input().Events
	var id uint64
	// An event per poll until one lands.
	poll.For(t, 20*time.Second, 70*time.Millisecond, func() error {
		if src.Input().Events > base {
			return nil
		}
		if err := st.WriteObject(&wire.Object{ID: id, Payload: []byte(`{"type":"keydown","key":"m","code":"KeyM"}`)}); err != nil {
			return err
		}
		id++
		return fmt.Errorf("source on edge-a has %+v", src.Input())
	})
	if last := src.Input().Last; last.Key != "m" {
		t.Fatalf("last event %+v, want the MoQ controller's", last)
	}
}

// burstOrder returns the keys of the burst events (q0, q1...) in the
// order the source received them: input order must hold end to end (a
// keyup overtaking its keydown is a stuck key).
func burstOrder(rec []testsrc.InputRecord) []string {
	var keys []string
	for _, r := range rec {
		if strings.HasPrefix(r.Event.Key, "q") {
			keys = append(keys, r.Event.Key)
		}
	}
	return keys
}

// startTestsrc runs the test source as the session's publisher on edge A
// until the test ends.
func startTestsrc(ctx context.Context, t *testing.T, pub *api.PublisherAnswer, ns media.Namespace) *testsrc.Publisher {
	t.Helper()
	clip, err := testsrc.LoadClip()
	if err != nil {
		t.Fatal(err)
	}
	src, err := testsrc.NewSource(clip, testsrc.SourceOptions{})
	if err != nil {
		t.Fatal(err)
	}
	addr, err := testcluster.MoQAddr(pub.MoQURL)
	if err != nil {
		t.Fatal(err)
	}
	runCtx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	t.Cleanup(func() {
		stop()
		wg.Wait()
	})
	wg.Go(func() { _ = src.Run(runCtx) })
	p, err := testsrc.Dial(ctx, src, testsrc.PublishConfig{Addr: addr, TLS: &tls.Config{InsecureSkipVerify: true},
		Token: []byte(pub.Token), Namespace: ns})
	if err != nil {
		t.Fatal(err)
	}
	wg.Go(func() { _ = p.Serve(runCtx) })
	return p
}

// postOfferOnce is postOffer for a peer connection that may be offered
// again after a refusal: the local description is set only once.
func postOfferOnce(ctx context.Context, t *testing.T, hc *http.Client, pc *webrtc.PeerConnection, url, tok string) (int, http.Header, string) {
	t.Helper()
	if pc.LocalDescription() == nil {
		return postOffer(ctx, t, hc, pc, url, tok)
	}
	resp, err := hc.Do(sdpRequest(ctx, t, url, tok, pc.LocalDescription().SDP))
	if err != nil {
		return 0, nil, err.Error()
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(body)
}
