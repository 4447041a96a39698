package moq

import (
	"context"
	"encoding/binary"
	"time"

	"github.com/quic-go/quic-go/http3"
	"github.com/quic-go/quic-go/quicvarint"
)

// WebTransport session close (draft-ietf-webtrans-http3, CLOSE_WEBTRANSPORT_SESSION).
const (
	capsuleCloseWebTransportSession = 0x2843
	// maxCloseReason is the longest close message the capsule may carry.
	maxCloseReason = 1024
	// closeWriteTimeout bounds writing the close capsule when the peer
	// withholds flow control credit on the CONNECT stream.
	closeWriteTimeout = 250 * time.Millisecond
	// closeLinger bounds how long a close waits for the peer to answer the
	// capsule (it must close or reset its half of the CONNECT stream)
	// before the transport tears the stream down regardless.
	closeLinger = time.Second
)

// closeWT ends a WebTransport session so that the peer learns the code and
// reason: the capsule and a FIN go out on the CONNECT stream, and nothing
// else touches that stream until the peer has answered or closeLinger has
// passed. webtransport-go's own close sends STOP_SENDING on the CONNECT
// stream in the same packet as the capsule (control frames first), and
// browsers treat that as an abrupt abort and report "Connection lost"
// instead of the code; the library's close runs afterwards as a backstop.
func closeWT(sessCtx context.Context, connect *http3.Stream, code uint32, reason string) {
	if sessCtx.Err() != nil {
		return
	}
	if len(reason) > maxCloseReason {
		reason = reason[:maxCloseReason]
	}
	b := quicvarint.Append(nil, capsuleCloseWebTransportSession)
	b = quicvarint.Append(b, uint64(4+len(reason)))
	b = binary.BigEndian.AppendUint32(b, code)
	b = append(b, reason...)
	_ = connect.SetWriteDeadline(time.Now().Add(closeWriteTimeout))
	if _, err := connect.Write(b); err != nil {
		return
	}
	if err := connect.Close(); err != nil {
		return
	}
	t := time.NewTimer(closeLinger)
	defer t.Stop()
	select {
	case <-sessCtx.Done():
	case <-t.C:
	}
}
