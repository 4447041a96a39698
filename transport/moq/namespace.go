package moq

import (
	"context"
	"sync"

	"github.com/strata-edge/strata/transport/moq/wire"
)

// This file is the namespace side of publishing: a publisher advertises
// a namespace with PUBLISH_NAMESPACE, and the receiver (a relay) answers,
// then subscribes to the tracks it wants under it, which is how MoQ relays
// ingest.

// IncomingNamespace is a peer's PUBLISH_NAMESPACE waiting for an answer.
type IncomingNamespace struct {
	s       *Session
	Request wire.PublishNamespace

	once     answerOnce
	doneOnce sync.Once
	done     chan struct{}
}

// Done is closed when the peer withdraws the namespace with
// PUBLISH_NAMESPACE_DONE or the session ends.
func (in *IncomingNamespace) Done() <-chan struct{} { return in.done }

func (in *IncomingNamespace) finish() { in.doneOnce.Do(func() { close(in.done) }) }

// AcceptNamespace returns the next PUBLISH_NAMESPACE from the peer.
func (s *Session) AcceptNamespace(ctx context.Context) (*IncomingNamespace, error) {
	select {
	case in := <-s.incomingNS:
		return in, nil
	case <-s.ctx.Done():
		return nil, s.sessionErr()
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (s *Session) onPublishNamespace(m *wire.PublishNamespace) error {
	if err := s.acceptRequestID(m.RequestID); err != nil {
		return err
	}
	in := &IncomingNamespace{s: s, Request: *m, done: make(chan struct{})}
	select {
	case s.incomingNS <- in:
		return nil
	default:
		return in.Reject(wire.NamespaceErrTimeout, "namespace queue full")
	}
}

// Accept answers with PUBLISH_NAMESPACE_OK. From then on a
// PUBLISH_NAMESPACE_DONE for the namespace closes Done.
func (in *IncomingNamespace) Accept() error {
	if err := in.once.answer(); err != nil {
		return err
	}
	s := in.s
	s.mu.Lock()
	if s.closeErr != nil {
		s.mu.Unlock()
		in.finish()
		return s.closeErr
	}
	s.nsIn = append(s.nsIn, in)
	s.mu.Unlock()
	return s.write(&wire.PublishNamespaceOK{RequestID: in.Request.RequestID})
}

// Reject answers with PUBLISH_NAMESPACE_ERROR; code is a NamespaceErr*.
func (in *IncomingNamespace) Reject(code uint64, reason string) error {
	if err := in.once.answer(); err != nil {
		return err
	}
	in.finish()
	return in.s.write(&wire.PublishNamespaceError{RequestID: in.Request.RequestID, ErrorCode: code, Reason: reason})
}

// Cancel tells the publisher this endpoint stops routing subscriptions to
// the namespace (PUBLISH_NAMESPACE_CANCEL).
func (in *IncomingNamespace) Cancel(code uint64, reason string) error {
	in.s.dropNamespaceIn(in.Request.Namespace, 0)
	in.finish()
	return in.s.write(&wire.PublishNamespaceCancel{Namespace: in.Request.Namespace, RequestID: in.Request.RequestID,
		ErrorCode: code, Reason: reason})
}

// dropNamespaceIn forgets the accepted namespaces equal to ns or, when
// ns is nil (draft 16 names the request instead), announced by request id.
func (s *Session) dropNamespaceIn(ns wire.Namespace, id uint64) []*IncomingNamespace {
	s.mu.Lock()
	defer s.mu.Unlock()
	var gone []*IncomingNamespace
	kept := s.nsIn[:0]
	for _, in := range s.nsIn {
		if (ns != nil && in.Request.Namespace.Equal(ns)) || (ns == nil && in.Request.RequestID == id) {
			gone = append(gone, in)
		} else {
			kept = append(kept, in)
		}
	}
	clear(s.nsIn[len(kept):])
	s.nsIn = kept
	return gone
}

func (s *Session) onPublishNamespaceDone(m *wire.PublishNamespaceDone) {
	for _, in := range s.dropNamespaceIn(m.Namespace, m.RequestID) {
		in.finish()
	}
}

// Announcement is a namespace this endpoint published to the peer.
type Announcement struct {
	s         *Session
	requestID uint64
	ns        wire.Namespace
	answer    chan error // buffered; nil on OK
	cancelled chan struct{}
	once      sync.Once
}

// Cancelled is closed when the peer sends PUBLISH_NAMESPACE_CANCEL.
func (a *Announcement) Cancelled() <-chan struct{} { return a.cancelled }

func (a *Announcement) cancel() { a.once.Do(func() { close(a.cancelled) }) }

// PublishNamespace sends PUBLISH_NAMESPACE and waits for the answer. A
// rejection is a *RequestError matching ErrNamespaceRejected. params
// typically carries an AUTHORIZATION TOKEN (see TokenParam).
func (s *Session) PublishNamespace(ctx context.Context, ns wire.Namespace, params wire.Parameters) (*Announcement, error) {
	id, err := s.nextRequestID()
	if err != nil {
		return nil, err
	}
	a := &Announcement{s: s, requestID: id, ns: ns, answer: make(chan error, 1), cancelled: make(chan struct{})}
	s.mu.Lock()
	if s.closeErr != nil {
		s.mu.Unlock()
		return nil, s.closeErr
	}
	s.nsOut[id] = a
	s.mu.Unlock()
	if err := s.write(&wire.PublishNamespace{RequestID: id, Namespace: ns, Params: params}); err != nil {
		s.dropAnnouncement(id)
		return nil, err
	}
	select {
	case err := <-a.answer:
		if err != nil {
			return nil, err
		}
		return a, nil
	case <-s.ctx.Done():
		return nil, s.sessionErr()
	case <-ctx.Done():
		s.dropAnnouncement(id)
		return nil, ctx.Err()
	}
}

func (s *Session) dropAnnouncement(id uint64) *Announcement {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.nsOut[id]
	delete(s.nsOut, id)
	return a
}

func (s *Session) onPublishNamespaceOK(m *wire.PublishNamespaceOK) {
	s.mu.Lock()
	a := s.nsOut[m.RequestID]
	s.mu.Unlock()
	if a != nil {
		a.answer <- nil
	}
}

func (s *Session) onPublishNamespaceError(m *wire.PublishNamespaceError) {
	if a := s.dropAnnouncement(m.RequestID); a != nil {
		a.answer <- &RequestError{Code: m.ErrorCode, Reason: m.Reason, kind: ErrNamespaceRejected}
	}
}

func (s *Session) onPublishNamespaceCancel(m *wire.PublishNamespaceCancel) {
	s.mu.Lock()
	var hit []*Announcement
	for id, a := range s.nsOut {
		if (m.Namespace != nil && a.ns.Equal(m.Namespace)) || (m.Namespace == nil && id == m.RequestID) {
			hit = append(hit, a)
			delete(s.nsOut, id)
		}
	}
	s.mu.Unlock()
	for _, a := range hit {
		a.cancel()
	}
}

// Close withdraws the namespace with PUBLISH_NAMESPACE_DONE.
func (a *Announcement) Close() error {
	a.s.dropAnnouncement(a.requestID)
	a.cancel()
	if a.s.ctx.Err() != nil {
		return nil
	}
	return a.s.write(&wire.PublishNamespaceDone{Namespace: a.ns, RequestID: a.requestID})
}
