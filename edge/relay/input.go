package relay

import (
	"context"
	"errors"
	"time"

	"github.com/strata-edge/strata/internal/token"
	"github.com/strata-edge/strata/transport/media"
	"github.com/strata-edge/strata/transport/moq"
	"github.com/strata-edge/strata/transport/moq/wire"
)

// inputTrack is the track on which viewers' input flows back to the
// session: written by the edge (the WHEP data channel of controllers),
// read by the session's own publisher.
const inputTrack = "input"

// maxInputObject bounds one forwarded input event; real ones are tiny JSON.
const maxInputObject = 16 << 10

// subscribeRole is the role a SUBSCRIBE must hold for a track: the input
// track is read by the session's publisher only (viewers must not see
// each other's input); everything else by viewers.
func subscribeRole(track string) token.Role {
	if track == inputTrack {
		return token.RolePublisher
	}
	return token.RoleViewer
}

// createInputTrack makes the input track of a broadcast ingested here.
// Input flows from viewers to the publisher, so there is nothing to pull
// from upstream: the track starts empty and controllers append to it.
func (r *Relay) createInputTrack(b *media.Broadcast, name string) error {
	opts := r.opts.Track
	opts.FirstGroupID = uint64(time.Now().UnixMilli())
	_, err := b.CreateTrack(media.TrackInfo{Name: name, Kind: media.KindInput}, opts)
	if err != nil {
		if _, ok := b.Track(name); ok {
			return nil // a controller created it first
		}
	}
	return err
}

// onlyInput reports whether b has no tracks left but its input track: a
// relayed broadcast in that state has nothing left to watch.
func onlyInput(b *media.Broadcast) bool {
	for _, t := range b.Tracks() {
		if t.Info().Name != inputTrack {
			return false
		}
	}
	return true
}

// startInputWatch starts, with the first relayed track, the relay's one
// watcher of input tracks on relayed broadcasts (created by controllers
// watching here), each of which pushInput carries to the ingest edge.
func (r *Relay) startInputWatch() {
	r.inputOnce.Do(func() {
		r.mu.Lock()
		defer r.mu.Unlock()
		if r.closed {
			return
		}
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			r.watchInput()
		}()
	})
}

// watchInput runs until the relay closes; every pushInput it starts is
// owned by the relay too and ends with its broadcast.
func (r *Relay) watchInput() {
	w := r.hub.Watch()
	defer w.Close()
	for {
		e, err := w.Next(r.ctx)
		if err != nil {
			return
		}
		if e.Kind != media.TrackAdded || e.Track != inputTrack || !e.Remote {
			continue
		}
		b, ok := r.hub.Broadcast(e.Namespace)
		if !ok || !b.Remote() {
			continue
		}
		t, ok := b.Track(inputTrack)
		if !ok {
			continue
		}
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			ctx, cancel := context.WithCancel(r.ctx)
			defer cancel()
			go func() { // owned here: ends with ctx
				select {
				case <-b.Done():
					cancel()
				case <-ctx.Done():
				}
			}()
			r.pushInput(ctx, b, t)
		}()
	}
}

// pushInput sends t to the ingest edge with PUBLISH (draft-14: a
// publisher-initiated subscription, authorized by the relay token),
// re-publishing with backoff when the upstream is lost, until t closes
// or ctx ends.
func (r *Relay) pushInput(ctx context.Context, b *media.Broadcast, t *media.Track) {
	backoff := r.opts.RetryMin
	// sent survives the attempts: each reads from the newest group on
	// (input held up by a lost upstream is stale), and that group's
	// events already forwarded are skipped rather than sent twice (a
	// replayed keydown is a wrong input). It is in t's numbering, which
	// only grows while t lives and is never reset: a new input track is
	// a new pushInput with a fresh mark, and a restarted ingest edge
	// renumbering its own track does not matter here.
	var sent inputMark
	for {
		sub := t.Subscribe()
		err := r.publishInput(ctx, b, sub, &sent)
		sub.Close()
		if ctx.Err() != nil || t.Closed() {
			return
		}
		r.log.Info("input upstream lost, retrying", "namespace", b.Namespace().String(), "err", err)
		select {
		case <-time.After(backoff):
		case <-t.Done():
			return
		case <-ctx.Done():
			return
		}
		backoff = min(2*backoff, r.opts.RetryMax)
	}
}

