package moq

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"sync/atomic"
	"time"

	"github.com/strata-edge/strata/transport/moq/wire"
)

// This file is how a session runs the versions negotiated by ALPN
// (draft 18): each side opens a unidirectional control stream that starts
// with SETUP and then carries only GOAWAY; every request runs on a
// bidirectional stream of its own, whose replies carry no Request ID;
// cancelling a request (UNSUBSCRIBE, withdrawing a namespace) resets its
// stream. The rest of the session layer keeps speaking draft-14 messages:
// write routes them onto streams and the stream readers turn replies back
// into the draft-14 types, tagged with the stream's Request ID.

// implementationName is the MOQT_IMPLEMENTATION Strata announces.
const implementationName = "strata"

// reqStream is one draft-18 request and the stream it runs on.
type reqStream struct {
	id       uint64
	kind     wire.MessageType // the request: TypeSubscribe, TypePublish, ...
	ns       wire.Namespace   // namespace requests: the namespace or prefix
	st       Stream
	r        *bufio.Reader
	incoming bool

	wmu sync.Mutex
	// ownEnd is set before this endpoint ends its write side, so that
	// ending is not taken for the peer's STOP_SENDING (watchRequest).
	ownEnd atomic.Bool
}

// closeWrite finishes this endpoint's half of the stream (FIN).
func (rq *reqStream) closeWrite() {
	rq.ownEnd.Store(true)
	_ = rq.st.Close()
}

// resetWrite abandons this endpoint's half of the stream.
func (rq *reqStream) resetWrite(code uint64) {
	rq.ownEnd.Store(true)
	rq.st.CancelWrite(code)
}

// streamMode is a session's draft-18 state.
type streamMode struct {
	ctrlMu  sync.Mutex
	ctrlOut SendStream

	mu   sync.Mutex
	reqs map[uint64]*reqStream
	// early are data streams that arrived before the peer's SETUP.
	early []earlyStream
}

// cancelReadAtEnd ends a read of st when the session ends. A
// WebTransport read of a stream the peer reset because its session is
// gone waits for the library's session to close, which it may not do when
// the peer closed first, and CancelRead does not end that wait; a read
// deadline does. Streams with a deadline get only that: a STOP_SENDING
// on a stream of a WebTransport session already closed hung Chromium's
// page (player TestBrowserPlayer/bad-token). The returned func forgets st.
func (s *Session) cancelReadAtEnd(st ReceiveStream) (stop func() bool) {
	return context.AfterFunc(s.ctx, func() {
		if d, ok := st.(interface{ SetReadDeadline(time.Time) error }); ok {
			_ = d.SetReadDeadline(time.Now())
			return
		}
		st.CancelRead(wire.StreamErrSessionClosed)
	})
}

type earlyStream struct {
	st ReceiveStream
	r  *bufio.Reader
	t  uint64
}

// noRequestLimit stands in for MAX_REQUEST_ID, which draft 18 removed.
const noRequestLimit = 1 << 62

func (s *Session) setup18(ctx context.Context) error {
	out, err := s.conn.OpenUniStream(ctx)
	if err != nil {
		return fmt.Errorf("open control stream: %w", err)
	}
	setPriority(out, urgencyControl)
	s.sm = &streamMode{ctrlOut: out, reqs: map[uint64]*reqStream{}}
	params := wire.Parameters{wire.BytesPair(wire.SetupParamMOQTImplementation16, []byte(implementationName))}
	if s.isClient {
		if params, err = s.clientSetupParams(params...); err != nil {
			return err
		}
	}
	if err := s.writeControl(&wire.Setup{Params: params}); err != nil {
		return err
	}
	peer, err := s.acceptControl18(ctx)
	if err != nil {
		return err
	}
	if _, ok := peer.Params.Get(wire.SetupParamPath); ok && (s.isClient || s.conn.WebTransport()) {
		return protocolError(wire.CodeInvalidPath, "PATH from a server or over WebTransport")
	}
	if _, ok := peer.Params.Get(wire.SetupParamAuthority); ok && (s.isClient || s.conn.WebTransport()) {
		return protocolError(wire.CodeInvalidAuthority, "AUTHORITY from a server or over WebTransport")
	}
	s.peerMax, s.localMax = noRequestLimit, noRequestLimit
	if s.isClient {
		return nil
	}
	if p, ok := peer.Params.Get(wire.SetupParamPath); ok {
		s.path = string(p.Bytes)
	}
	s.setupTokens = Tokens(peer.Params)
	if len(s.setupTokens) == 0 {
		if tok := s.urlToken(); tok != nil {
			s.setupTokens = [][]byte{tok}
		}
	}
	return nil
}

