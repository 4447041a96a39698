package moq

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/strata-edge/strata/transport/moq/wire"
)

// Subscription is this endpoint's subscription to a peer's track.
type Subscription struct {
	s         *Session
	requestID uint64
	ready     chan struct{} // closed on SUBSCRIBE_OK or rejection
	objects   chan wire.Object
	ok        wire.SubscribeOK

	mu          sync.Mutex
	streamsDone uint64 // data streams read to FIN
	doneAt      uint64 // Stream Count from PUBLISH_DONE
	doneErr     error  // PUBLISH_DONE outcome, applied when streams finish
	doneTimer   *time.Timer

	endOnce sync.Once
	ended   chan struct{} // closed when the subscription ends
	endErr  error         // set before ended closes
}

// RequestID is the ID of the SUBSCRIBE that created the subscription.
func (sub *Subscription) RequestID() uint64 { return sub.requestID }

// OK is the publisher's SUBSCRIBE_OK (alias, largest location, order).
func (sub *Subscription) OK() wire.SubscribeOK { return sub.ok }

func (sub *Subscription) end(err error) {
	sub.endOnce.Do(func() {
		sub.mu.Lock()
		if sub.doneTimer != nil {
			sub.doneTimer.Stop()
		}
		sub.mu.Unlock()
		sub.endErr = err
		close(sub.ended)
	})
}

// Subscribe sends SUBSCRIBE for req's track and waits for the answer. The
// session sets RequestID; everything else comes from req. A rejection is a
// *RequestError matching ErrSubscribeRejected.
func (s *Session) Subscribe(ctx context.Context, req wire.Subscribe) (*Subscription, error) {
	id, err := s.nextRequestID()
	if err != nil {
		return nil, err
	}
	req.RequestID = id
	sub := &Subscription{
		s: s, requestID: id, ready: make(chan struct{}),
		objects: make(chan wire.Object, objectQueue), ended: make(chan struct{}),
	}
	s.mu.Lock()
	if s.closeErr != nil {
		s.mu.Unlock()
		return nil, s.closeErr
	}
	s.subs[id] = sub
	s.mu.Unlock()
	if err := s.write(&req); err != nil {
		s.dropSub(sub)
		return nil, err
	}
	select {
	case <-sub.ready:
		// Objects may already be queued even if PUBLISH_DONE followed.
		return sub, nil
	case <-sub.ended:
		return nil, sub.endErr
	case <-ctx.Done():
		// The answer may still come; unsubscribing keeps both sides clean.
		_ = sub.Close()
		return nil, ctx.Err()
	}
}

func (s *Session) dropSub(sub *Subscription) {
	s.mu.Lock()
	delete(s.subs, sub.requestID)
	if cur, ok := s.byAlias[sub.ok.TrackAlias]; ok && cur == sub {
		delete(s.byAlias, sub.ok.TrackAlias)
	}
	s.mu.Unlock()
}

func (s *Session) onSubscribeOK(m *wire.SubscribeOK) error {
	s.mu.Lock()
	sub, ok := s.subs[m.RequestID]
	if !ok {
		s.mu.Unlock()
		// An answer to an unsubscribed request can cross the UNSUBSCRIBE.
		return nil
	}
	if other, dup := s.byAlias[m.TrackAlias]; dup && other != sub {
		s.mu.Unlock()
		return protocolError(wire.CodeDuplicateTrackAlias, "track alias %d already in use", m.TrackAlias)
	}
	sub.ok = *m
	s.byAlias[m.TrackAlias] = sub
	close(s.aliasCh)
	s.aliasCh = make(chan struct{})
	s.mu.Unlock()
	close(sub.ready)
	return nil
}

func (s *Session) onSubscribeError(m *wire.SubscribeError) error {
	s.mu.Lock()
	sub, ok := s.subs[m.RequestID]
	delete(s.subs, m.RequestID)
	s.mu.Unlock()
	if ok {
		sub.end(&RequestError{Code: m.ErrorCode, Reason: m.Reason, kind: ErrSubscribeRejected})
	}
	return nil
}

// onPublishDone ends the subscription once the publisher's Stream Count
// of data streams has been read, or after AliasWait if some never
// arrive, so objects on streams that PUBLISH_DONE overtook still land.
func (s *Session) onPublishDone(m *wire.PublishDone) error {
	s.mu.Lock()
	sub, ok := s.subs[m.RequestID]
	delete(s.subs, m.RequestID)
	s.mu.Unlock()
	if !ok {
		return nil
	}
	err := &RequestError{Code: m.StatusCode, Reason: m.Reason, kind: ErrSubscriptionDone}
	sub.mu.Lock()
	sub.doneAt, sub.doneErr = m.StreamCount, err
	now := sub.streamsDone >= m.StreamCount
	if !now {
		sub.doneTimer = time.AfterFunc(s.cfg.aliasWait(), func() { sub.finishDone() })
	}
	sub.mu.Unlock()
	if now {
		sub.finishDone()
	}
	return nil
}

// finishDone applies a pending PUBLISH_DONE and forgets the alias.
func (sub *Subscription) finishDone() {
	sub.s.dropSub(sub)
	sub.mu.Lock()
	err := sub.doneErr
	sub.mu.Unlock()
	sub.end(err)
}

// streamFinished counts a data stream read to FIN and completes a
// pending PUBLISH_DONE when it was the last one.
func (sub *Subscription) streamFinished() {
	sub.mu.Lock()
	sub.streamsDone++
	ready := sub.doneErr != nil && sub.streamsDone >= sub.doneAt
	sub.mu.Unlock()
	if ready {
		sub.finishDone()
	}
}

