package wire

import (
	"cmp"
	"errors"
	"slices"
)

// From draft 16, Key-Value-Pairs (parameters, setup options, properties)
// carry each Type as a delta from the previous one, so a block is written
// in ascending type order; values keep the draft-14 parity rule.

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

func cmpKVP(a, b KeyValuePair) int { return cmp.Compare(a.Type, b.Type) }

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
func parseKVPs(p []byte, f dialect, delta bool) (Parameters, error) {
	if len(p) == 0 {
		return nil, nil
	}
	d := decoder{p: p, f: f}
	x := make(Parameters, 0, min(len(p)/2, 16))
	prev := uint64(0)
	for len(d.p) > 0 {
		var kv KeyValuePair
		if delta {
			kv = d.deltaKVP(&prev)
		} else {
			kv = d.kvp()
		}
		if errors.Is(d.err, ErrMalformed) {
			return nil, d.err
		}
		if d.err != nil {
			return nil, ErrKeyValueFormat
		}
		x = append(x, kv)
	}
	return x, nil
}

// deltaKVP reads one pair whose type is a delta from *prev, which it
// advances; the absolute type's parity decides the value's form.
func (d *decoder) deltaKVP(prev *uint64) KeyValuePair {
	delta := d.varint()
	if d.err != nil {
		return KeyValuePair{}
	}
	if delta > ^uint64(0)-*prev {
		d.fail(ErrMalformed) // the spec's PROTOCOL_VIOLATION
		return KeyValuePair{}
	}
	*prev += delta
	kv := KeyValuePair{Type: *prev}
	if kv.IsBytes() {
		kv.Bytes = d.lenBytes(MaxKeyValueLength)
	} else {
		kv.Value = d.varint()
	}
	return kv
}

// parseExtensionsFormat decodes an extension (property) block of the
// format's version.
//
// A nested Immutable Extensions block is converted to draft-14 form, the
// form Extensions values hold whatever the version.
func parseExtensionsFormat(p []byte, f dialect) (Extensions, error) {
	if !f.deltaKVP() {
		return parseExtensions(p)
	}
	ps, err := parseKVPs(p, f, true)
	if err != nil {
		return nil, err
	}
	for i, kv := range ps {
		if kv.Type == ExtImmutableExtensions {
			inner, err := parseExtensionsFormat(kv.Bytes, f)
			if err != nil {
				return nil, err
			}
			if ps[i].Bytes, err = AppendExtensions(nil, inner); err != nil {
				return nil, err
			}
		}
	}
	return Extensions(ps), nil
}

// immutableFor re-encodes the draft-14 Immutable Extensions values of x
// in format f, copying x only if it has one.
func immutableFor(x Extensions, f dialect) (Extensions, error) {
	out := x
	for i, kv := range x {
		if kv.Type != ExtImmutableExtensions {
			continue
		}
		if &out[0] == &x[0] {
			out = slices.Clone(x)
		}
		inner, err := parseExtensions(kv.Bytes)
		if err != nil {
			return nil, err
		}
		ie := encoder{f: f}
		ie.kvps(sortedKVP(inner))
		if ie.err != nil {
			return nil, ie.err
		}
		out[i].Bytes = ie.b
	}
	return out, nil
}

// extBlockFor writes Extension Headers Length (draft 18: Properties
// Length) and the pairs in the encoder's format.
func (e *encoder) extBlockFor(x Extensions) {
	if !e.f.deltaKVP() {
		e.extBlock(x)
		return
	}
	x, err := immutableFor(x, e.f)
	if err != nil {
		e.fail(err)
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

// props writes Track Properties: pairs to the end of the message.
func (e *encoder) props(x Extensions) { e.kvps(sortedKVP(x)) }

// trackProps reads Track Properties: the rest of the message.
func (d *decoder) trackProps() Extensions {
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
	if !formatOf(v).deltaKVP() {
		return AppendExtensions(b, x)
	}
	x, err := immutableFor(x, formatOf(v))
	if err != nil {
		return b, err
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

// TranscodeExtensions appends the draft-14 extension pairs src (no
// length prefix) in v's encoding. It allocates nothing when the types
// ascend, as they do in blocks Strata writes; a nested Immutable
// Extensions block is re-encoded too.
func TranscodeExtensions(dst, src []byte, v Version) ([]byte, error) {
	f := formatOf(v)
	if !f.deltaKVP() {
		return append(dst, src...), nil
	}
	d := decoder{p: src}
	e := encoder{b: dst, f: f}
	prev := uint64(0)
	for len(d.p) > 0 && e.err == nil {
		kv := d.kvp()
		if d.err != nil {
			return dst, ErrKeyValueFormat
		}
		if kv.Type < prev {
			x, err := ParseExtensions(src)
			if err != nil {
				return dst, err
			}
			return AppendExtensionsFor(dst, x, v)
		}
		e.varint(kv.Type - prev)
		prev = kv.Type
		switch {
		case kv.Type == ExtImmutableExtensions:
			inner, err := TranscodeExtensions(nil, kv.Bytes, v)
			if err != nil {
				return dst, err
			}
			e.lenBytes(inner, MaxKeyValueLength)
		case kv.IsBytes():
			e.lenBytes(kv.Bytes, MaxKeyValueLength)
		default:
			e.varint(kv.Value)
		}
	}
	if e.err != nil {
		return dst, e.err
	}
	return e.b, nil
}
