package wire

import (
	"encoding/binary"
	"io"
)

// encoder appends fields with a sticky error, so message encoders read as
// a list of fields and check once at the end.
type encoder struct {
	b   []byte
	err error
	f   dialect
}

func (e *encoder) fail(err error) {
	if e.err == nil {
		e.err = err
	}
}

func (e *encoder) varint(v uint64) {
	if e.err != nil {
		return
	}
	if v > e.f.max() {
		e.fail(ErrVarintRange)
		return
	}
	e.b = e.f.append(e.b, v)
}

func (e *encoder) u8(v uint8) {
	if e.err == nil {
		e.b = append(e.b, v)
	}
}

func (e *encoder) flag(v bool) {
	if v {
		e.u8(1)
	} else {
		e.u8(0)
	}
}

// lenBytes writes a (b) field: varint length then the bytes.
func (e *encoder) lenBytes(p []byte, max int) {
	if len(p) > max {
		e.fail(ErrTooLong)
		return
	}
	e.varint(uint64(len(p)))
	if e.err == nil {
		e.b = append(e.b, p...)
	}
}

func (e *encoder) lenString(s string, max int) {
	if len(s) > max {
		e.fail(ErrTooLong)
		return
	}
	e.varint(uint64(len(s)))
	if e.err == nil {
		e.b = append(e.b, s...)
	}
}

func (e *encoder) location(l Location) {
	e.varint(l.Group)
	e.varint(l.Object)
}

// decoder reads fields from a bounded payload with a sticky error. Every
// read checks the remaining length first, so a hostile length can never
// slice past the input or cause an allocation larger than the input.
type decoder struct {
	p   []byte
	err error
	f   dialect
}

func (d *decoder) fail(err error) {
	if d.err == nil {
		d.err = err
	}
}

func (d *decoder) varint() uint64 {
	if d.err != nil {
		return 0
	}
	v, n, err := d.f.parse(d.p)
	if err != nil {
		d.fail(err)
		return 0
	}
	d.p = d.p[n:]
	return v
}

func (d *decoder) u8() uint8 {
	if d.err != nil {
		return 0
	}
	if len(d.p) < 1 {
		d.fail(ErrTruncated)
		return 0
	}
	v := d.p[0]
	d.p = d.p[1:]
	return v
}

// flag reads an 8-bit field that the spec restricts to 0 or 1.
func (d *decoder) flag() bool {
	switch d.u8() {
	case 0:
		return false
	case 1:
		return true
	default:
		d.fail(ErrMalformed)
		return false
	}
}

func (d *decoder) take(n uint64) []byte {
	if d.err != nil {
		return nil
	}
	if n > uint64(len(d.p)) {
		d.fail(ErrTruncated)
		return nil
	}
	v := d.p[:n:n]
	d.p = d.p[n:]
	return v
}

// lenBytes reads a (b) field whose length may not exceed max. Zero-length
// fields decode as nil so that encode/decode round trips compare equal.
func (d *decoder) lenBytes(max int) []byte {
	n := d.varint()
	if d.err != nil {
		return nil
	}
	if n > uint64(max) {
		d.fail(ErrTooLong)
		return nil
	}
	v := d.take(n)
	if len(v) == 0 {
		return nil
	}
	return v
}

func (d *decoder) lenString(max int) string {
	return string(d.lenBytes(max))
}

func (d *decoder) location() Location {
	return Location{Group: d.varint(), Object: d.varint()}
}

// rest consumes and returns what is left.
func (d *decoder) rest() []byte {
	if d.err != nil || len(d.p) == 0 {
		return nil
	}
	v := d.p
	d.p = nil
	return v
}

// finish reports the first error, or ErrTrailingBytes if input remains:
// a control message length must match its payload exactly.
func (d *decoder) finish() error {
	if d.err != nil {
		return d.err
	}
	if len(d.p) != 0 {
		return ErrTrailingBytes
	}
	return nil
}

// readChunk bounds how much a reader-based decoder allocates ahead of the
// bytes actually received.
const readChunk = 4096

// readBounded reads exactly n bytes, growing the buffer only as data
// arrives, so a lying length prefix costs at most one chunk beyond what
// the peer really sent. An early end of input is ErrTruncated.
func readBounded(r io.Reader, n uint64) ([]byte, error) {
	if n == 0 {
		return nil, nil
	}
	buf := make([]byte, min(n, readChunk))
	got := 0
	for {
		m, err := io.ReadFull(r, buf[got:])
		got += m
		if err != nil {
			return nil, eofIsTruncated(err)
		}
		if uint64(got) == n {
			return buf, nil
		}
		next := min(n, uint64(len(buf))*2)
		buf = append(buf, make([]byte, next-uint64(len(buf)))...)
	}
}

func readU16(r io.Reader) (uint16, error) {
	var b [2]byte
	if _, err := io.ReadFull(r, b[:]); err != nil {
		return 0, eofIsTruncated(err)
	}
	return binary.BigEndian.Uint16(b[:]), nil
}
