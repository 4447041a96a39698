package moq

import (
	"context"
	"crypto/tls"
	"io"

	"github.com/quic-go/quic-go"
	"github.com/quic-go/quic-go/http3"
	"github.com/quic-go/webtransport-go"

	"github.com/strata-edge/strata/transport/moq/wire"
)

// Conn is what a session needs from its transport. Raw QUIC and
// WebTransport adapters implement it; tests can use either.
type Conn interface {
	OpenStream(ctx context.Context) (Stream, error)
	AcceptStream(ctx context.Context) (Stream, error)
	OpenUniStream(ctx context.Context) (SendStream, error)
	AcceptUniStream(ctx context.Context) (ReceiveStream, error)
	SendDatagram(b []byte) error
	ReceiveDatagram(ctx context.Context) ([]byte, error)
	CloseWithError(code uint64, reason string) error
	Context() context.Context
	// WebTransport reports whether the session runs over WebTransport,
	// which changes setup rules (no PATH or AUTHORITY parameters).
	WebTransport() bool
}

// tlsConn is implemented by transports that run over TLS: a server uses
// the handshake's outcome (the peer's verified certificate) to tell
// cluster nodes from viewers on the same port.
type tlsConn interface {
	TLS() tls.ConnectionState
}

var (
	_ tlsConn = quicConn{}
	_ tlsConn = wtConn{}
)

// ReceiveStream is the read half of a stream.
type ReceiveStream interface {
	io.Reader
	CancelRead(code uint64)
}

// SendStream is the write half of a stream; Close sends FIN.
type SendStream interface {
	io.Writer
	io.Closer
	CancelWrite(code uint64)
}

// Stream is a bidirectional stream.
type Stream interface {
	ReceiveStream
	SendStream
}

// protocolConn is a Conn that knows the application protocol its
// transport negotiated: the TLS ALPN on raw QUIC, the WT-Protocol on
// WebTransport ("" when the peers agreed on none).
type protocolConn interface{ protocol() string }

var (
	_ protocolConn = quicConn{}
	_ protocolConn = wtConn{}
)

// negotiatedVersion is the version the transport's protocol names, if it
// names one (from draft 15 on).
func negotiatedVersion(c Conn) (wire.Version, bool) {
	if pc, ok := c.(protocolConn); ok {
		return wire.VersionForALPN(pc.protocol())
	}
	return 0, false
}

// QUICConn adapts a raw QUIC connection (ALPN moqt-18, or moq-00 for
// draft 14).
func QUICConn(c *quic.Conn) Conn { return quicConn{c} }

type quicConn struct{ c *quic.Conn }

func (q quicConn) OpenStream(ctx context.Context) (Stream, error) {
	s, err := q.c.OpenStreamSync(ctx)
	if err != nil {
		return nil, err
	}
	return quicStream{s}, nil
}

func (q quicConn) AcceptStream(ctx context.Context) (Stream, error) {
	s, err := q.c.AcceptStream(ctx)
	if err != nil {
		return nil, err
	}
	return quicStream{s}, nil
}

func (q quicConn) OpenUniStream(ctx context.Context) (SendStream, error) {
	s, err := q.c.OpenUniStreamSync(ctx)
	if err != nil {
		return nil, err
	}
	return quicSend{s}, nil
}

func (q quicConn) AcceptUniStream(ctx context.Context) (ReceiveStream, error) {
	s, err := q.c.AcceptUniStream(ctx)
	if err != nil {
		return nil, err
	}
	return quicRecv{s}, nil
}

func (q quicConn) SendDatagram(b []byte) error { return q.c.SendDatagram(b) }
func (q quicConn) ReceiveDatagram(ctx context.Context) ([]byte, error) {
	return q.c.ReceiveDatagram(ctx)
}
func (q quicConn) Context() context.Context { return q.c.Context() }
func (q quicConn) WebTransport() bool       { return false }
func (q quicConn) TLS() tls.ConnectionState { return q.c.ConnectionState().TLS }
func (q quicConn) protocol() string         { return q.c.ConnectionState().TLS.NegotiatedProtocol }
func (q quicConn) CloseWithError(code uint64, reason string) error {
	return q.c.CloseWithError(quic.ApplicationErrorCode(code), reason)
}

// closeCause reports the error that ended the connection, nil while open.
func (q quicConn) closeCause() error {
	if q.c.Context().Err() == nil {
		return nil
	}
	return context.Cause(q.c.Context())
}