// acceptControl18 waits for the peer's control stream and reads its
// SETUP; data streams that overtake it are kept for acceptUniLoop.
func (s *Session) acceptControl18(ctx context.Context) (*wire.Setup, error) {
	for {
		st, err := s.conn.AcceptUniStream(ctx)
		if err != nil {
			return nil, fmt.Errorf("accept control stream: %w", err)
		}
		r := bufio.NewReader(st)
		t, err := wire.ReadVi64(r)
		if err != nil {
			st.CancelRead(wire.StreamErrCancelled)
			continue
		}
		if t != wire.SetupStreamType {
			s.sm.early = append(s.sm.early, earlyStream{st: st, r: r, t: t})
			continue
		}
		stop := context.AfterFunc(ctx, func() { st.CancelRead(uint64(wire.CodeControlMessageTimeout)) })
		m, err := s.codec.ReadMessageAfterType(r, t, 0)
		stop()
		if err != nil {
			return nil, fmt.Errorf("read SETUP: %w", err)
		}
		s.ctrlR = r
		s.cancelReadAtEnd(st)
		return m.(*wire.Setup), nil
	}
}

// writeControl sends one message on this endpoint's control stream.
func (s *Session) writeControl(m wire.Message) error {
	b, err := s.codec.AppendMessage(nil, m)
	if err != nil {
		return err
	}
	s.sm.ctrlMu.Lock()
	defer s.sm.ctrlMu.Unlock()
	if _, err := s.sm.ctrlOut.Write(b); err != nil {
		return fmt.Errorf("write %v: %w", m.Type(), err)
	}
	return nil
}

// requestOf names the request a stream-opening message makes.
func requestOf(m wire.Message) (id uint64, ns wire.Namespace, ok bool) {
	switch m := m.(type) {
	case *wire.Subscribe:
		return m.RequestID, nil, true
	case *wire.TrackStatus:
		return m.RequestID, nil, true
	case *wire.Publish:
		return m.RequestID, nil, true
	case *wire.Fetch:
		return m.RequestID, nil, true
	case *wire.PublishNamespace:
		return m.RequestID, m.Namespace, true
	case *wire.SubscribeNamespace:
		return m.RequestID, m.Prefix, true
	case *wire.SubscribeTracks:
		return m.RequestID, m.Prefix, true
	}
	return 0, nil, false
}

// replyTo names the request a reply answers and whether it is the last
// message this endpoint sends on that request's stream.
func replyTo(m wire.Message) (id uint64, final, ok bool) {
	switch m := m.(type) {
	case *wire.SubscribeOK:
		return m.RequestID, false, true
	case *wire.PublishOK:
		return m.RequestID, false, true
	case *wire.PublishNamespaceOK:
		return m.RequestID, false, true
	case *wire.SubscribeNamespaceOK:
		return m.RequestID, false, true
	case *wire.FetchOK:
		return m.RequestID, false, true
	case *wire.TrackStatusOK:
		return m.RequestID, true, true
	case *wire.PublishDone:
		return m.RequestID, true, true
	case *wire.SubscribeError:
		return m.RequestID, true, true
	case *wire.PublishError:
		return m.RequestID, true, true
	case *wire.FetchError:
		return m.RequestID, true, true
	case *wire.TrackStatusError:
		return m.RequestID, true, true
	case *wire.PublishNamespaceError:
		return m.RequestID, true, true
	case *wire.SubscribeNamespaceError:
		return m.RequestID, true, true
	}
	return 0, false, false
}

