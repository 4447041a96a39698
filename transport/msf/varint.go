package msf

import "fmt"

// MaxVarint is the largest value a QUIC variable-length integer holds.
const MaxVarint = 1<<62 - 1

// appendVarint appends v as a QUIC variable-length integer (RFC 9000,
// Section 16), the integer encoding of the MoQ transport drafts Strata
// speaks, using the shortest form.
func appendVarint(b []byte, v uint64) ([]byte, error) {
	switch {
	case v < 1<<6:
		return append(b, byte(v)), nil
	case v < 1<<14:
		return append(b, byte(v>>8)|0x40, byte(v)), nil
	case v < 1<<30:
		return append(b, byte(v>>24)|0x80, byte(v>>16), byte(v>>8), byte(v)), nil
	case v <= MaxVarint:
		return append(b, byte(v>>56)|0xc0, byte(v>>48), byte(v>>40), byte(v>>32),
			byte(v>>24), byte(v>>16), byte(v>>8), byte(v)), nil
	default:
		return b, fmt.Errorf("%w: %d exceeds varint range", ErrTooLarge, v)
	}
}

// readVarint decodes a QUIC varint from the front of b and returns it with
// the number of bytes used.
func readVarint(b []byte) (uint64, int, error) {
	if len(b) == 0 {
		return 0, 0, fmt.Errorf("%w: truncated varint", ErrMalformed)
	}
	n := 1 << (b[0] >> 6)
	if len(b) < n {
		return 0, 0, fmt.Errorf("%w: truncated varint", ErrMalformed)
	}
	v := uint64(b[0] & 0x3f)
	for _, c := range b[1:n] {
		v = v<<8 | uint64(c)
	}
	return v, n, nil
}