// inputMark is the local track position of the last event a forwarder
// sent upstream.
type inputMark struct {
	group, id uint64
	set       bool
}

// after reports whether o comes after the mark, i.e. was not sent yet.
func (m *inputMark) after(o media.Object) bool {
	return !m.set || o.GroupID > m.group || o.GroupID == m.group && o.ID > m.id
}

// move records o as sent.
func (m *inputMark) move(o media.Object) { m.group, m.id, m.set = o.GroupID, o.ID, true }

// publishInput forwards sub's events after sent to the ingest edge,
// moving sent past each one written, until sub or the publication ends.
func (r *Relay) publishInput(ctx context.Context, b *media.Broadcast, sub *media.Subscription, sent *inputMark) error {
	if r.opts.Locator == nil {
		return ErrNoLocator
	}
	src, err := r.opts.Locator(ctx, b.Namespace())
	if err != nil {
		return err
	}
	rm, err := r.acquire(ctx, src)
	if err != nil {
		return err
	}
	defer r.release(rm)
	req := wire.Publish{Namespace: b.Namespace().Tuple(), TrackName: inputTrack,
		GroupOrder: wire.GroupOrderAscending, Forward: true}
	tok, err := r.relayToken()
	if err != nil {
		return err
	}
	if tok != nil {
		p, err := moq.TokenParam(tok)
		if err != nil {
			return err
		}
		req.Params = wire.Parameters{p}
	}
	pub, _, err := rm.s.Publish(ctx, req)
	if err != nil {
		return err
	}
	pctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stop := context.AfterFunc(rm.s.Context(), cancel)
	defer stop()
	go func() { // owned here: ends with pctx
		select {
		case <-pub.Unsubscribed():
			cancel()
		case <-pctx.Done():
		}
	}()
	w := inputStream{pub: pub, prio: sub.Track().Info().Priority}
	for {
		o, err := sub.Next(pctx)
		if err != nil {
			w.close()
			if errors.Is(err, media.ErrTrackEnded) {
				_ = pub.Done(wire.PublishDoneTrackEnded, "input ended")
			}
			return err
		}
		if !sent.after(o) {
			continue // forwarded by an earlier attempt
		}
		if err := w.write(pctx, o); err != nil {
			return err
		}
		sent.move(o)
	}
}

// inputStream sends a forwarding publication's events in order on one
// subgroup stream, as the player does: events on streams of their own
// could overtake each other when a packet is lost. The relay numbers
// them itself (the local track's groups roll by AppendInput's bounds, not
// the stream's), so every event is the next object of the stream's group
// (draft-14, "Subgroups" and "Closing Subgroup Streams"). Only a stream
// that fails is replaced, by one in a new group: a group's objects never
// go on a second stream.
type inputStream struct {
	pub    *moq.Publication
	prio   uint8
	st     *moq.SubgroupStream // nil until the first event, or after a failure
	group  uint64              // the latest stream's group ID
	opened bool                // a stream has been opened (group is set)
	next   uint64              // the open stream's next object ID
}

// write sends o as the stream's next object, opening the stream first if
// there is none. If the peer reset the stream, o goes once more on a new
// one; a second failure is the publication's.
func (w *inputStream) write(ctx context.Context, o media.Object) error {
	for retried := false; ; retried = true {
		if w.st == nil {
			if err := w.open(ctx, o.GroupID); err != nil {
				return err
			}
		}
		err := w.st.WriteRaw(w.next, o.Extensions, o.Payload)
		if err == nil {
			w.next++
			return nil
		}
		w.st.Cancel(wire.StreamErrCancelled)
		w.st = nil
		if retried {
			return err
		}
	}
}

