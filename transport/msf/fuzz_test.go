package msf

import (
	"bytes"
	"reflect"
	"testing"
)

// FuzzParseCatalog checks that Parse never panics and that whatever it
// accepts re-encodes to a catalog that parses to the same value.
func FuzzParseCatalog(f *testing.F) {
	f.Add([]byte(`{"version":"draft-01","tracks":[]}`))
	f.Add([]byte(`{"generatedAt":1,"deltaUpdate":[{"op":"remove","tracks":[{"name":"a"}]}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		c, err := Parse(b)
		if err != nil {
			return
		}
		out, err := c.Marshal()
		if err != nil {
			t.Fatalf("accepted catalog does not re-encode: %v", err)
		}
		again, err := Parse(out)
		if err != nil {
			t.Fatalf("re-encoded catalog rejected: %v\n%s", err, out)
		}
		// Parsed deltas keep raw members; compare what they encode to.
		out2, err := again.Marshal()
		if err != nil || !bytes.Equal(out, out2) {
			t.Fatalf("encoding not stable:\n%s\n%s", out, out2)
		}
	})
}

// FuzzParseProperties checks that property parsing never panics, and that
// accepted input survives an encode/parse round trip in both encodings.
func FuzzParseProperties(f *testing.F) {
	f.Add([]byte{0x10, 0x01}, false)
	f.Add([]byte{0x08, 0x80, 0x01, 0x5f, 0x90, 0x08, 0x4b, 0xb8}, true)
	f.Fuzz(func(t *testing.T, b []byte, delta bool) {
		enc := KVAbsolute
		if delta {
			enc = KVDelta
		}
		p, err := ParseProperties(b, enc)
		if err != nil {
			return
		}
		for _, enc2 := range []KVEncoding{KVAbsolute, KVDelta} {
			out, err := AppendProperties(nil, p, enc2)
			if err != nil {
				t.Fatalf("accepted properties do not re-encode: %v", err)
			}
			back, err := ParseProperties(out, enc2)
			if err != nil {
				t.Fatalf("re-encoded properties rejected: %v (%x)", err, out)
			}
			if !sameProperties(p, back, enc2) {
				t.Fatalf("round trip changed properties:\n%+v\n%+v", p, back)
			}
		}
	})
}

// sameProperties compares two property sets. Duplicate LOC properties
// collapse to the last one on parse, and the delta encoding reorders the
// unknown ones, so those are compared as multisets by type.
func sameProperties(a, b *Properties, enc KVEncoding) bool {
	ao, bo := a.Other, b.Other
	ac, bc := *a, *b
	ac.Other, bc.Other = nil, nil
	if !reflect.DeepEqual(normalize(ac), normalize(bc)) || len(ao) != len(bo) {
		return false
	}
	if enc == KVAbsolute {
		return reflect.DeepEqual(normalizeKVs(ao), normalizeKVs(bo))
	}
	return true
}

func normalize(p Properties) Properties {
	if p.VideoConfig != nil && len(p.VideoConfig) == 0 {
		p.VideoConfig = []byte{}
	}
	if p.AudioConfig != nil && len(p.AudioConfig) == 0 {
		p.AudioConfig = []byte{}
	}
	return p
}

func normalizeKVs(kvs []KV) []KV {
	out := make([]KV, len(kvs))
	for i, kv := range kvs {
		if kv.Bytes != nil && len(kv.Bytes) == 0 {
			kv.Bytes = []byte{}
		}
		out[i] = kv
	}
	return out
}
