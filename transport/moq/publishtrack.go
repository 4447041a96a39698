package moq

import (
	"context"
	"fmt"

	"github.com/strata-edge/strata/transport/moq/wire"
)

// publishState is a session's PUBLISH bookkeeping (publisher-initiated
// subscriptions, draft-14 section "PUBLISH"), guarded by Session.mu and
// made on first use.
type publishState struct {
	pending  map[uint64]*pendingPublish // our PUBLISHes awaiting an answer
	incoming chan *IncomingPublish      // peer PUBLISHes awaiting AcceptPublish
}

type pendingPublish struct {
	pub  *Publication
	done chan struct{} // closed once ok or err is set
	ok   wire.PublishOK
	err  error
}

// publishLocked returns the state, making it; s.mu must be held.
func (s *Session) publishLocked() *publishState {
	if s.pubTracks == nil {
		s.pubTracks = &publishState{
			pending:  map[uint64]*pendingPublish{},
			incoming: make(chan *IncomingPublish, incomingQueue),
		}
	}
	return s.pubTracks
}

// Publish sends PUBLISH for req's track and waits for PUBLISH_OK. The
// session sets RequestID and TrackAlias (from the same alias space as its
// SUBSCRIBE_OKs, so aliases never collide). The returned Publication
// sends objects like one made by accepting a SUBSCRIBE; its Done sends
// PUBLISH_DONE and the peer's UNSUBSCRIBE closes Unsubscribed. A
// rejection is a *RequestError matching ErrPublishRejected.
//
// Objects are only sent after PUBLISH_OK, even with Forward set: the
// spec allows earlier sending, but the answer also carries the
// subscriber's forward state and filter, returned here.
func (s *Session) Publish(ctx context.Context, req wire.Publish) (*Publication, wire.PublishOK, error) {
	id, err := s.nextRequestID()
	if err != nil {
		return nil, wire.PublishOK{}, err
	}
	if req.GroupOrder == wire.GroupOrderPublisher {
		req.GroupOrder = wire.GroupOrderAscending
	}
	s.mu.Lock()
	if s.closeErr != nil {
		s.mu.Unlock()
		return nil, wire.PublishOK{}, s.closeErr
	}
	req.RequestID, req.TrackAlias = id, s.nextAlias
	s.nextAlias++
	pub := &Publication{s: s, requestID: id, alias: req.TrackAlias, unsubscribed: make(chan struct{})}
	p := &pendingPublish{pub: pub, done: make(chan struct{})}
	s.publishLocked().pending[id] = p
	// UNSUBSCRIBE names the PUBLISH's request ID; our IDs and the peer's
	// differ in parity, so they share the map of peer subscriptions.
	s.pubs[id] = pub
	s.mu.Unlock()
	drop := func() {
		s.mu.Lock()
		delete(s.pubTracks.pending, id)
		delete(s.pubs, id)
		s.mu.Unlock()
	}
	if err := s.write(&req); err != nil {
		drop()
		return nil, wire.PublishOK{}, err
	}
	select {
	case <-p.done:
		if p.err != nil {
			return nil, wire.PublishOK{}, p.err
		}
		return pub, p.ok, nil
	case <-s.ctx.Done():
		drop()
		return nil, wire.PublishOK{}, s.sessionErr()
	case <-ctx.Done():
		// The answer may still come; PUBLISH_DONE ends it either way.
		drop()
		_ = s.write(&wire.PublishDone{RequestID: id, StatusCode: wire.PublishDoneInternal, Reason: "publisher gave up"})
		return nil, wire.PublishOK{}, ctx.Err()
	}
}

// onPublishAnswer completes a pending Publish with PUBLISH_OK (ok) or
// PUBLISH_ERROR (rej). Answers to requests given up on are dropped.
func (s *Session) onPublishAnswer(id uint64, ok *wire.PublishOK, rej *wire.PublishError) {
	s.mu.Lock()
	var p *pendingPublish
	if s.pubTracks != nil {
		p = s.pubTracks.pending[id]
		delete(s.pubTracks.pending, id)
	}
	if p != nil && rej != nil {
		delete(s.pubs, id)
	}
	s.mu.Unlock()
	if p == nil {
		return
	}
	if rej != nil {
		p.err = &RequestError{Code: rej.ErrorCode, Reason: rej.Reason, kind: ErrPublishRejected}
	} else {
		p.ok = *ok
	}
	close(p.done)
}

