package moq

import (
	"errors"
	"io"

	"github.com/strata-edge/strata/transport/moq/wire"
)

// controlLoop reads control messages until the session ends. Any protocol
// error closes the session with the code the codec or handler assigned.
func (s *Session) controlLoop() {
	defer s.wg.Done()
	for {
		m, err := s.codec.ReadMessage(s.ctrlR, 0)
		if err != nil {
			if errors.Is(err, io.EOF) {
				// Closing the control stream while the session is active
				// is a protocol violation.
				err = protocolError(wire.CodeProtocolViolation, "control stream closed")
			}
			s.fail(err)
			return
		}
		if _, ok := m.(*wire.GoAway); !ok && s.sm != nil {
			// Draft 18's control stream carries SETUP and GOAWAY only.
			err = protocolError(wire.CodeProtocolViolation, "%v on the control stream", m.Type())
		} else {
			err = s.handle(m)
		}
		if err != nil {
			s.fail(err)
			return
		}
	}
}

func (s *Session) handle(m wire.Message) error {
	switch m := m.(type) {
	case *wire.Setup:
		return protocolError(wire.CodeProtocolViolation, "second setup message")
	case *wire.ClientSetup, *wire.ServerSetup:
		return protocolError(wire.CodeProtocolViolation, "second setup message")
	case *wire.GoAway:
		return s.onGoAway(m)
	case *wire.MaxRequestID:
		return s.onMaxRequestID(m)
	case *wire.RequestsBlocked:
		s.log.Debug("peer blocked on request id", "max", m.MaximumRequestID)
		return nil
	case *wire.Subscribe:
		return s.onSubscribe(m)
	case *wire.SubscribeOK:
		return s.onSubscribeOK(m)
	case *wire.SubscribeError:
		return s.onSubscribeError(m)
	case *wire.PublishDone:
		return s.onPublishDone(m)
	case *wire.Unsubscribe:
		s.onUnsubscribe(m)
		return nil
	case *wire.SubscribeUpdate:
		return s.onSubscribeUpdate(m)
	case *wire.PublishNamespace:
		return s.onPublishNamespace(m)
	case *wire.PublishNamespaceDone:
		s.onPublishNamespaceDone(m)
		return nil
	case *wire.PublishNamespaceOK:
		s.onPublishNamespaceOK(m)
		return nil
	case *wire.PublishNamespaceError:
		s.onPublishNamespaceError(m)
		return nil
	case *wire.PublishNamespaceCancel:
		s.onPublishNamespaceCancel(m)
		return nil
	case *wire.Publish:
		return s.onPublish(m)
	case *wire.PublishOK:
		s.onPublishAnswer(m.RequestID, m, nil)
		return nil
	case *wire.RequestOK, *wire.RequestErrorMsg:
		return s.onGenericReply(m)
	case *wire.PublishError:
		s.onPublishAnswer(m.RequestID, nil, m)
		return nil
	}
	return s.rejectUnsupported(m)
}

// rejectUnsupported answers requests this session layer does not serve
// yet with NOT_SUPPORTED, after the request ID accounting the spec
// requires of every request; replies and notices it does not track are
// dropped.
func (s *Session) rejectUnsupported(m wire.Message) error {
	const notSupported = 0x3 // NOT_SUPPORTED in every request error space
	var reply wire.Message
	var id uint64
	switch m := m.(type) {
	case *wire.Fetch:
		id, reply = m.RequestID, &wire.FetchError{RequestID: m.RequestID, ErrorCode: notSupported}
	case *wire.TrackStatus:
		id, reply = m.RequestID, &wire.TrackStatusError{RequestID: m.RequestID, ErrorCode: notSupported}
	case *wire.Publish:
		id, reply = m.RequestID, &wire.PublishError{RequestID: m.RequestID, ErrorCode: notSupported}
	case *wire.SubscribeNamespace:
		id, reply = m.RequestID, &wire.SubscribeNamespaceError{RequestID: m.RequestID, ErrorCode: notSupported}
	default:
		s.log.Debug("ignoring control message", "type", m.Type())
		return nil
	}
	if err := s.acceptRequestID(id); err != nil {
		return err
	}
	return s.write(reply)
}

