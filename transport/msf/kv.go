package msf

import (
	"fmt"
	"slices"
)

// KV is one MoQ key-value pair (an object property / extension header).
// An even Type carries Value, an odd Type carries Bytes.
type KV struct {
	Type  uint64
	Value uint64
	Bytes []byte
}

// KVEncoding selects how pair types are written: MoQ transport draft 14
// writes each type as is, later drafts write each as a delta from the
// previous one (which requires ascending types).
type KVEncoding uint8

// Key-value encodings by transport draft.
const (
	KVAbsolute KVEncoding = iota // draft-ietf-moq-transport-14
	KVDelta                      // draft-ietf-moq-transport-16 and later
)

// MaxKVValueLen is the transport's limit on a byte value.
const MaxKVValueLen = 1<<16 - 1

// MaxKVs bounds how many pairs ParseKVs accepts, so hostile input cannot
// make it allocate without limit.
const MaxKVs = 256

// AppendKVs appends the serialized pairs to dst. With KVDelta the pairs are
// written in ascending type order.
func AppendKVs(dst []byte, kvs []KV, enc KVEncoding) ([]byte, error) {
	if enc == KVDelta && !slices.IsSortedFunc(kvs, cmpKV) {
		kvs = slices.Clone(kvs)
		slices.SortStableFunc(kvs, cmpKV)
	}
	var prev uint64
	var err error
	for i, kv := range kvs {
		t := kv.Type
		if enc == KVDelta {
			t -= prev
			prev = kv.Type
		}
		if dst, err = appendVarint(dst, t); err != nil {
			return dst, fmt.Errorf("property %d type: %w", i, err)
		}
		if kv.Type%2 == 0 {
			if dst, err = appendVarint(dst, kv.Value); err != nil {
				return dst, fmt.Errorf("property 0x%x value: %w", kv.Type, err)
			}
			continue
		}
		if len(kv.Bytes) > MaxKVValueLen {
			return dst, fmt.Errorf("property 0x%x: %w: %d bytes", kv.Type, ErrTooLarge, len(kv.Bytes))
		}
		dst, _ = appendVarint(dst, uint64(len(kv.Bytes)))
		dst = append(dst, kv.Bytes...)
	}
	return dst, nil
}

func cmpKV(a, b KV) int {
	switch {
	case a.Type < b.Type:
		return -1
	case a.Type > b.Type:
		return 1
	}
	return 0
}

// ParseKVs parses a complete sequence of pairs. Byte values alias b.
func ParseKVs(b []byte, enc KVEncoding) ([]KV, error) {
	var out []KV
	var prev uint64
	for off := 0; off < len(b); {
		if len(out) == MaxKVs {
			return nil, fmt.Errorf("%w: more than %d properties", ErrTooLarge, MaxKVs)
		}
		t, n, err := readVarint(b[off:])
		if err != nil {
			return nil, fmt.Errorf("property type at %d: %w", off, err)
		}
		off += n
		if enc == KVDelta {
			if t > MaxVarint-prev {
				return nil, fmt.Errorf("%w: property type delta overflows at %d", ErrMalformed, off)
			}
			t += prev
			prev = t
		}
		kv := KV{Type: t}
		v, n, err := readVarint(b[off:])
		if err != nil {
			return nil, fmt.Errorf("property 0x%x: %w", t, err)
		}
		off += n
		if t%2 == 0 {
			kv.Value = v
		} else {
			if v > MaxKVValueLen {
				return nil, fmt.Errorf("property 0x%x: %w: length %d", t, ErrTooLarge, v)
			}
			if v > uint64(len(b)-off) {
				return nil, fmt.Errorf("property 0x%x: %w: length %d past end", t, ErrMalformed, v)
			}
			kv.Bytes = b[off : off+int(v) : off+int(v)]
			off += int(v)
		}
		out = append(out, kv)
	}
	return out, nil
}