// IncomingPublish is a peer's PUBLISH waiting for an answer.
type IncomingPublish struct {
	s       *Session
	Request wire.Publish
	once    answerOnce
}

// AcceptPublish returns the next PUBLISH from the peer. Only sessions
// whose Config sets AcceptPublish receive any; others answer
// NOT_SUPPORTED.
func (s *Session) AcceptPublish(ctx context.Context) (*IncomingPublish, error) {
	s.mu.Lock()
	ch := s.publishLocked().incoming
	s.mu.Unlock()
	select {
	case in := <-ch:
		return in, nil
	case <-s.ctx.Done():
		return nil, s.sessionErr()
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (s *Session) onPublish(m *wire.Publish) error {
	if !s.cfg.AcceptPublish {
		return s.rejectUnsupported(m)
	}
	if err := s.acceptRequestID(m.RequestID); err != nil {
		return err
	}
	in := &IncomingPublish{s: s, Request: *m}
	s.mu.Lock()
	_, dup := s.byAlias[m.TrackAlias]
	ch := s.publishLocked().incoming
	s.mu.Unlock()
	if dup {
		return protocolError(wire.CodeDuplicateTrackAlias, "PUBLISH track alias %d already in use", m.TrackAlias)
	}
	select {
	case ch <- in:
		return nil
	default:
		return in.Reject(wire.PublishErrTimeout, "publish queue full")
	}
}

// Reject answers with PUBLISH_ERROR.
func (in *IncomingPublish) Reject(code uint64, reason string) error {
	if err := in.once.answer(); err != nil {
		return err
	}
	return in.s.write(&wire.PublishError{RequestID: in.Request.RequestID, ErrorCode: code, Reason: reason})
}

// Accept answers with PUBLISH_OK (its RequestID is set here) and returns
// the subscription the objects arrive on. Closing it sends UNSUBSCRIBE;
// the publisher's PUBLISH_DONE ends it. A Track Alias already used by
// another live subscription closes the session with
// DUPLICATE_TRACK_ALIAS, as the spec requires.
func (in *IncomingPublish) Accept(ok wire.PublishOK) (*Subscription, error) {
	if err := in.once.answer(); err != nil {
		return nil, err
	}
	s, m := in.s, in.Request
	if ok.GroupOrder == wire.GroupOrderPublisher {
		ok.GroupOrder = m.GroupOrder
	}
	ok.RequestID = m.RequestID
	sub := &Subscription{
		s: s, requestID: m.RequestID, ready: make(chan struct{}),
		objects: make(chan wire.Object, objectQueue), ended: make(chan struct{}),
		ok: wire.SubscribeOK{RequestID: m.RequestID, TrackAlias: m.TrackAlias, GroupOrder: ok.GroupOrder,
			ContentExists: m.ContentExists, Largest: m.Largest},
	}
	close(sub.ready)
	s.mu.Lock()
	if s.closeErr != nil {
		err := s.closeErr
		s.mu.Unlock()
		return nil, err
	}
	if other, dup := s.byAlias[m.TrackAlias]; dup && other != sub {
		s.mu.Unlock()
		err := protocolError(wire.CodeDuplicateTrackAlias, "PUBLISH track alias %d already in use", m.TrackAlias)
		s.fail(err)
		return nil, err
	}
	s.subs[sub.requestID] = sub
	s.byAlias[m.TrackAlias] = sub
	close(s.aliasCh)
	s.aliasCh = make(chan struct{})
	s.mu.Unlock()
	if err := s.write(&ok); err != nil {
		s.dropSub(sub)
		return nil, fmt.Errorf("moq: publish ok: %w", err)
	}
	return sub, nil
}