// send18 maps a draft-14 message onto draft 18's streams.
func (s *Session) send18(m wire.Message) error {
	if id, ns, ok := requestOf(m); ok {
		return s.openRequest(id, ns, m)
	}
	if id, final, ok := replyTo(m); ok {
		rq := s.request(id)
		if rq == nil {
			return nil // the requester cancelled; nothing to answer
		}
		if err := rq.write(s.codec, m); err != nil {
			return err
		}
		if final {
			s.dropRequest(id)
			rq.closeWrite()
		}
		return nil
	}
	switch m := m.(type) {
	case *wire.GoAway:
		s.mu.Lock()
		m.RequestID, m.HasRequestID = s.nextPeerReqID, true
		s.mu.Unlock()
		return s.writeControl(m)
	case *wire.MaxRequestID, *wire.RequestsBlocked:
		return nil // draft 18 has no request flow control
	case *wire.Unsubscribe:
		s.cancelRequest(s.request(m.RequestID))
	case *wire.FetchCancel:
		s.cancelRequest(s.request(m.RequestID))
	case *wire.PublishNamespaceDone:
		s.cancelRequest(s.findNamespace(wire.TypePublishNamespace, false, m.Namespace))
	case *wire.PublishNamespaceCancel:
		s.cancelRequest(s.findNamespace(wire.TypePublishNamespace, true, m.Namespace))
	case *wire.UnsubscribeNamespace:
		s.cancelRequest(s.findNamespace(wire.TypeSubscribeNamespace, false, m.Prefix))
	default:
		return fmt.Errorf("moq: %v has no %v form: %w", m.Type(), s.Version(), wire.ErrUnknownMessage)
	}
	return nil
}

func (rq *reqStream) write(c *wire.Codec, m wire.Message) error {
	b, err := c.AppendMessage(nil, m)
	if err != nil {
		return err
	}
	rq.wmu.Lock()
	defer rq.wmu.Unlock()
	if _, err := rq.st.Write(b); err != nil {
		return fmt.Errorf("write %v: %w", m.Type(), err)
	}
	return nil
}

func (s *Session) request(id uint64) *reqStream {
	s.sm.mu.Lock()
	defer s.sm.mu.Unlock()
	return s.sm.reqs[id]
}

func (s *Session) dropRequest(id uint64) {
	s.sm.mu.Lock()
	delete(s.sm.reqs, id)
	s.sm.mu.Unlock()
}

func (s *Session) findNamespace(kind wire.MessageType, incoming bool, ns wire.Namespace) *reqStream {
	s.sm.mu.Lock()
	defer s.sm.mu.Unlock()
	for _, rq := range s.sm.reqs {
		if rq.kind == kind && rq.incoming == incoming && rq.ns.Equal(ns) {
			return rq
		}
	}
	return nil
}

// cancelRequest abandons a request in both directions, draft 18's
// UNSUBSCRIBE and namespace withdrawal.
func (s *Session) cancelRequest(rq *reqStream) {
	if rq == nil {
		return
	}
	s.dropRequest(rq.id)
	rq.resetWrite(wire.StreamErrCancelled)
	rq.st.CancelRead(wire.StreamErrCancelled)
}

// openRequest starts a request on a new stream and reads its replies.
func (s *Session) openRequest(id uint64, ns wire.Namespace, m wire.Message) error {
	st, err := s.conn.OpenStream(s.ctx)
	if err != nil {
		return fmt.Errorf("open request stream: %w", err)
	}
	setPriority(st, urgencyControl)
	rq := &reqStream{id: id, kind: m.Type(), ns: ns, st: st, r: bufio.NewReader(st)}
	s.sm.mu.Lock()
	s.sm.reqs[id] = rq
	s.sm.mu.Unlock()
	if err := rq.write(s.codec, m); err != nil {
		s.cancelRequest(rq)
		return err
	}
	s.watchRequest(rq)
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer s.cancelReadAtEnd(rq.st)()
		s.readReplies(rq)
	}()
	return nil
}

// readReplies turns what follows the request on its stream (replies to
// our requests, REQUEST_UPDATE to the peer's) into the draft-14
// messages the handlers expect.
func (s *Session) readReplies(rq *reqStream) {
	for {
		m, err := s.codec.ReadMessage(rq.r, 0)
		if err != nil {
			s.requestEnded(rq, err)
			return
		}
		m, err = s.asReply(rq, m)
		if err == nil && m != nil {
			err = s.handle(m)
			if _, ok := m.(*wire.SubscribeUpdate); ok && err == nil {
				err = rq.write(s.codec, &wire.RequestOK{}) // REQUEST_UPDATE_OK
			}
		}
		if err != nil {
			s.fail(err)
			return
		}
	}
}

