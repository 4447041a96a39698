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
