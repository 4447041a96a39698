package wire

// KeyValuePair is the draft-14 Key-Value-Pair used for parameters and
// object extension headers. The parity of Type decides the value form:
// even types carry Value (a varint), odd types carry Bytes (length-prefixed,
// at most MaxKeyValueLength). Encoders ignore the field the parity does not
// select.
type KeyValuePair struct {
	Type  uint64
	Value uint64
	Bytes []byte
}

// IsBytes reports whether the pair carries a byte value (odd type).
func (kv KeyValuePair) IsBytes() bool { return kv.Type&1 == 1 }

// IntPair builds an even-typed pair. It does not check the parity; an odd
// type encodes as an empty byte value, so callers use the spec's constants.
func IntPair(t, v uint64) KeyValuePair { return KeyValuePair{Type: t, Value: v} }

// BytesPair builds an odd-typed pair.
func BytesPair(t uint64, b []byte) KeyValuePair { return KeyValuePair{Type: t, Bytes: b} }

func (kv KeyValuePair) wireLen() int {
	n := VarintLen(kv.Type)
	if kv.IsBytes() {
		return n + VarintLen(uint64(len(kv.Bytes))) + len(kv.Bytes)
	}
	return n + VarintLen(kv.Value)
}

func (e *encoder) kvp(kv KeyValuePair) {
	e.varint(kv.Type)
	if kv.IsBytes() {
		e.lenBytes(kv.Bytes, MaxKeyValueLength)
	} else {
		e.varint(kv.Value)
	}
}

func (d *decoder) kvp() KeyValuePair {
	kv := KeyValuePair{Type: d.varint()}
	if d.err != nil {
		return kv
	}
	if kv.IsBytes() {
		kv.Bytes = d.lenBytes(MaxKeyValueLength)
	} else {
		kv.Value = d.varint()
	}
	return kv
}

// Parameters is a counted list of key-value pairs as carried by control
// messages.
type Parameters []KeyValuePair

// Get returns the first pair of type t.
func (ps Parameters) Get(t uint64) (KeyValuePair, bool) {
	for _, p := range ps {
		if p.Type == t {
			return p, true
		}
	}
	return KeyValuePair{}, false
}

// All returns every pair of type t, for repeatable parameters such as
// AUTHORIZATION TOKEN.
func (ps Parameters) All(t uint64) []KeyValuePair {
	var out []KeyValuePair
	for _, p := range ps {
		if p.Type == t {
			out = append(out, p)
		}
	}
	return out
}

func (e *encoder) params(ps Parameters) {
	e.varint(uint64(len(ps)))
	for _, p := range ps {
		e.kvp(p)
	}
}

// params reads a counted parameter list. unique lists the known types
// that may not repeat; duplicates of unknown types are allowed, as the
// spec requires of receivers. The count is not trusted for allocation:
// every pair takes at least two bytes, which bounds the capacity.
func (d *decoder) params(unique []uint64) Parameters {
	n := d.varint()
	if d.err != nil || n == 0 {
		return nil
	}
	if n > uint64(len(d.p))/2 {
		d.fail(ErrTruncated)
		return nil
	}
	ps := make(Parameters, 0, n)
	for range n {
		kv := d.kvp()
		if d.err != nil {
			return nil
		}
		for _, u := range unique {
			if kv.Type == u {
				if _, dup := ps.Get(u); dup {
					d.fail(ErrDuplicateParameter)
					return nil
				}
			}
		}
		ps = append(ps, kv)
	}
	return ps
}

// Extensions is a block of object extension headers. On the wire it is a
// byte length followed by key-value pairs (no count).
type Extensions []KeyValuePair

// Get returns the first header of type t.
func (x Extensions) Get(t uint64) (KeyValuePair, bool) { return Parameters(x).Get(t) }

// Object extension header types defined by draft-14.
const (
	ExtImmutableExtensions uint64 = 0x0B
	ExtPriorGroupIDGap     uint64 = 0x3C
	ExtPriorObjectIDGap    uint64 = 0x3E
)

// blockLen is the encoded length of the headers, or an error if one
// cannot be encoded.
func (x Extensions) blockLen() (int, error) {
	n := 0
	for _, kv := range x {
		if kv.Type > MaxVarint || (!kv.IsBytes() && kv.Value > MaxVarint) {
			return 0, ErrVarintRange
		}
		if kv.IsBytes() && len(kv.Bytes) > MaxKeyValueLength {
			return 0, ErrTooLong
		}
		n += kv.wireLen()
	}
	return n, nil
}

// block writes Extension Headers Length then the pairs.
func (e *encoder) extBlock(x Extensions) {
	n, err := x.blockLen()
	if err != nil {
		e.fail(err)
		return
	}
	e.varint(uint64(n))
	for _, kv := range x {
		e.kvp(kv)
	}
}

// parseExtensions decodes a whole extension block. A pair that runs past
// the block is a key-value formatting error, not a truncated stream.
func parseExtensions(p []byte) (Extensions, error) {
	if len(p) == 0 {
		return nil, nil
	}
	d := decoder{p: p}
	x := make(Extensions, 0, min(len(p)/2, 16))
	for len(d.p) > 0 {
		kv := d.kvp()
		if d.err != nil {
			return nil, ErrKeyValueFormat
		}
		x = append(x, kv)
	}
	return x, nil
}

// ParseExtensions decodes the pairs of an extension block, such as the
// value of an Immutable Extensions header.
func ParseExtensions(p []byte) (Extensions, error) { return parseExtensions(p) }

// AppendExtensions appends the pairs of x without the length prefix, the
// form an Immutable Extensions header value takes.
func AppendExtensions(b []byte, x Extensions) ([]byte, error) {
	e := encoder{b: b}
	for _, kv := range x {
		e.kvp(kv)
	}
	if e.err != nil {
		return b, e.err
	}
	return e.b, nil
}