// asReply tags a reply with its request's ID and, for the generic
// REQUEST_OK and REQUEST_ERROR, gives it the request's reply type.
func (s *Session) asReply(rq *reqStream, m wire.Message) (wire.Message, error) {
	id := rq.id
	switch m := m.(type) {
	case *wire.RequestErrorMsg:
		e := wire.RequestError{RequestID: id, ErrorCode: m.CodeFor(rq.kind), Reason: m.Reason}
		switch rq.kind {
		case wire.TypeSubscribe:
			return (*wire.SubscribeError)(&e), nil
		case wire.TypePublish:
			return (*wire.PublishError)(&e), nil
		case wire.TypePublishNamespace:
			return (*wire.PublishNamespaceError)(&e), nil
		case wire.TypeFetch:
			return (*wire.FetchError)(&e), nil
		case wire.TypeTrackStatus:
			return (*wire.TrackStatusError)(&e), nil
		case wire.TypeSubscribeNamespace:
			return (*wire.SubscribeNamespaceError)(&e), nil
		}
	case *wire.RequestOK:
		switch rq.kind {
		case wire.TypePublish:
			ok := m.AsPublishOK(id)
			return &ok, nil
		case wire.TypePublishNamespace:
			return &wire.PublishNamespaceOK{RequestID: id}, nil
		case wire.TypeTrackStatus:
			ok := m.AsTrackStatusOK(id)
			return &ok, nil
		case wire.TypeSubscribeNamespace:
			return &wire.SubscribeNamespaceOK{RequestID: id}, nil
		}
	case *wire.SubscribeOK:
		if rq.kind == wire.TypeSubscribe {
			m.RequestID = id
			return m, nil
		}
	case *wire.PublishDone:
		if rq.kind == wire.TypeSubscribe || (rq.kind == wire.TypePublish && rq.incoming) {
			m.RequestID = id
			return m, nil
		}
	case *wire.FetchOK:
		if rq.kind == wire.TypeFetch {
			m.RequestID = id
			return m, nil
		}
	case *wire.SubscribeUpdate:
		if rq.incoming && rq.kind == wire.TypeSubscribe {
			m.SubscriptionRequestID = id
			return m, nil
		}
	case *wire.GoAway:
		// A GOAWAY for one request asks to re-issue it elsewhere; this
		// session layer does not migrate requests, so it keeps them.
		return nil, nil
	}
	return nil, protocolError(wire.CodeProtocolViolation, "%v on a %v stream", m.Type(), rq.kind)
}

// errStopSending stands for a peer's STOP_SENDING on a request stream,
// which cancels the request like a reset of its own half.
var errStopSending = errors.New("moq: peer stopped reading the request stream")

// watchRequest treats the peer's STOP_SENDING on rq's stream (which ends
// the stream's write side, as our own Close does) as a cancellation.
func (s *Session) watchRequest(rq *reqStream) {
	if c, ok := rq.st.(interface{ Context() context.Context }); ok {
		context.AfterFunc(c.Context(), func() {
			if !rq.ownEnd.Load() {
				s.requestEnded(rq, errStopSending)
			}
		})
	}
}

// claimRequest unregisters rq and reports whether it was still
// registered: the first notice of a request's end acts, later ones (the
// other half's, or our own close) do not.
func (s *Session) claimRequest(rq *reqStream) bool {
	s.sm.mu.Lock()
	defer s.sm.mu.Unlock()
	if s.sm.reqs[rq.id] != rq {
		return false
	}
	delete(s.sm.reqs, rq.id)
	return true
}

// requestEnded handles the end of one half of a request's stream: a
// codec error ends the session; a reset (or STOP_SENDING) cancels the
// request; a FIN ends it where the peer's half carries the outcome (the
// publisher's replies), and is otherwise only the peer saying it has
// nothing more to send.
func (s *Session) requestEnded(rq *reqStream, err error) {
	var we *wire.Error
	if errors.As(err, &we) && !errors.Is(err, io.EOF) {
		s.fail(err)
		return
	}
	if s.ctx.Err() != nil {
		return
	}
	// The peer closed the whole session: its close, not this stream's
	// end, is what ends the request (and every other).
	if !errors.Is(err, io.EOF) && s.remoteCloseOf(err) != nil {
		s.fail(err)
		return
	}
	eof := errors.Is(err, io.EOF)
	peerPublishes := (rq.incoming && rq.kind == wire.TypePublish) || (!rq.incoming && rq.kind != wire.TypePublish && rq.kind != wire.TypePublishNamespace)
	if eof && !peerPublishes {
		return
	}
	if !s.claimRequest(rq) {
		return
	}
	switch {
	case rq.kind == wire.TypePublishNamespace && rq.incoming:
		s.onPublishNamespaceDone(&wire.PublishNamespaceDone{Namespace: rq.ns})
	case rq.kind == wire.TypePublishNamespace:
		s.onPublishNamespaceCancel(&wire.PublishNamespaceCancel{Namespace: rq.ns})
	case rq.kind == wire.TypeSubscribe && rq.incoming, rq.kind == wire.TypePublish && !rq.incoming:
		s.onUnsubscribe(&wire.Unsubscribe{RequestID: rq.id})
	case rq.kind == wire.TypeSubscribe, rq.kind == wire.TypePublish:
		// The publisher ended the request; after PUBLISH_DONE nothing is
		// left, without it the subscription is over.
		s.mu.Lock()
		sub := s.subs[rq.id]
		delete(s.subs, rq.id)
		s.mu.Unlock()
		if sub != nil {
			s.dropSub(sub)
			sub.end(fmt.Errorf("%w: request stream closed", ErrSubscriptionDone))
		}
	}
	rq.st.CancelRead(wire.StreamErrCancelled)
	if eof {
		rq.closeWrite()
	} else {
		rq.resetWrite(wire.StreamErrCancelled)
	}
}

