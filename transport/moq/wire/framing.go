package wire

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
)

// AppendMessage appends m framed as Type (i), Length (16), Payload. It
// fails without touching b if m is not a message of this version, does
// not encode, or its payload exceeds MaxMessageLength.
func (c *Codec) AppendMessage(b []byte, m Message) ([]byte, error) {
	t := m.Type()
	code, ok := c.codes[t]
	if !ok {
		return b, fmt.Errorf("encode %v in %v: %w", t, c.version, ErrUnknownMessage)
	}
	out := c.f.append(b, code)
	lenAt := len(out)
	out = append(out, 0, 0)
	out, err := m.AppendPayload(out, c.version)
	if err != nil {
		return b, fmt.Errorf("encode %v: %w", t, err)
	}
	n := len(out) - lenAt - 2
	if n > MaxMessageLength {
		return b, fmt.Errorf("encode %v: %d bytes: %w", t, n, ErrTooLong)
	}
	binary.BigEndian.PutUint16(out[lenAt:], uint16(n))
	return out, nil
}

// ReadMessage reads one framed control message from r. maxLen bounds the
// payload (values <= 0 or above MaxMessageLength mean MaxMessageLength);
// the payload buffer grows only as bytes arrive. A clean end of stream
// before the type is io.EOF; anything else cut short is ErrTruncated.
func (c *Codec) ReadMessage(r io.Reader, maxLen int) (Message, error) {
	if maxLen <= 0 || maxLen > MaxMessageLength {
		maxLen = MaxMessageLength
	}
	br, ok := r.(io.ByteReader)
	if !ok {
		br = byteReader{r}
	}
	t, err := c.f.read(br)
	if err != nil {
		return nil, err
	}
	return c.ReadMessageAfterType(r, t, maxLen)
}

// ReadMessageAfterType reads the rest of a message whose type t the
// caller has read: a draft-18 control stream starts with SETUP's type,
// which is also the stream's type.
func (c *Codec) ReadMessageAfterType(r io.Reader, t uint64, maxLen int) (Message, error) {
	if maxLen <= 0 || maxLen > MaxMessageLength {
		maxLen = MaxMessageLength
	}
	n, err := readU16(r)
	if err != nil {
		return nil, err
	}
	if int(n) > maxLen {
		return nil, fmt.Errorf("message type 0x%x: length %d: %w", t, n, ErrTooLong)
	}
	m, ok := c.New(MessageType(t))
	if !ok {
		return nil, fmt.Errorf("message type 0x%x: %w", t, ErrUnknownMessage)
	}
	p, err := readBounded(r, uint64(n))
	if err != nil {
		return nil, fmt.Errorf("%v: %w", m.Type(), err)
	}
	if err := m.DecodePayload(p, c.version); err != nil {
		return nil, fmt.Errorf("%v: %w", m.Type(), err)
	}
	return m, nil
}

// ParseMessage decodes one framed message at the start of p and returns
// it with the bytes consumed. ErrTruncated means p holds less than a whole
// message.
func (c *Codec) ParseMessage(p []byte) (Message, int, error) {
	t, n1, err := c.f.parse(p)
	if err != nil {
		return nil, 0, err
	}
	if len(p) < n1+2 {
		return nil, 0, ErrTruncated
	}
	n := int(binary.BigEndian.Uint16(p[n1:]))
	start := n1 + 2
	if len(p)-start < n {
		return nil, 0, ErrTruncated
	}
	m, ok := c.New(MessageType(t))
	if !ok {
		return nil, 0, fmt.Errorf("message type 0x%x: %w", t, ErrUnknownMessage)
	}
	if err := m.DecodePayload(p[start:start+n:start+n], c.version); err != nil {
		return nil, 0, fmt.Errorf("%v: %w", m.Type(), err)
	}
	return m, start + n, nil
}

// byteReader adapts a plain io.Reader for varint reads. Control streams
// are normally wrapped in bufio.Reader, which makes this path rare.
type byteReader struct{ r io.Reader }

func (b byteReader) ReadByte() (byte, error) {
	var c [1]byte
	_, err := io.ReadFull(b.r, c[:])
	return c[0], err
}

var _ io.ByteReader = (*bufio.Reader)(nil)

func (t MessageType) String() string {
	if s, ok := messageNames[t]; ok {
		return s
	}
	return fmt.Sprintf("MESSAGE(0x%x)", uint64(t))
}

var messageNames = map[MessageType]string{
	TypeClientSetup: "CLIENT_SETUP", TypeServerSetup: "SERVER_SETUP", TypeGoAway: "GOAWAY",
	TypeMaxRequestID: "MAX_REQUEST_ID", TypeRequestsBlocked: "REQUESTS_BLOCKED",
	TypeSubscribe: "SUBSCRIBE", TypeSubscribeOK: "SUBSCRIBE_OK", TypeSubscribeError: "SUBSCRIBE_ERROR",
	TypeSubscribeUpdate: "SUBSCRIBE_UPDATE", TypeUnsubscribe: "UNSUBSCRIBE", TypePublishDone: "PUBLISH_DONE",
	TypePublish: "PUBLISH", TypePublishOK: "PUBLISH_OK", TypePublishError: "PUBLISH_ERROR",
	TypeFetch: "FETCH", TypeFetchOK: "FETCH_OK", TypeFetchError: "FETCH_ERROR", TypeFetchCancel: "FETCH_CANCEL",
	TypeTrackStatus: "TRACK_STATUS", TypeTrackStatusOK: "TRACK_STATUS_OK", TypeTrackStatusError: "TRACK_STATUS_ERROR",
	TypePublishNamespace: "PUBLISH_NAMESPACE", TypePublishNamespaceOK: "PUBLISH_NAMESPACE_OK",
	TypePublishNamespaceError: "PUBLISH_NAMESPACE_ERROR", TypePublishNamespaceDone: "PUBLISH_NAMESPACE_DONE",
	TypePublishNamespaceCancel: "PUBLISH_NAMESPACE_CANCEL", TypeSubscribeNamespace: "SUBSCRIBE_NAMESPACE",
	TypeSubscribeNamespaceOK: "SUBSCRIBE_NAMESPACE_OK", TypeSubscribeNamespaceError: "SUBSCRIBE_NAMESPACE_ERROR",
	TypeUnsubscribeNamespace: "UNSUBSCRIBE_NAMESPACE",
}

// AppendInt appends v in the version's integer encoding (QUIC varint or
// vi64), for callers that frame objects themselves.
func (c *Codec) AppendInt(b []byte, v uint64) []byte { return c.f.append(b, v) }

// IntLen is the size of v in the version's integer encoding.
func (c *Codec) IntLen(v uint64) int { return c.f.size(v) }

// ReadInt reads one integer in the version's encoding.
func (c *Codec) ReadInt(r io.ByteReader) (uint64, error) { return c.f.read(r) }
