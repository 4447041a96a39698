package relay

import (
	"context"
	"errors"
	"io"
	"time"

	"github.com/strata-edge/strata/internal/token"
	"github.com/strata-edge/strata/transport/media"
	"github.com/strata-edge/strata/transport/moq"
	"github.com/strata-edge/strata/transport/moq/wire"
)

// frameObject is the hub's TrackOptions.Frame: every object is encoded
// once, as the relay's subgroup streams carry it, and its payload and
// extensions then alias that encoding, so holding both costs nothing.
func frameObject(o *media.Object) {
	if o.Framed != nil {
		return
	}
	framed, extOff, payloadOff := moq.FrameObject(o.Extensions, o.Payload)
	o.Framed = framed
	if len(o.Extensions) > 0 {
		o.Extensions = framed[extOff : extOff+len(o.Extensions) : extOff+len(o.Extensions)]
	}
	if len(o.Payload) > 0 {
		o.Payload = framed[payloadOff:]
	}
}

// maxViewerLag bounds how long a subscriber to a media track may stay in
// an older group after a newer one has started before it abandons the
// older group and jumps to the newest (media.Subscription.SetMaxLag): under
// overload a viewer's delay stays near one group plus this, instead of
// growing to the whole retention. A viewer that keeps up finishes each
// group within milliseconds of the next keyframe and loses nothing.
const maxViewerLag = 250 * time.Millisecond

// serveSubscription answers one SUBSCRIBE from the hub and sends the
// track until the subscriber leaves, the track ends or the session does.
func (r *Relay) serveSubscription(ctx context.Context, s *moq.Session, in *moq.IncomingSubscription) {
	ns, err := media.NamespaceFromTuple(in.Request.Namespace)
	if err != nil {
		_ = in.Reject(wire.SubscribeErrTrackDoesNotExist, "namespace must be strata/{tenant}/{session}")
		return
	}
	claims, err := r.authorize(s, in.Request.Params, ns, subscribeRole(in.Request.TrackName))
	if err != nil {
		r.log.Info("subscribe refused", "namespace", ns.String(), "track", in.Request.TrackName, "err", err)
		_ = in.Reject(requestCode(err), "not authorized to view "+ns.String())
		return
	}
	if claims.Role == token.RoleRelay {
		// Loop prevention: relays are only served what is ingested here.
		if b, ok := r.hub.Broadcast(ns); !ok || b.Remote() {
			_ = in.Reject(wire.SubscribeErrTrackDoesNotExist, "not ingested on this edge")
			return
		}
	}
	sub, err := r.hub.Subscribe(ctx, ns, in.Request.TrackName)
	if err != nil {
		_ = in.Reject(subscribeCode(err), "track unavailable")
		return
	}
	defer sub.Close()
	t := sub.Track()
	if k := t.Info().Kind; k == media.KindVideo || k == media.KindAudio {
		// Catalog and input objects all matter; media goes stale.
		sub.SetMaxLag(maxViewerLag)
	}
	pub, err := in.Accept(wire.GroupOrderAscending, nil)
	if err != nil {
		return
	}
	r.m.subscribers.Inc()
	r.m.subs.Add(1)
	defer func() {
		r.m.subscribers.Dec()
		r.m.subs.Add(-1)
	}()

	sctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() { // owned here: ends with sctx
		select {
		case <-pub.Unsubscribed():
			cancel()
		case <-sctx.Done():
		}
	}()
	prio := t.Info().Priority
	var skipped uint64
	for {
		gr, err := sub.NextGroup(sctx)
		if err != nil {
			if errors.Is(err, media.ErrTrackEnded) && sctx.Err() == nil {
				_ = pub.Done(wire.PublishDoneTrackEnded, "track ended")
			}
			return
		}
		if st := sub.Stats(); st.SkippedGroups != skipped {
			r.m.dropped.Add(float64(st.SkippedGroups - skipped))
			skipped = st.SkippedGroups
		}
		if err := r.sendGroup(sctx, pub, gr, prio); err != nil {
			return
		}
	}
}

// sendGroup writes one group on its own subgroup stream. A group evicted
// under a slow subscriber, or abandoned because a newer group started more
// than maxViewerLag ago, is reset (DELIVERY_TIMEOUT for the latter: the
// spec lets a publisher stop forwarding early) so the next NextGroup
// jumps ahead. Each
// object goes out in one stream write of its shared framing (frameObject),
// so header and payload leave in the same full-size packets.
func (r *Relay) sendGroup(ctx context.Context, pub *moq.Publication, gr *media.GroupReader, prio uint8) error {
	st, err := pub.OpenSubgroup(ctx, wire.SubgroupHeader{
		GroupID: gr.GroupID(), IDMode: wire.SubgroupIDZero, PublisherPriority: prio,
		Extensions: true, EndOfGroup: true,
	})
	if err != nil {
		return err
	}
	for {
		o, err := gr.NextObject(ctx)
		switch {
		case err == nil:
		case errors.Is(err, io.EOF):
			return st.Close()
		case errors.Is(err, media.ErrFellBehind):
			st.Cancel(wire.StreamErrDeliveryTimeout)
			r.m.dropped.Inc()
			return nil
		case errors.Is(err, media.ErrGroupDropped):
			st.Cancel(wire.StreamErrCancelled)
			r.m.dropped.Inc()
			return nil
		default:
			st.Cancel(wire.StreamErrCancelled)
			return err
		}
		before := st.Written()
		if err := st.WriteFramed(o.ID, o.Framed, o.Extensions, o.Payload); err != nil {
			st.Cancel(wire.StreamErrCancelled)
			return err
		}
		r.m.egress.Add(float64(st.Written() - before))
		r.m.egressBytes.Add(uint64(st.Written() - before))
		if o.CaptureMicros > 0 {
			r.m.latency.Observe(time.Since(time.UnixMicro(o.CaptureMicros)).Seconds())
		}
	}
}

// subscribeCode maps a failed hub subscription to its SUBSCRIBE_ERROR
// code: a track nobody here or upstream has is TRACK_DOES_NOT_EXIST (a
// WHIP broadcast has no MoQ publisher to ask for other tracks), so a
// client can tell "no such track" from a fault of the edge.
func subscribeCode(err error) uint64 {
	switch {
	case errors.Is(err, media.ErrNotFound), errors.Is(err, ErrNoLocator),
		errors.Is(err, ErrNoPublisher), errors.Is(err, moq.ErrSubscribeRejected):
		return wire.SubscribeErrTrackDoesNotExist
	default:
		return wire.SubscribeErrInternal
	}
}