// open starts a stream in the group of the event it will carry first, or
// in the group after the previous stream's if that is not greater: group
// IDs only increase, and no two streams share one.
func (w *inputStream) open(ctx context.Context, group uint64) error {
	if w.opened && group <= w.group {
		group = w.group + 1
	}
	st, err := w.pub.OpenSubgroup(ctx, wire.SubgroupHeader{GroupID: group, IDMode: wire.SubgroupIDZero,
		PublisherPriority: w.prio, Extensions: true, EndOfGroup: true})
	if err != nil {
		return err
	}
	w.st, w.group, w.opened, w.next = st, group, true, 0
	return nil
}

// close ends the open stream with FIN: every event written so far still
// arrives (a reset could discard them), and the header's End of Group
// holds, since the group gets no more objects.
func (w *inputStream) close() {
	if w.st != nil {
		_ = w.st.Close()
		w.st = nil
	}
}

// serveInputPublish takes a PUBLISH of a broadcast's input track and
// appends its events to the local input track, which the session's
// publisher reads (or, on a relaying edge, which forwardInput pushes on
// to the ingest edge). Two kinds of publisher may send input: a relay,
// for broadcasts ingested here (it accepted the input from its own
// controllers), and a player with the controller role, for a broadcast
// this edge has (ingested or relayed).
func (r *Relay) serveInputPublish(ctx context.Context, s *moq.Session, in *moq.IncomingPublish) {
	ns, err := media.NamespaceFromTuple(in.Request.Namespace)
	if err != nil || in.Request.TrackName != inputTrack {
		_ = in.Reject(wire.PublishErrUninterested, "only strata/{tenant}/{session} input is taken")
		return
	}
	// Input may come from a controller of this session or from a relay.
	claims, err := r.authorize(s, in.Request.Params, ns, token.RoleController, token.RoleRelay)
	if err != nil {
		r.log.Info("input publish refused", "namespace", ns.String(), "err", err)
		_ = in.Reject(wire.PublishErrUnauthorized, "only controllers and relays may publish input")
		return
	}
	b, ok := r.hub.Broadcast(ns)
	if !ok || (claims.Role == token.RoleRelay && b.Remote()) {
		_ = in.Reject(wire.PublishErrUninterested, "not ingested on this edge")
		return
	}
	if err := r.createInputTrack(b, inputTrack); err != nil {
		_ = in.Reject(wire.PublishErrInternal, "no input track")
		return
	}
	t, ok := b.Track(inputTrack)
	if !ok {
		_ = in.Reject(wire.PublishErrInternal, "no input track")
		return
	}
	sub, err := in.Accept(wire.PublishOK{Forward: true, GroupOrder: wire.GroupOrderAscending,
		Filter: wire.Filter{Type: wire.FilterLargestObject}})
	if err != nil {
		return
	}
	defer func() { _ = sub.Close() }()
	ictx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() { // owned here: ends with ictx
		select {
		case <-t.Done():
			cancel()
		case <-ictx.Done():
		}
	}()
	for {
		o, err := sub.ReadObject(ictx)
		if err != nil {
			return
		}
		if o.Status != wire.StatusNormal || len(o.Payload) == 0 || len(o.Payload) > maxInputObject {
			continue
		}
		mo := media.Object{Payload: o.Payload}
		if len(o.Extensions) > 0 {
			mo.Extensions, _ = wire.AppendExtensions(nil, o.Extensions)
			mo.CaptureMicros = captureMicros(o.Extensions)
		}
		// AppendInput keeps the events in arrival order as consecutive
		// objects of one group, which egress sends on one stream.
		if err := t.AppendInput(mo); errors.Is(err, media.ErrTrackClosed) {
			return
		}
	}
}