// onGenericReply reads a draft-16 REQUEST_OK or REQUEST_ERROR as the
// reply of the request its Request ID names.
func (s *Session) onGenericReply(m wire.Message) error {
	id := uint64(0)
	switch m := m.(type) {
	case *wire.RequestOK:
		id = m.RequestID
	case *wire.RequestErrorMsg:
		id = m.RequestID
	}
	s.mu.Lock()
	kind, ok := s.reqKinds[id]
	delete(s.reqKinds, id)
	s.mu.Unlock()
	if !ok {
		s.log.Debug("reply to an unknown request", "id", id)
		return nil
	}
	r, err := s.asReply(&reqStream{id: id, kind: kind}, m)
	if err != nil || r == nil {
		return err
	}
	return s.handle(r)
}

func (s *Session) onGoAway(m *wire.GoAway) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.gotGoAway {
		return protocolError(wire.CodeProtocolViolation, "second GOAWAY")
	}
	if !s.isClient && m.NewSessionURI != "" {
		return protocolError(wire.CodeProtocolViolation, "GOAWAY with URI sent to a server")
	}
	if m.HasRequestID && m.RequestID%2 != s.nextReqID%2 {
		// Draft 18 names the first of our requests the peer did not
		// process; it must have our parity.
		return protocolError(wire.CodeInvalidRequestID, "GOAWAY request id %d has the wrong parity", m.RequestID)
	}
	s.gotGoAway = true
	return nil
}

// GoAway tells the peer this endpoint will close soon; a server may name
// a URI to migrate to.
func (s *Session) GoAway(uri string) error { return s.write(&wire.GoAway{NewSessionURI: uri}) }

func (s *Session) onMaxRequestID(m *wire.MaxRequestID) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if m.RequestID <= s.peerMax {
		return protocolError(wire.CodeProtocolViolation, "MAX_REQUEST_ID %d does not increase %d", m.RequestID, s.peerMax)
	}
	s.peerMax = m.RequestID
	close(s.peerMaxCh)
	s.peerMaxCh = make(chan struct{})
	return nil
}

// acceptRequestID checks a new request's ID against the expected sequence
// and the granted window, then slides the window so the peer keeps about
// the configured number of requests available.
func (s *Session) acceptRequestID(id uint64) error {
	if s.sm != nil {
		return s.acceptRequestID18(id)
	}
	s.mu.Lock()
	if id != s.nextPeerReqID {
		s.mu.Unlock()
		return protocolError(wire.CodeInvalidRequestID, "request id %d, expected %d", id, s.nextPeerReqID)
	}
	if id >= s.localMax {
		s.mu.Unlock()
		return protocolError(wire.CodeTooManyRequests, "request id %d at limit %d", id, s.localMax)
	}
	s.nextPeerReqID += 2
	window := s.cfg.maxRequestID()
	var grant uint64
	if s.localMax-s.nextPeerReqID < window/2 {
		s.localMax = s.nextPeerReqID + window
		grant = s.localMax
	}
	s.mu.Unlock()
	if grant != 0 {
		return s.write(&wire.MaxRequestID{RequestID: grant})
	}
	return nil
}

// nextRequestID reserves the next request ID, waiting for the peer to
// raise its limit if needed (and telling it so once per limit).
func (s *Session) nextRequestID() (uint64, error) {
	for {
		s.mu.Lock()
		if s.closeErr != nil {
			err := s.closeErr
			s.mu.Unlock()
			return 0, err
		}
		if s.nextReqID < s.peerMax {
			id := s.nextReqID
			s.nextReqID += 2
			s.mu.Unlock()
			return id, nil
		}
		ch, max := s.peerMaxCh, s.peerMax
		sendBlocked := s.blockedSentAt != max
		s.blockedSentAt = max
		s.mu.Unlock()
		if sendBlocked {
			if err := s.write(&wire.RequestsBlocked{MaximumRequestID: max}); err != nil {
				return 0, err
			}
		}
		select {
		case <-ch:
		case <-s.ctx.Done():
			return 0, s.sessionErr()
		}
	}
}
