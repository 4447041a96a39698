package wire

import "slices"

// Draft-18 Key-Value-Pairs (Setup Options and Properties) carry each
// Type as a delta from the previous one, so a block is written in
// ascending type order; values keep the draft-14 parity rule.

// sortedKVP returns the pairs ordered by type, keeping the order of
// equal types (repeatable ones such as AUTHORIZATION TOKEN).
func sortedKVP[T ~[]KeyValuePair](x T) T {
	if slices.IsSortedFunc(x, cmpKVP) {
		return x
	}
	out := slices.Clone(x)
	slices.SortStableFunc(out, cmpKVP)
	return out
}

func cmpKVP(a, b KeyValuePair) int {
	switch {
	case a.Type < b.Type:
		return -1
	case a.Type > b.Type:
		return 1
	}
	return 0
}

// kvps writes delta-typed pairs, which must be in ascending order.
func (e *encoder) kvps(x []KeyValuePair) {
	prev := uint64(0)
	for _, kv := range x {
		if kv.Type < prev {
			e.fail(ErrKeyValueFormat)
			return
		}
		e.varint(kv.Type - prev)
		prev = kv.Type
		if kv.IsBytes() {
			e.lenBytes(kv.Bytes, MaxKeyValueLength)
		} else {
			e.varint(kv.Value)
		}
	}
}

// parseKVPs decodes a whole block of pairs in format f; delta says the
// types are delta-coded (draft 18).
func parseKVPs(p []byte, f intFormat, delta bool) (Parameters, error) {
	if len(p) == 0 {
		return nil, nil
	}
	d := decoder{p: p, f: f}
	x := make(Parameters, 0, min(len(p)/2, 16))
	prev := uint64(0)
	for len(d.p) > 0 {
		t := d.varint()
		if delta {
			if d.err == nil && t > ^uint64(0)-prev {
				return nil, ErrMalformed
			}
			t += prev
			prev = t
		}
		kv := KeyValuePair{Type: t}
		if kv.IsBytes() {
			kv.Bytes = d.lenBytes(MaxKeyValueLength)
		} else {
			kv.Value = d.varint()
		}
		if d.err != nil {
			return nil, ErrKeyValueFormat
		}
		x = append(x, kv)
	}
	return x, nil
}

// parseExtensionsFormat decodes an extension (property) block of the
// format's version.
func parseExtensionsFormat(p []byte, f intFormat) (Extensions, error) {
	if f == fmtQUIC {
		return parseExtensions(p)
	}
	ps, err := parseKVPs(p, f, true)
	return Extensions(ps), err
}

// extBlockFor writes Extension Headers Length (draft 18: Properties
// Length) and the pairs in the encoder's format.
func (e *encoder) extBlockFor(x Extensions) {
	if e.f == fmtQUIC {
		e.extBlock(x)
		return
	}
	inner := encoder{f: e.f}
	inner.kvps(sortedKVP(x))
	if inner.err != nil {
		e.fail(inner.err)
		return
	}
	e.varint(uint64(len(inner.b)))
	if e.err == nil {
		e.b = append(e.b, inner.b...)
	}
}

// props18 writes Track Properties: pairs to the end of the message.
func (e *encoder) props18(x Extensions) { e.kvps(sortedKVP(x)) }

// trackProps18 reads Track Properties: the rest of the message.
func (d *decoder) trackProps18() Extensions {
	x, err := parseKVPs(d.rest(), d.f, true)
	if err != nil {
		d.fail(err)
	}
	return Extensions(x)
}

// AppendExtensionsFor appends the pairs of x, without a length prefix, in
// v's encoding: a relay holds extensions in draft-14 form
// (AppendExtensions) and re-encodes them for sessions of other versions.
func AppendExtensionsFor(b []byte, x Extensions, v Version) ([]byte, error) {
	if formatOf(v) == fmtQUIC {
		return AppendExtensions(b, x)
	}
	e := encoder{b: b, f: formatOf(v)}
	e.kvps(sortedKVP(x))
	if e.err != nil {
		return b, e.err
	}
	return e.b, nil
}

// ParseExtensionsFor decodes the pairs of an extension block of v.
func ParseExtensionsFor(p []byte, v Version) (Extensions, error) {
	return parseExtensionsFormat(p, formatOf(v))
}
