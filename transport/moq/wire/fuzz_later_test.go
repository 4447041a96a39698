package wire

import (
	"bytes"
	"io"
	"reflect"
	"testing"
)

// Fuzz targets for drafts 16 and 18, one per version and format, with
// the property of the draft-14 ones: no panics, a protocol code on every
// rejection, and whatever decodes re-encodes to the same value.

func FuzzControlMessage16(f *testing.F) { fuzzControl(f, Draft16, laterDraftSamples(Draft16)) }
func FuzzControlMessage18(f *testing.F) { fuzzControl(f, Draft18, laterDraftSamples(Draft18)) }
func FuzzDataStream16(f *testing.F)     { fuzzDataStream(f, Draft16) }
func FuzzDataStream18(f *testing.F)     { fuzzDataStream(f, Draft18) }
func FuzzDatagram16(f *testing.F)       { fuzzDatagram(f, Draft16, laterDatagrams) }
func FuzzDatagram18(f *testing.F)       { fuzzDatagram(f, Draft18, laterDatagrams) }

// laterDatagrams seed the datagram targets of drafts 16 and 18, where a
// status datagram may omit Object ID 0 but carries no properties.
var laterDatagrams = []Datagram{
	{TrackAlias: 1, Object: Object{GroupID: 2, ID: 3, Payload: []byte("p")}},
	{TrackAlias: 1, EndOfGroup: true, Object: Object{GroupID: 2, Extensions: Extensions{IntPair(2, 1)}, Payload: []byte("p")}},
	{TrackAlias: 1, Object: Object{GroupID: 2, ID: 0, Status: StatusEndOfGroup}},
}

// fuzzControl fuzzes v's control message decoder from the given seeds.
func fuzzControl(f *testing.F, v Version, seeds []Message) {
	c, _ := CodecFor(v)
	for _, m := range seeds {
		if b, err := c.AppendMessage(nil, m); err == nil {
			f.Add(b)
		}
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		m, err := c.ReadMessage(bytes.NewReader(in), 0)
		m2, n, err2 := c.ParseMessage(in)
		if (err == nil) != (err2 == nil) {
			t.Fatalf("ReadMessage err %v, ParseMessage err %v", err, err2)
		}
		if err != nil {
			if err != io.EOF && CodeOf(err) == CodeInternalError {
				t.Fatalf("decode error without a protocol code: %v", err)
			}
			return
		}
		if !reflect.DeepEqual(m, m2) || n > len(in) {
			t.Fatalf("read/parse disagree: %#v vs %#v", m, m2)
		}
		out, err := c.AppendMessage(nil, m)
		if err != nil {
			t.Fatalf("re-encode %#v: %v", m, err)
		}
		back, _, err := c.ParseMessage(out)
		if err != nil || !reflect.DeepEqual(back, m) {
			t.Fatalf("round trip: %v\n got %#v\nwant %#v", err, back, m)
		}
	})
}

// fuzzDataStream reads a unidirectional stream (subgroup or fetch) and
// re-encodes its header and objects.
func fuzzDataStream(f *testing.F, v Version) {
	c, _ := CodecFor(v)
	for _, h := range []SubgroupHeader{
		{TrackAlias: 1, GroupID: 2, PublisherPriority: 3},
		{TrackAlias: 1, GroupID: 2, Extensions: true, EndOfGroup: true, DefaultPriority: true},
		{TrackAlias: 1, GroupID: 2, IDMode: SubgroupIDExplicit, SubgroupID: 9, Extensions: true, FirstObject: v == Draft18},
	} {
		w := c.NewSubgroupWriter(h)
		b, _ := w.AppendHeader(nil)
		for _, o := range sampleObjects(h.Extensions) {
			if o.Status != StatusDoesNotExist {
				b, _ = w.AppendObject(b, &o)
			}
		}
		f.Add(b)
	}
	b, _ := c.AppendFetchHeader(nil, &FetchHeader{RequestID: 3})
	fw := c.NewFetchWriter()
	for _, o := range []Object{{GroupID: 4, ID: 1, Payload: []byte("x"), Extensions: Extensions{IntPair(2, 1)}},
		{GroupID: 4, ID: 2, Payload: []byte("y")}, {GroupID: 6, ID: 0, Status: StatusEndOfTrack}} {
		b, _ = fw.AppendObjectHeader(b, &o)
		b = append(b, o.Payload...)
	}
	f.Add(b)
	lim := Limits{MaxPayload: 1 << 16, MaxExtensions: 1 << 12}
	f.Fuzz(func(t *testing.T, in []byte) {
		r := bytes.NewReader(in)
		sh, err := c.ReadStreamHeader(r)
		if err != nil {
			if CodeOf(err) == CodeInternalError {
				t.Fatalf("no protocol code: %v", err)
			}
			return
		}
		var (
			read  func() (Object, error)
			write func([]byte, *Object) ([]byte, error)
			out   []byte
		)
		if sh.Subgroup != nil {
			sr := c.NewSubgroupReader(r, *sh.Subgroup, lim)
			w := c.NewSubgroupWriter(*sh.Subgroup)
			read, write = sr.ReadObject, w.AppendObject
			if out, err = w.AppendHeader(nil); err != nil {
				t.Fatalf("header re-encode: %v", err)
			}
		} else {
			fr := c.NewFetchReader(r, *sh.Fetch, lim)
			fw := c.NewFetchWriter()
			read = fr.ReadObject
			write = func(b []byte, o *Object) ([]byte, error) {
				b, err := fw.AppendObjectHeader(b, o)
				return append(b, o.Payload...), err
			}
			out, _ = c.AppendFetchHeader(nil, sh.Fetch)
		}
		var objs []Object
		for {
			o, err := read()
			if err != nil {
				if err != io.EOF && CodeOf(err) == CodeInternalError {
					t.Fatalf("no protocol code: %v", err)
				}
				break
			}
			objs = append(objs, o)
			if out, err = write(out, &o); err != nil {
				t.Fatalf("re-encode %+v: %v", o, err)
			}
		}
		r2 := bytes.NewReader(out)
		sh2, err := c.ReadStreamHeader(r2)
		if err != nil {
			t.Fatal(err)
		}
		var read2 func() (Object, error)
		if sh2.Subgroup != nil {
			read2 = c.NewSubgroupReader(r2, *sh2.Subgroup, lim).ReadObject
		} else {
			read2 = c.NewFetchReader(r2, *sh2.Fetch, lim).ReadObject
		}
		for i, want := range objs {
			got, err := read2()
			if err != nil || !reflect.DeepEqual(got, want) {
				t.Fatalf("object %d: %v\n got %+v\nwant %+v", i, err, got, want)
			}
		}
	})
}

// fuzzDatagram fuzzes v's datagram decoder from the given seeds.
func fuzzDatagram(f *testing.F, v Version, seeds []Datagram) {
	c, _ := CodecFor(v)
	for _, dg := range seeds {
		b, _ := c.AppendDatagram(nil, &dg)
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		dg, err := c.ParseDatagram(in)
		if err != nil {
			if CodeOf(err) == CodeInternalError {
				t.Fatalf("no protocol code: %v", err)
			}
			return
		}
		out, err := c.AppendDatagram(nil, &dg)
		if err != nil {
			t.Fatalf("re-encode %+v: %v", dg, err)
		}
		back, err := c.ParseDatagram(out)
		if err != nil || !reflect.DeepEqual(back, dg) {
			t.Fatalf("round trip %v:\n got %+v\nwant %+v", err, back, dg)
		}
	})
}