// ReadObject returns the next object delivered for the subscription, in
// arrival order across streams and datagrams. Objects already queued are
// returned before the end of the subscription is reported.
func (sub *Subscription) ReadObject(ctx context.Context) (wire.Object, error) {
	select {
	case o := <-sub.objects:
		return o, nil
	default:
	}
	select {
	case o := <-sub.objects:
		return o, nil
	case <-sub.ended:
		select {
		case o := <-sub.objects:
			return o, nil
		default:
			return wire.Object{}, sub.endErr
		}
	case <-ctx.Done():
		return wire.Object{}, ctx.Err()
	}
}

// deliver queues o, blocking the stream that carried it while the
// subscriber is behind; it gives up when the subscription or session ends.
func (sub *Subscription) deliver(ctx context.Context, o wire.Object) bool {
	// Prefer queuing: a subscription that just ended still hands queued
	// objects to its reader.
	select {
	case sub.objects <- o:
		return true
	default:
	}
	select {
	case sub.objects <- o:
		return true
	case <-sub.ended:
		return false
	case <-ctx.Done():
		return false
	}
}

// Close sends UNSUBSCRIBE and ends the subscription locally.
func (sub *Subscription) Close() error {
	sub.s.dropSub(sub)
	sub.end(fmt.Errorf("%w: unsubscribed", ErrSubscriptionDone))
	if sub.s.ctx.Err() != nil {
		return nil
	}
	return sub.s.write(&wire.Unsubscribe{RequestID: sub.requestID})
}

// IncomingSubscription is a peer's SUBSCRIBE waiting for an answer.
type IncomingSubscription struct {
	s       *Session
	Request wire.Subscribe
	once    answerOnce
}

// AcceptSubscription returns the next SUBSCRIBE from the peer.
func (s *Session) AcceptSubscription(ctx context.Context) (*IncomingSubscription, error) {
	select {
	case in := <-s.incoming:
		return in, nil
	case <-s.ctx.Done():
		return nil, s.sessionErr()
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (s *Session) onSubscribe(m *wire.Subscribe) error {
	if err := s.acceptRequestID(m.RequestID); err != nil {
		return err
	}
	in := &IncomingSubscription{s: s, Request: *m}
	select {
	case s.incoming <- in:
		return nil
	default:
		// Nobody is accepting fast enough; refuse rather than stall the
		// control stream for every other request.
		return in.Reject(wire.SubscribeErrTimeout, "subscription queue full")
	}
}

// Reject answers with SUBSCRIBE_ERROR.
func (in *IncomingSubscription) Reject(code uint64, reason string) error {
	if err := in.once.answer(); err != nil {
		return err
	}
	return in.s.write(&wire.SubscribeError{RequestID: in.Request.RequestID, ErrorCode: code, Reason: reason})
}

// Accept answers with SUBSCRIBE_OK, assigning a Track Alias. largest is
// the largest location published so far, nil if none.
func (in *IncomingSubscription) Accept(order wire.GroupOrder, largest *wire.Location) (*Publication, error) {
	if err := in.once.answer(); err != nil {
		return nil, err
	}
	if order == wire.GroupOrderPublisher {
		order = wire.GroupOrderAscending
	}
	s := in.s
	s.mu.Lock()
	alias := s.nextAlias
	s.nextAlias++
	pub := &Publication{s: s, requestID: in.Request.RequestID, alias: alias, unsubscribed: make(chan struct{}),
		subPrio: in.Request.SubscriberPriority, order: order}
	s.pubs[pub.requestID] = pub
	s.mu.Unlock()
	ok := &wire.SubscribeOK{RequestID: pub.requestID, TrackAlias: alias, GroupOrder: order}
	if largest != nil {
		ok.ContentExists, ok.Largest = true, *largest
	}
	if err := s.write(ok); err != nil {
		return nil, err
	}
	return pub, nil
}

func (s *Session) onUnsubscribe(m *wire.Unsubscribe) {
	s.mu.Lock()
	pub, ok := s.pubs[m.RequestID]
	delete(s.pubs, m.RequestID)
	s.mu.Unlock()
	if ok {
		pub.closeUnsubscribed()
	}
}

// onSubscribeUpdate accounts for the request ID. Narrowing is advisory
// for this publisher: objects outside the new range may still be sent,
// which the spec allows while an update is in flight.
func (s *Session) onSubscribeUpdate(m *wire.SubscribeUpdate) error {
	s.mu.Lock()
	existed := m.SubscriptionRequestID < s.nextPeerReqID && m.SubscriptionRequestID%2 == s.nextPeerReqID%2
	s.mu.Unlock()
	if !existed {
		return protocolError(wire.CodeProtocolViolation, "SUBSCRIBE_UPDATE for unknown request %d", m.SubscriptionRequestID)
	}
	s.mu.Lock()
	pub := s.pubs[m.SubscriptionRequestID]
	s.mu.Unlock()
	if pub != nil {
		pub.setSubscriberPriority(m.SubscriberPriority)
	}
	if err := s.acceptRequestID(m.RequestID); err != nil {
		return err
	}
	if s.sm == nil && s.codec.Has(wire.TypeRequestOK) {
		// Draft 16 acknowledges updates (draft 18 does so on the
		// request's stream, see serveRequest).
		return s.write(&wire.RequestOK{RequestID: m.RequestID})
	}
	return nil
}
