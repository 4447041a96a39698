package gossip

import (
	"encoding/binary"
	"errors"
	"math"
)

// enc appends the primitive values of Strata's compact gossip encodings:
// uvarints, zigzag varints, length-prefixed strings and float32s. It is
// deliberately tiny; no reflection, no gob.
type enc struct{ b []byte }

func (e *enc) u8(v byte)        { e.b = append(e.b, v) }
func (e *enc) uvarint(v uint64) { e.b = binary.AppendUvarint(e.b, v) }
func (e *enc) varint(v int64)   { e.b = binary.AppendVarint(e.b, v) }
func (e *enc) u64(v uint64)     { e.b = binary.BigEndian.AppendUint64(e.b, v) }
func (e *enc) f32(v float32)    { e.b = binary.BigEndian.AppendUint32(e.b, math.Float32bits(v)) }
func (e *enc) bytes(v []byte)   { e.uvarint(uint64(len(v))); e.b = append(e.b, v...) }
func (e *enc) str(v string)     { e.uvarint(uint64(len(v))); e.b = append(e.b, v...) }

var errShort = errors.New("truncated")

// dec reads what enc wrote. Every read is bounded by the remaining input;
// the first failure sticks in err and later reads return zero values, so
// decoders check err once at the end.
type dec struct {
	b   []byte
	err error
}

func (d *dec) fail(err error) {
	if d.err == nil {
		d.err = err
	}
	d.b = nil
}

func (d *dec) u8() byte {
	if len(d.b) < 1 {
		d.fail(errShort)
		return 0
	}
	v := d.b[0]
	d.b = d.b[1:]
	return v
}

func (d *dec) uvarint() uint64 {
	v, n := binary.Uvarint(d.b)
	if n <= 0 {
		d.fail(errShort)
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *dec) varint() int64 {
	v, n := binary.Varint(d.b)
	if n <= 0 {
		d.fail(errShort)
		return 0
	}
	d.b = d.b[n:]
	return v
}

func (d *dec) u64() uint64 {
	if len(d.b) < 8 {
		d.fail(errShort)
		return 0
	}
	v := binary.BigEndian.Uint64(d.b)
	d.b = d.b[8:]
	return v
}

func (d *dec) f32() float32 {
	if len(d.b) < 4 {
		d.fail(errShort)
		return 0
	}
	v := math.Float32frombits(binary.BigEndian.Uint32(d.b))
	d.b = d.b[4:]
	return v
}

// raw returns a length-prefixed byte slice (aliasing the input) of at most
// max bytes.
func (d *dec) raw(max int) []byte {
	n := d.uvarint()
	if d.err != nil {
		return nil
	}
	if n > uint64(max) || n > uint64(len(d.b)) {
		d.fail(errShort)
		return nil
	}
	v := d.b[:n]
	d.b = d.b[n:]
	return v
}

func (d *dec) str(max int) string { return string(d.raw(max)) }