type quicStream struct{ *quic.Stream }

func (s quicStream) CancelRead(code uint64)  { s.Stream.CancelRead(quic.StreamErrorCode(code)) }
func (s quicStream) CancelWrite(code uint64) { s.Stream.CancelWrite(quic.StreamErrorCode(code)) }

type quicSend struct{ *quic.SendStream }

func (s quicSend) CancelWrite(code uint64) { s.SendStream.CancelWrite(quic.StreamErrorCode(code)) }

type quicRecv struct{ *quic.ReceiveStream }

func (s quicRecv) CancelRead(code uint64) { s.ReceiveStream.CancelRead(quic.StreamErrorCode(code)) }

// WebTransportConn adapts a WebTransport session. WebTransport error codes
// are 32 bits; larger MOQT codes are clamped, which only loses detail.
func WebTransportConn(s *webtransport.Session) Conn { return wtConn{s: s} }

type wtConn struct {
	s *webtransport.Session
	// connect is the session's CONNECT stream where the server has it;
	// closing through it keeps the close code intact (see closeWT).
	connect *http3.Stream
	// query is the CONNECT request's URL query (server side), where
	// clients that cannot send setup parameters put their token.
	query string
}

func (w wtConn) connectQuery() string { return w.query }

func (w wtConn) protocol() string { return w.s.SessionState().ApplicationProtocol }

func (w wtConn) OpenStream(ctx context.Context) (Stream, error) {
	s, err := w.s.OpenStreamSync(ctx)
	if err != nil {
		return nil, err
	}
	return wtStream{s}, nil
}

func (w wtConn) AcceptStream(ctx context.Context) (Stream, error) {
	s, err := w.s.AcceptStream(ctx)
	if err != nil {
		return nil, err
	}
	return wtStream{s}, nil
}

func (w wtConn) OpenUniStream(ctx context.Context) (SendStream, error) {
	s, err := w.s.OpenUniStreamSync(ctx)
	if err != nil {
		return nil, err
	}
	return wtSend{s}, nil
}

func (w wtConn) AcceptUniStream(ctx context.Context) (ReceiveStream, error) {
	s, err := w.s.AcceptUniStream(ctx)
	if err != nil {
		return nil, err
	}
	return wtRecv{s}, nil
}

func (w wtConn) SendDatagram(b []byte) error                         { return w.s.SendDatagram(b) }
func (w wtConn) ReceiveDatagram(ctx context.Context) ([]byte, error) { return w.s.ReceiveDatagram(ctx) }
func (w wtConn) Context() context.Context                            { return w.s.Context() }
func (w wtConn) WebTransport() bool                                  { return true }
func (w wtConn) TLS() tls.ConnectionState                            { return w.s.SessionState().ConnectionState.TLS }
func (w wtConn) CloseWithError(code uint64, reason string) error {
	if w.connect != nil {
		closeWT(w.s.Context(), w.connect, clamp32(code), reason)
	}
	return w.s.CloseWithError(webtransport.SessionErrorCode(clamp32(code)), reason)
}

// closeCause reports the session's close error once it has ended: the
// library hands it out from OpenUniStream, which opens nothing then.
func (w wtConn) closeCause() error {
	if w.s.Context().Err() == nil {
		return nil
	}
	st, err := w.s.OpenUniStream()
	if err == nil {
		st.CancelWrite(0)
		return nil
	}
	return err
}

func clamp32(v uint64) uint32 {
	if v > 1<<32-1 {
		return 1<<32 - 1
	}
	return uint32(v)
}

type wtStream struct{ *webtransport.Stream }

func (s wtStream) CancelRead(code uint64) {
	s.Stream.CancelRead(webtransport.StreamErrorCode(clamp32(code)))
}
func (s wtStream) CancelWrite(code uint64) {
	s.Stream.CancelWrite(webtransport.StreamErrorCode(clamp32(code)))
}

type wtSend struct{ *webtransport.SendStream }

func (s wtSend) CancelWrite(code uint64) {
	s.SendStream.CancelWrite(webtransport.StreamErrorCode(clamp32(code)))
}

type wtRecv struct{ *webtransport.ReceiveStream }

func (s wtRecv) CancelRead(code uint64) {
	s.ReceiveStream.CancelRead(webtransport.StreamErrorCode(clamp32(code)))
}
