package wire

import (
	"encoding/binary"
	"io"
)

// MaxVarint is the largest value a QUIC variable-length integer holds.
const MaxVarint = 1<<62 - 1

// VarintLen is the size of the shortest encoding of v, which is what
// senders use (the spec asks for minimal encodings). Values above
// MaxVarint report 8; encoders reject them separately.
func VarintLen(v uint64) int {
	switch {
	case v < 1<<6:
		return 1
	case v < 1<<14:
		return 2
	case v < 1<<30:
		return 4
	default:
		return 8
	}
}

// AppendVarint appends the minimal RFC 9000 encoding of v.
func AppendVarint(b []byte, v uint64) ([]byte, error) {
	if v > MaxVarint {
		return b, ErrVarintRange
	}
	return appendVarint(b, v), nil
}

// appendVarint assumes v <= MaxVarint; callers check.
func appendVarint(b []byte, v uint64) []byte {
	switch {
	case v < 1<<6:
		return append(b, byte(v))
	case v < 1<<14:
		return append(b, byte(v>>8)|0x40, byte(v))
	case v < 1<<30:
		return append(b, byte(v>>24)|0x80, byte(v>>16), byte(v>>8), byte(v))
	default:
		return binary.BigEndian.AppendUint64(b, v|0xc0<<56)
	}
}

// ParseVarint decodes a varint at the start of p and returns it with the
// number of bytes used. Non-minimal encodings are accepted, as RFC 9000
// requires of receivers.
func ParseVarint(p []byte) (uint64, int, error) {
	if len(p) == 0 {
		return 0, 0, ErrTruncated
	}
	n := 1 << (p[0] >> 6)
	if len(p) < n {
		return 0, 0, ErrTruncated
	}
	v := uint64(p[0] & 0x3f)
	for i := 1; i < n; i++ {
		v = v<<8 | uint64(p[i])
	}
	return v, n, nil
}

// ReadVarint reads one varint from r. An EOF before the first byte is
// returned as io.EOF so stream readers can tell a clean end from a cut;
// an EOF inside the varint is ErrTruncated.
func ReadVarint(r io.ByteReader) (uint64, error) {
	first, err := r.ReadByte()
	if err != nil {
		return 0, err
	}
	n := 1 << (first >> 6)
	v := uint64(first & 0x3f)
	for i := 1; i < n; i++ {
		c, err := r.ReadByte()
		if err != nil {
			return 0, eofIsTruncated(err)
		}
		v = v<<8 | uint64(c)
	}
	return v, nil
}

// eofIsTruncated turns an end of input in the middle of a structure into
// the protocol error the spec assigns to it.
func eofIsTruncated(err error) error {
	if err == io.EOF || err == io.ErrUnexpectedEOF {
		return ErrTruncated
	}
	return err
}
