package wire

import (
	"bytes"
	"errors"
	"io"
	"reflect"
	"testing"
)

// Every fuzz target checks the decoder never panics, and that whatever it
// accepts re-encodes to something that decodes to the same value: the
// codec must not accept input it could not itself produce.

func FuzzControlMessage(f *testing.F) {
	fuzzControl(f, Draft14, sampleMessages(&testing.T{}))
}

func FuzzSubgroupStream(f *testing.F) {
	for _, typ := range []uint64{0x10, 0x13, 0x15, 0x1D} {
		h, _ := subgroupHeaderFromType(typ)
		h.TrackAlias, h.GroupID, h.SubgroupID = 1, 2, 3
		w := NewSubgroupWriter(h)
		b, _ := w.Header.Append(nil)
		for _, o := range sampleObjects(h.Extensions) {
			b, _ = w.AppendObject(b, &o)
		}
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		r := bytes.NewReader(in)
		sh, err := ReadStreamHeader(r)
		if err != nil || sh.Subgroup == nil {
			return
		}
		lim := Limits{MaxPayload: 1 << 16, MaxExtensions: 1 << 12}
		sr := NewSubgroupReader(r, *sh.Subgroup, lim)
		w := NewSubgroupWriter(*sh.Subgroup)
		out, err := w.Header.Append(nil)
		if err != nil {
			t.Fatalf("header re-encode: %v", err)
		}
		var objs []Object
		for {
			o, err := sr.ReadObject()
			if err != nil {
				if err != io.EOF && CodeOf(err) == CodeInternalError {
					t.Fatalf("no protocol code: %v", err)
				}
				break
			}
			objs = append(objs, o)
			if out, err = w.AppendObject(out, &o); err != nil {
				t.Fatalf("re-encode %+v: %v", o, err)
			}
		}
		r2 := bytes.NewReader(out)
		sh2, err := ReadStreamHeader(r2)
		if err != nil {
			t.Fatal(err)
		}
		sr2 := NewSubgroupReader(r2, *sh2.Subgroup, lim)
		for i, want := range objs {
			got, err := sr2.ReadObject()
			if err != nil || !reflect.DeepEqual(got, want) {
				t.Fatalf("object %d: %v\n got %+v\nwant %+v", i, err, got, want)
			}
		}
	})
}

func FuzzFetchStream(f *testing.F) {
	h := FetchHeader{RequestID: 3}
	b, _ := h.Append(nil)
	for _, o := range sampleObjects(true) {
		o.GroupID = 4
		b, _ = AppendFetchObject(b, &o)
	}
	f.Add(b)
	f.Fuzz(func(t *testing.T, in []byte) {
		r := bytes.NewReader(in)
		sh, err := ReadStreamHeader(r)
		if err != nil || sh.Fetch == nil {
			return
		}
		fr := NewFetchReader(r, *sh.Fetch, Limits{MaxPayload: 1 << 16, MaxExtensions: 1 << 12})
		for {
			o, err := fr.ReadObject()
			if err != nil {
				if err != io.EOF && CodeOf(err) == CodeInternalError {
					t.Fatalf("no protocol code: %v", err)
				}
				return
			}
			out, err := AppendFetchObject(nil, &o)
			if err != nil {
				t.Fatalf("re-encode %+v: %v", o, err)
			}
			back, err := NewFetchReader(bytes.NewReader(out), FetchHeader{}, Limits{}).ReadObject()
			if err != nil || !reflect.DeepEqual(back, o) {
				t.Fatalf("round trip %v: %+v vs %+v", err, back, o)
			}
		}
	})
}

func FuzzDatagram(f *testing.F) {
	fuzzDatagram(f, Draft14, []Datagram{
		{TrackAlias: 1, Object: Object{GroupID: 2, ID: 3, Payload: []byte("p")}},
		{TrackAlias: 1, EndOfGroup: true, Object: Object{GroupID: 2, Extensions: Extensions{IntPair(2, 1)}, Payload: []byte("p")}},
		{TrackAlias: 1, Object: Object{GroupID: 2, ID: 7, Status: StatusEndOfGroup, Extensions: Extensions{BytesPair(3, []byte("x"))}}},
	})
}

func FuzzAuthToken(f *testing.F) {
	f.Add([]byte{0x01, 0x04, 0x01, 'a', 'b'})
	f.Add([]byte{0x00, 0x04})
	f.Fuzz(func(t *testing.T, in []byte) {
		tk, err := ParseAuthToken(in)
		if err != nil {
			if !errors.Is(err, ErrKeyValueFormat) {
				t.Fatalf("token error %v", err)
			}
			return
		}
		out, err := tk.Append(nil)
		if err != nil {
			t.Fatal(err)
		}
		back, err := ParseAuthToken(out)
		if err != nil || !reflect.DeepEqual(back, tk) {
			t.Fatalf("round trip %v %+v %+v", err, back, tk)
		}
	})
}
