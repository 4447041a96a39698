package testsrc_test

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/tls"
	"fmt"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/strata-edge/strata/edge/relay"
	"github.com/strata-edge/strata/internal/certs"
	"github.com/strata-edge/strata/internal/poll"
	"github.com/strata-edge/strata/internal/testsrc"
	"github.com/strata-edge/strata/internal/token"
	"github.com/strata-edge/strata/transport/media"
	"github.com/strata-edge/strata/transport/moq"
	"github.com/strata-edge/strata/transport/moq/wire"
	"github.com/strata-edge/strata/transport/msf"
)

// loopEdge is an edge relay on loopback that ingests the session tracks
// as soon as a publisher announces, like a media edge does.
type loopEdge struct {
	addr   string
	relay  *relay.Relay
	cliTLS *tls.Config
	sign   func(role token.Role) []byte
}

func startEdge(t *testing.T, ns media.Namespace) *loopEdge {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	keys, err := token.NewKeySet(map[string]ed25519.PublicKey{"k1": pub})
	if err != nil {
		t.Fatal(err)
	}
	cert, err := certs.SelfSigned(nil, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	r, err := relay.New(relay.Config{NodeID: "e1",
		IngestTracks: []string{msf.CatalogTrackName, msf.SessionVideoTrack, msf.SessionAudioTrack}}, relay.Deps{Keys: keys})
	if err != nil {
		t.Fatal(err)
	}
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Listen(pc, &tls.Config{Certificates: []tls.Certificate{cert.TLS}}, nil); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = r.Close(context.Background())
		_ = pc.Close()
	})
	sign := func(role token.Role) []byte {
		now := time.Now()
		tok, err := token.Sign(priv, "k1", token.Claims{Issuer: "test", Tenant: ns.Tenant, Session: ns.Session,
			Role: role, IssuedAt: now, ExpiresAt: now.Add(time.Minute)})
		if err != nil {
			t.Fatal(err)
		}
		return []byte(tok)
	}
	return &loopEdge{addr: pc.LocalAddr().String(), relay: r, cliTLS: &tls.Config{RootCAs: cert.Pool(), ServerName: "127.0.0.1"}, sign: sign}
}

// subscribe opens a viewer subscription to one track of ns.
func (e *loopEdge) subscribe(ctx context.Context, t *testing.T, s *moq.Session, ns media.Namespace, track string) *moq.Subscription {
	t.Helper()
	tp, err := moq.TokenParam(e.sign(token.RoleViewer))
	if err != nil {
		t.Fatal(err)
	}
	sub, err := s.Subscribe(ctx, wire.Subscribe{Namespace: ns.Tuple(), TrackName: track, Forward: true,
		GroupOrder: wire.GroupOrderAscending, Filter: wire.Filter{Type: wire.FilterLargestObject}, Params: wire.Parameters{tp}})
	if err != nil {
		t.Fatalf("subscribe %s: %v", track, err)
	}
	return sub
}

// props decodes an object's LOC properties.
func props(t *testing.T, o wire.Object) *msf.Properties {
	t.Helper()
	raw, err := wire.AppendExtensions(nil, o.Extensions)
	if err != nil {
		t.Fatal(err)
	}
	p, err := msf.ParseProperties(raw, msf.KVAbsolute)
	if err != nil {
		t.Fatal(err)
	}
	if !p.HasTimestamp || p.HasTimescale {
		t.Fatalf("group %d object %d: no wall-clock timestamp: %+v", o.GroupID, o.ID, p)
	}
	return p
}

