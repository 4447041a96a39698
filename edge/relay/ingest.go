package relay

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/strata-edge/strata/internal/token"
	"github.com/strata-edge/strata/transport/media"
	"github.com/strata-edge/strata/transport/moq"
	"github.com/strata-edge/strata/transport/moq/wire"
)

// publisher is a session that announced a broadcast ingested here.
type publisher struct {
	s *moq.Session
	b *media.Broadcast
}

// servePublisher handles one PUBLISH_NAMESPACE: authorize, publish the
// broadcast, pull the eager tracks, and tear down when the publisher
// withdraws, disconnects or is replaced.
//
// A session has one publisher. While one is live here (over MoQ or WHIP),
// another is refused unless its token was issued later, which takes the
// session over: the old publisher's namespace is cancelled. Draft-14 has
// no "already published" code for PUBLISH_NAMESPACE_ERROR or _CANCEL; the
// refusal and the cancel use UNAUTHORIZED (0x1), since the newcomer is not
// (or the old publisher no longer) authorized to announce the namespace.
func (r *Relay) servePublisher(ctx context.Context, s *moq.Session, in *moq.IncomingNamespace) {
	ns, err := media.NamespaceFromTuple(in.Request.Namespace)
	if err != nil {
		_ = in.Reject(wire.NamespaceErrUninterested, "namespace must be strata/{tenant}/{session}")
		return
	}
	claims, err := r.authorize(s, in.Request.Params, ns, token.RolePublisher)
	if err != nil {
		r.log.Info("publish refused", "namespace", ns.String(), "err", err)
		_ = in.Reject(requestCode(err), "not authorized to publish "+ns.String())
		return
	}
	b, prev, err := r.hub.PublishNewer(ns, claims.IssuedAt)
	if errors.Is(err, media.ErrPublisherLive) {
		r.log.Info("second publisher refused", "namespace", ns.String(), "live_iat", prev.Issued(), "refused_iat", claims.IssuedAt)
		_ = in.Reject(wire.NamespaceErrUnauthorized, reasonPublisherLive)
		return
	}
	if err != nil {
		_ = in.Reject(wire.NamespaceErrInternal, err.Error())
		return
	}
	if prev != nil {
		r.log.Warn("publisher takeover: a newer publisher token replaced the live publisher", "namespace", ns.String(), "old_iat", prev.Issued(), "new_iat", claims.IssuedAt)
	}
	p := &publisher{s: s, b: b}
	r.mu.Lock()
	r.publishers[ns] = p
	r.mu.Unlock()
	defer func() {
		r.mu.Lock()
		if r.publishers[ns] == p {
			delete(r.publishers, ns)
		}
		r.mu.Unlock()
		b.Close()
	}()
	if err := in.Accept(); err != nil {
		return
	}
	// The eager subscriptions end with the broadcast: a takeover must
	// not wait for a slow old publisher to answer them.
	ectx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() { // owned here: ends with ectx
		select {
		case <-b.Done():
			cancel()
		case <-in.Done():
			cancel()
		case <-ectx.Done():
		}
	}()
	for _, name := range r.opts.IngestTracks {
		// Going through the hub shares the one-fetch-per-track guard with
		// viewers that ask at the same moment.
		sub, err := r.hub.Subscribe(ectx, ns, name)
		if err != nil {
			r.log.Debug("eager ingest failed", "namespace", ns.String(), "track", name, "err", err)
			continue
		}
		sub.Close()
	}
	select {
	case <-in.Done():
	case <-b.Done():
		if cur, ok := r.hub.Broadcast(ns); ok && cur != b && !cur.Remote() {
			_ = in.Cancel(wire.NamespaceErrUnauthorized, reasonTakenOver)
		}
	case <-ctx.Done():
	}
}

// Reasons sent with the refusal and the cancel of a second publisher.
const (
	reasonPublisherLive = "publisher_live: the session has a live publisher; only a newer publisher token takes it over"
	reasonTakenOver     = "publisher_taken_over: a newer publisher token took the session over"
)

// ingestTrack subscribes to the publisher of local broadcast b and feeds
// the named track. It is the Upstream for broadcasts ingested here.
func (r *Relay) ingestTrack(ctx context.Context, b *media.Broadcast, name string) error {
	r.mu.Lock()
	p := r.publishers[b.Namespace()]
	r.mu.Unlock()
	if p == nil || p.b != b {
		return fmt.Errorf("%w: %s", ErrNoPublisher, b.Namespace())
	}
	if name == inputTrack {
		return r.createInputTrack(b, name)
	}
	sub, err := p.s.Subscribe(ctx, wire.Subscribe{
		Namespace: b.Namespace().Tuple(), TrackName: name, Forward: true,
		GroupOrder: wire.GroupOrderAscending, Filter: wire.Filter{Type: wire.FilterLargestObject},
	})
	if err != nil {
		return err
	}
	t, err := b.CreateTrack(media.TrackInfo{Name: name, Kind: kindOf(name)}, r.opts.Track)
	if err != nil {
		_ = sub.Close()
		return err
	}
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		fctx, cancel := context.WithCancel(r.ctx)
		defer cancel()
		stop := context.AfterFunc(p.s.Context(), cancel)
		defer stop()
		err := feed(fctx, t, sub)
		_ = sub.Close()
		if !errors.Is(err, context.Canceled) {
			r.log.Debug("ingest ended", "namespace", b.Namespace().String(), "track", name, "err", err)
		}
		if cur, ok := b.Track(name); ok && cur == t {
			b.RemoveTrack(name)
		}
	}()
	return nil
}

