package wire

import (
	"bytes"
	"testing"
)

func benchSubscribe() *Subscribe {
	return &Subscribe{RequestID: 42, Namespace: Namespace{"strata", "tenant-1", "session-42"}, TrackName: "video",
		SubscriberPriority: 128, GroupOrder: GroupOrderAscending, Forward: true,
		Filter: Filter{Type: FilterLargestObject}, Params: Parameters{IntPair(ParamDeliveryTimeout, 250)}}
}

func BenchmarkSubscribeEncode(b *testing.B) {
	c, _ := CodecFor(Draft14)
	m := benchSubscribe()
	buf := make([]byte, 0, 256)
	b.ReportAllocs()
	for b.Loop() {
		buf, _ = c.AppendMessage(buf[:0], m)
	}
}

func BenchmarkSubscribeDecode(b *testing.B) {
	c, _ := CodecFor(Draft14)
	enc, _ := c.AppendMessage(nil, benchSubscribe())
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := c.ParseMessage(enc); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkObjectHeaderEncode(b *testing.B) {
	w := NewSubgroupWriter(SubgroupHeader{TrackAlias: 3, GroupID: 1000, IDMode: SubgroupIDZero, Extensions: true})
	o := Object{Payload: make([]byte, 1200), Extensions: Extensions{IntPair(ExtPriorObjectIDGap, 1)}}
	buf := make([]byte, 0, 64)
	b.ReportAllocs()
	for b.Loop() {
		w.started = false
		buf, _ = w.AppendObjectHeader(buf[:0], &o)
	}
}

func BenchmarkObjectHeaderDecode(b *testing.B) {
	h := SubgroupHeader{TrackAlias: 3, GroupID: 1000, Extensions: true}
	w := NewSubgroupWriter(h)
	enc, _ := w.AppendObject(nil, &Object{Payload: make([]byte, 1200), Extensions: Extensions{IntPair(ExtPriorObjectIDGap, 1)}})
	r := bytes.NewReader(enc)
	b.SetBytes(int64(len(enc)))
	b.ReportAllocs()
	for b.Loop() {
		r.Reset(enc)
		sr := SubgroupReader{Header: h, r: r}
		if _, err := sr.ReadObject(); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSubgroupRead reads a group's objects as a viewer does, per
// version: the integer encoding and property coding are what differ.
func BenchmarkSubgroupRead(b *testing.B) {
	for _, v := range SupportedVersions() {
		b.Run(v.String(), func(b *testing.B) {
			c, _ := CodecFor(v)
			h := SubgroupHeader{TrackAlias: 3, GroupID: 1000, Extensions: true, EndOfGroup: true}
			w := c.NewSubgroupWriter(h)
			enc, _ := w.AppendHeader(nil)
			for id := range uint64(60) {
				o := Object{ID: id, Payload: make([]byte, 5200),
					Extensions: Extensions{IntPair(0x06, 1700000000000000+id), IntPair(0x08, 1000000)}}
				enc, _ = w.AppendObject(enc, &o)
			}
			r := bytes.NewReader(enc)
			b.SetBytes(int64(len(enc)))
			b.ReportAllocs()
			for b.Loop() {
				r.Reset(enc)
				sh, err := c.ReadStreamHeader(r)
				if err != nil {
					b.Fatal(err)
				}
				sr := c.NewSubgroupReader(r, *sh.Subgroup, Limits{})
				for range 60 {
					if _, err := sr.ReadObject(); err != nil {
						b.Fatal(err)
					}
				}
			}
		})
	}
}