// TestTestsrcPublishesThroughEdge: the source publishes through a
// loopback edge; a viewer gets the catalog, then video whose groups start
// with keyframes and whose capture timestamps increase, and audio.
func TestTestsrcPublishesThroughEdge(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ns := media.Namespace{Tenant: "t1", Session: "s1"}
	e := startEdge(t, ns)

	src, clip := newSource(t, testsrc.SourceOptions{})
	runCtx, stop := context.WithCancel(ctx)
	var wg sync.WaitGroup
	defer func() {
		stop()
		wg.Wait()
	}()
	var runErr, serveErr error
	wg.Go(func() { runErr = src.Run(runCtx) })
	pub, err := testsrc.Dial(ctx, src, testsrc.PublishConfig{Addr: e.addr, TLS: e.cliTLS,
		Token: e.sign(token.RolePublisher), Namespace: ns})
	if err != nil {
		t.Fatal(err)
	}
	wg.Go(func() { serveErr = pub.Serve(runCtx) })

	viewer, err := moq.DialQUIC(ctx, e.addr, e.cliTLS, nil, moq.Config{})
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = viewer.Close() }()

	// Catalog: one object, an MSF catalog naming the clip's tracks.
	cs := e.subscribe(ctx, t, viewer, ns, msf.CatalogTrackName)
	co, err := cs.ReadObject(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cat, err := msf.Parse(co.Payload)
	if err != nil {
		t.Fatalf("catalog: %v", err)
	}
	if len(cat.Tracks) != 2 || cat.Tracks[0].Codec != clip.Codec || cat.Tracks[0].Width != testsrc.ClipWidth || cat.Tracks[1].Codec != "opus" {
		t.Fatalf("catalog tracks %+v", cat.Tracks)
	}

	vs := e.subscribe(ctx, t, viewer, ns, msf.SessionVideoTrack)
	as := e.subscribe(ctx, t, viewer, ns, msf.SessionAudioTrack)

	// Video until two groups have been seen from their first object: that
	// spans a keyframe boundary (one per second in the clip).
	var (
		lastTS       uint64
		lastGroup    uint64
		startsSeen   int
		videoObjects int
	)
	for startsSeen < 2 {
		o, err := vs.ReadObject(ctx)
		if err != nil {
			t.Fatalf("video after %d objects: %v", videoObjects, err)
		}
		if o.Status != wire.StatusNormal {
			continue
		}
		videoObjects++
		p := props(t, o)
		if p.Timestamp <= lastTS {
			t.Fatalf("group %d object %d: capture time %d after %d", o.GroupID, o.ID, p.Timestamp, lastTS)
		}
		lastTS = p.Timestamp
		if o.GroupID < lastGroup {
			t.Fatalf("group %d after %d", o.GroupID, lastGroup)
		}
		lastGroup = o.GroupID
		key := msf.H264IsKeyframe(o.Payload)
		if (o.ID == 0) != key {
			t.Fatalf("group %d object %d: keyframe %v", o.GroupID, o.ID, key)
		}
		if p.FrameMarking == nil || p.FrameMarking.Independent != key {
			t.Fatalf("group %d object %d: frame marking %+v", o.GroupID, o.ID, p.FrameMarking)
		}
		if o.ID == 0 {
			startsSeen++
		}
	}

	// Audio: a few packets with increasing capture times.
	lastTS = 0
	for range 10 {
		o, err := as.ReadObject(ctx)
		if err != nil {
			t.Fatalf("audio: %v", err)
		}
		if o.Status != wire.StatusNormal {
			continue
		}
		if p := props(t, o); p.Timestamp <= lastTS {
			t.Fatalf("audio capture time %d after %d", p.Timestamp, lastTS)
		} else {
			lastTS = p.Timestamp
		}
	}
	// The source counts a frame after appending it, so a viewer can hold
	// a frame the counter does not show yet: wait for the counters.
	poll.For(t, 5*time.Second, 10*time.Millisecond, func() error {
		if frames, subs := src.VideoFrames(), pub.Subscriptions(); frames < int64(videoObjects) || subs < 3 {
			return fmt.Errorf("source appended %d video frames, publisher accepted %d subscriptions", frames, subs)
		}
		return nil
	})

	stop()
	wg.Wait()
	if runErr != nil || serveErr != nil {
		t.Fatalf("source: %v, publisher: %v", runErr, serveErr)
	}
}

// newSource loads the committed clip into a source with opts.
func newSource(t *testing.T, opts testsrc.SourceOptions) (*testsrc.Source, *testsrc.Clip) {
	t.Helper()
	clip, err := testsrc.LoadClip()
	if err != nil {
		t.Fatal(err)
	}
	src, err := testsrc.NewSource(clip, opts)
	if err != nil {
		t.Fatal(err)
	}
	return src, clip
}
