package wire

import (
	"encoding/binary"
	"io"
	"math/bits"
)

// Draft 17 replaced QUIC varints with "vi64": the count of leading one
// bits in the first byte gives the length (1 to 9 bytes), and the full
// 64-bit range is encodable.

// Vi64Len is the size of the shortest vi64 encoding of v.
func Vi64Len(v uint64) int {
	if v >= 1<<56 {
		return 9
	}
	// 7 usable bits per byte up to 8 bytes.
	n := (bits.Len64(v) + 6) / 7
	if n == 0 {
		return 1
	}
	return n
}

// AppendVi64 appends the shortest vi64 encoding of v.
func AppendVi64(b []byte, v uint64) []byte {
	n := Vi64Len(v)
	if n == 9 {
		b = append(b, 0xff)
		return binary.BigEndian.AppendUint64(b, v)
	}
	var buf [8]byte
	binary.BigEndian.PutUint64(buf[:], v)
	out := buf[8-n:]
	// n-1 leading ones, then a zero, in the first byte.
	out[0] |= ^byte(0xff >> (n - 1))
	return append(b, out...)
}

// vi64Size is the encoded length announced by a vi64's first byte.
func vi64Size(first byte) int { return bits.LeadingZeros8(^first) + 1 }

// ParseVi64 decodes a vi64 at the start of p. Non-minimal encodings are
// valid, as the spec says.
func ParseVi64(p []byte) (uint64, int, error) {
	if len(p) == 0 {
		return 0, 0, ErrTruncated
	}
	n := vi64Size(p[0])
	if len(p) < n {
		return 0, 0, ErrTruncated
	}
	return vi64Value(p[:n]), n, nil
}

// vi64Value decodes a complete encoding of len(p) bytes.
func vi64Value(p []byte) uint64 {
	n := len(p)
	if n == 9 {
		return binary.BigEndian.Uint64(p[1:])
	}
	v := uint64(p[0] & (0xff >> n))
	for _, c := range p[1:] {
		v = v<<8 | uint64(c)
	}
	return v
}

// ReadVi64 reads one vi64 from r with ReadVarint's end-of-input rules.
func ReadVi64(r io.ByteReader) (uint64, error) {
	first, err := r.ReadByte()
	if err != nil {
		return 0, err
	}
	var buf [9]byte
	buf[0] = first
	n := vi64Size(first)
	for i := 1; i < n; i++ {
		if buf[i], err = r.ReadByte(); err != nil {
			return 0, eofIsTruncated(err)
		}
	}
	return vi64Value(buf[:n]), nil
}

// dialect is what the codec varies by version below the message
// layouts: the integer encoding (QUIC varints up to draft 16, vi64 from
// draft 17), Key-Value-Pair types as deltas (from draft 16), and the
// data stream rules of draft 16 on (optional priorities, status 0x1
// gone, fetch objects coded against the previous one).
type dialect uint8

const (
	dialect14 dialect = iota
	dialect16
	dialect18
)

// deltaKVP reports whether Key-Value-Pair types are deltas.
func (f dialect) deltaKVP() bool { return f >= dialect16 }

// newData reports whether draft 16's data stream rules apply.
func (f dialect) newData() bool { return f >= dialect16 }

func (f dialect) append(b []byte, v uint64) []byte {
	if f == dialect18 {
		return AppendVi64(b, v)
	}
	return appendVarint(b, v)
}

func (f dialect) parse(p []byte) (uint64, int, error) {
	if f == dialect18 {
		return ParseVi64(p)
	}
	return ParseVarint(p)
}

func (f dialect) read(r io.ByteReader) (uint64, error) {
	if f == dialect18 {
		return ReadVi64(r)
	}
	return ReadVarint(r)
}

func (f dialect) size(v uint64) int {
	if f == dialect18 {
		return Vi64Len(v)
	}
	return VarintLen(v)
}

// max is the largest encodable value.
func (f dialect) max() uint64 {
	if f == dialect18 {
		return 1<<64 - 1
	}
	return MaxVarint
}