// kindOf guesses a track's kind from its MSF-style name.
func kindOf(name string) media.TrackKind {
	switch {
	case strings.HasPrefix(name, "audio"):
		return media.KindAudio
	case name == "catalog" || strings.HasSuffix(name, ".catalog"):
		return media.KindCatalog
	case strings.HasPrefix(name, "input"):
		return media.KindInput
	default:
		return media.KindVideo
	}
}

// feed copies a MoQ subscription into t, keeping upstream group and object
// IDs, until the subscription or ctx ends.
//
// Objects arrive in arrival order across streams, so the tail of group N
// can land after the head of group N+1. The media track has one open
// group, so feed holds back objects of newer groups until group N's
// END_OF_GROUP marker (moq emits one when a stream with the End of Group
// header bit finishes; Strata relays always set it). A publisher that
// never sends markers trips the safety valve once (maxPending objects or
// maxPendingWait) and is then fed without waiting.
//
// A group is only started at its object 0 (the keyframe): a group joined
// mid-way, and stragglers of groups already closed, are dropped.
func feed(ctx context.Context, t *media.Track, sub *moq.Subscription) error {
	f := &feeder{t: t, markers: true}
	for {
		o, err := sub.ReadObject(ctx)
		if err != nil {
			return err
		}
		if err := f.push(o); err != nil {
			return err
		}
	}
}

// maxPending and maxPendingWait bound how long objects are held back
// waiting for a group end marker before the feeder stops expecting them.
const (
	maxPending     = 512
	maxPendingWait = 250 * time.Millisecond
)

type feeder struct {
	t       *media.Track
	cur     uint64
	open    bool // cur has been started
	ended   bool // cur is complete
	markers bool // the publisher is expected to send end markers
	pending []wire.Object
	// pendingSince is when the oldest pending object arrived.
	pendingSince time.Time
}

func (f *feeder) push(o wire.Object) error {
	if o.Status == wire.StatusEndOfGroup {
		if f.open && o.GroupID == f.cur && !f.ended {
			f.t.EndGroup()
			f.ended = true
			return f.flush()
		}
		return nil
	}
	if o.Status != wire.StatusNormal {
		return nil
	}
	switch {
	case f.open && o.GroupID == f.cur:
		return f.append(o)
	case f.open && o.GroupID < f.cur:
		return nil // straggler of a closed group
	case f.open && !f.ended && f.markers:
		if len(f.pending) == 0 {
			f.pendingSince = time.Now()
		}
		f.pending = append(f.pending, o)
		if len(f.pending) > maxPending || time.Since(f.pendingSince) > maxPendingWait {
			f.markers = false
			return f.flush()
		}
		return nil
	}
	return f.start(o)
}

// flush replays held-back objects after the current group ended.
func (f *feeder) flush() error {
	p := f.pending
	f.pending = nil
	for _, o := range p {
		if f.open && o.GroupID == f.cur {
			if err := f.append(o); err != nil {
				return err
			}
			continue
		}
		if err := f.start(o); err != nil {
			return err
		}
	}
	return nil
}

func (f *feeder) start(o wire.Object) error {
	if o.ID != 0 || (f.open && o.GroupID <= f.cur) {
		return nil
	}
	if err := f.t.StartGroup(o.GroupID); err != nil {
		if errors.Is(err, media.ErrTrackClosed) {
			return err
		}
		return nil
	}
	f.cur, f.open, f.ended = o.GroupID, true, false
	return f.append(o)
}

func (f *feeder) append(o wire.Object) error {
	mo := media.Object{ID: o.ID, Keyframe: o.ID == 0, Payload: o.Payload}
	if len(o.Extensions) > 0 {
		mo.Extensions, _ = wire.AppendExtensions(nil, o.Extensions)
		mo.CaptureMicros = captureMicros(o.Extensions)
	}
	if err := f.t.AppendObject(mo); err != nil && errors.Is(err, media.ErrTrackClosed) {
		return err
	}
	return nil
}

// LOC property types used to find the capture time: a timestamp without a
// timescale is wall-clock microseconds (see transport/msf).
const (
	locTimescale = 0x08
	locTimestamp = 0x10
)

func captureMicros(x wire.Extensions) int64 {
	if _, scaled := x.Get(locTimescale); scaled {
		return 0
	}
	if kv, ok := x.Get(locTimestamp); ok {
		return int64(kv.Value)
	}
	return 0
}