// acceptRequests serves the peer's request streams.
func (s *Session) acceptRequests() {
	defer s.wg.Done()
	for {
		st, err := s.conn.AcceptStream(s.ctx)
		if err != nil {
			return
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.serveRequest(st)
		}()
	}
}

func (s *Session) serveRequest(st Stream) {
	r := bufio.NewReader(st)
	defer s.cancelReadAtEnd(st)()
	m, err := s.codec.ReadMessage(r, 0)
	if err != nil {
		var we *wire.Error
		if errors.As(err, &we) {
			s.fail(err)
		}
		st.CancelRead(wire.StreamErrCancelled)
		st.CancelWrite(wire.StreamErrCancelled)
		return
	}
	if s.sm == nil {
		s.serveNamespaceStream16(st, m)
		return
	}
	id, ns, ok := requestOf(m)
	if !ok {
		s.fail(protocolError(wire.CodeProtocolViolation, "request stream opened with %v", m.Type()))
		return
	}
	rq := &reqStream{id: id, kind: m.Type(), ns: ns, st: st, r: r, incoming: true}
	s.sm.mu.Lock()
	_, dup := s.sm.reqs[id]
	if !dup {
		s.sm.reqs[id] = rq
	}
	s.sm.mu.Unlock()
	if dup {
		s.fail(protocolError(wire.CodeInvalidRequestID, "duplicate request id %d", id))
		return
	}
	if _, ok := m.(*wire.SubscribeTracks); ok {
		if err := s.acceptRequestID(id); err != nil {
			s.fail(err)
			return
		}
		const notSupported = 0x3
		_ = s.write(&wire.SubscribeNamespaceError{RequestID: id, ErrorCode: notSupported})
		return
	}
	s.watchRequest(rq)
	if err := s.handle(m); err != nil {
		s.fail(err)
		return
	}
	s.readReplies(rq)
}

// acceptRequestID18 checks a request ID's parity (draft 18 has no
// ordering or window across streams) and records the highest seen.
func (s *Session) acceptRequestID18(id uint64) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if id%2 != s.nextPeerReqID%2 {
		return protocolError(wire.CodeInvalidRequestID, "request id %d has the wrong parity", id)
	}
	if id >= s.nextPeerReqID {
		s.nextPeerReqID = id + 2
	}
	return nil
}

// serveNamespaceStream16 answers a draft-16 SUBSCRIBE_NAMESPACE, the only
// request that version sends on a stream of its own: this session layer
// does not serve namespace subscriptions, so REQUEST_ERROR NOT_SUPPORTED.
func (s *Session) serveNamespaceStream16(st Stream, m wire.Message) {
	sn, ok := m.(*wire.SubscribeNamespace)
	if !ok {
		s.fail(protocolError(wire.CodeProtocolViolation, "%v on a request stream", m.Type()))
		return
	}
	if err := s.acceptRequestID(sn.RequestID); err != nil {
		s.fail(err)
		return
	}
	const notSupported = 0x3
	rq := &reqStream{id: sn.RequestID, kind: m.Type(), st: st}
	if err := rq.write(s.codec, &wire.SubscribeNamespaceError{RequestID: sn.RequestID, ErrorCode: notSupported}); err != nil {
		rq.resetWrite(wire.StreamErrCancelled)
	} else {
		rq.closeWrite()
	}
	st.CancelRead(wire.StreamErrCancelled)
}
