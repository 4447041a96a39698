package wire

import (
	"bytes"
	"encoding/hex"
	"reflect"
	"testing"
)

// TestVi64Vectors uses the example encodings of draft 18's integer table.
func TestVi64Vectors(t *testing.T) {
	for _, c := range []struct {
		hex     string
		v       uint64
		minimal bool
	}{
		{"25", 37, true}, {"8025", 37, false}, {"bbbd", 15293, true}, {"ed7f3e7d", 226442877, true},
		{"faa1a0e403d8", 2893212287960, true}, {"fc8998abc66bc0", 151288809941952, true},
		{"fefa318fa8e3ca11", 70423237261249041, true}, {"ffffffffffffffffff", 1<<64 - 1, true},
	} {
		b, _ := hex.DecodeString(c.hex)
		v, n, err := ParseVi64(b)
		if err != nil || v != c.v || n != len(b) {
			t.Errorf("parse %s: %d %d %v", c.hex, v, n, err)
		}
		if r, err := ReadVi64(bytes.NewReader(b)); err != nil || r != c.v {
			t.Errorf("read %s: %d %v", c.hex, r, err)
		}
		if c.minimal && !bytes.Equal(AppendVi64(nil, c.v), b) {
			t.Errorf("append %d: %x, want %s", c.v, AppendVi64(nil, c.v), c.hex)
		}
	}
}

// TestDraft18Vectors checks encodings built by hand from draft 18's
// layouts.
func TestDraft18Vectors(t *testing.T) {
	tok, _ := AuthToken{AliasType: AliasUseValue, Value: []byte("t")}.Param()
	checkVectors(t, Draft18, []vector{
		// SETUP 0x2F00 (vi64 af00), length 9: PATH (type delta 1) "/a",
		// then AUTHORIZATION TOKEN (delta 2): USE_VALUE, type 0, "t".
		{"setup", &Setup{Params: Parameters{BytesPair(SetupParamPath, []byte("/a")), tok}},
			"af00" + "0009" + "01022f61" + "02" + "03" + "030074"},
		// SUBSCRIBE: id 2, ns ("a"), name "b", params FORWARD=1 (0x10),
		// SUBSCRIBER_PRIORITY=7 (delta 0x10), SUBSCRIPTION_FILTER
		// LargestObject (delta 1, length 1, 0x02).
		{"subscribe", &Subscribe{RequestID: 2, Namespace: Namespace{"a"}, TrackName: "b", Forward: true,
			SubscriberPriority: 7, GroupOrder: GroupOrderPublisher, Filter: Filter{Type: FilterLargestObject}},
			"03" + "000e" + "02" + "010161" + "0162" + "03" + "1001" + "1007" + "010102"},
		// SUBSCRIBE_OK: alias 9, LARGEST_OBJECT {5,3} (type 9), no
		// properties (ascending order is the default).
		{"subscribe_ok", &SubscribeOK{TrackAlias: 9, GroupOrder: GroupOrderAscending, ContentExists: true, Largest: Location{5, 3}},
			"04" + "0005" + "09" + "01" + "09" + "0503"},
		// REQUEST_ERROR for SUBSCRIBE: TRACK_DOES_NOT_EXIST maps to
		// DOES_NOT_EXIST 0x10, retry 0, reason "x".
		{"subscribe_error", &SubscribeError{RequestID: 2, ErrorCode: SubscribeErrTrackDoesNotExist, Reason: "x"},
			"05" + "0004" + "10" + "00" + "0178"},
		// PUBLISH_DONE: TRACK_ENDED, 1 stream, no reason.
		{"publish_done", &PublishDone{RequestID: 2, StatusCode: PublishDoneTrackEnded, StreamCount: 1},
			"0b" + "0003" + "020100"},
		// PUBLISH_NAMESPACE_OK is an empty REQUEST_OK.
		{"publish_namespace_ok", &PublishNamespaceOK{RequestID: 4}, "07" + "0001" + "00"},
		// GOAWAY with timeout 0 and request ID 2.
		{"goaway", &GoAway{RequestID: 2, HasRequestID: true}, "10" + "0003" + "000002"},
	})
}

// TestDraft18RoundTrip decodes what the encoder wrote for requests whose
// Go type survives the trip.
func TestDraft18RoundTrip(t *testing.T) {
	c, _ := CodecFor(Draft18)
	tok, _ := AuthToken{AliasType: AliasUseValue, Value: []byte("jwt")}.Param()
	for _, m := range []Message{
		&Subscribe{RequestID: 4, Namespace: Namespace{"strata", "t", "s"}, TrackName: "video", Forward: true,
			SubscriberPriority: 3, GroupOrder: GroupOrderDescending,
			Filter: Filter{Type: FilterAbsoluteRange, Start: Location{7, 1}, EndGroup: 9}, Params: Parameters{tok}},
		&Publish{RequestID: 1, Namespace: Namespace{"a"}, TrackName: "b", TrackAlias: 3, GroupOrder: GroupOrderDescending,
			ContentExists: true, Largest: Location{2, 4}, Forward: true, Params: Parameters{tok}},
		&PublishNamespace{RequestID: 6, Namespace: Namespace{"a", "b"}, Params: Parameters{tok}},
		&Fetch{RequestID: 8, SubscriberPriority: 1, GroupOrder: GroupOrderAscending, FetchType: FetchStandalone,
			Namespace: Namespace{"a"}, TrackName: "b", Start: Location{1, 0}, End: Location{3, 0}},
		&Setup{Params: Parameters{BytesPair(SetupParamPath, []byte("/x?jwt=1")), tok}},
	} {
		b, err := c.AppendMessage(nil, m)
		if err != nil {
			t.Fatalf("%v: %v", m.Type(), err)
		}
		got, n, err := c.ParseMessage(b)
		if err != nil || n != len(b) || !reflect.DeepEqual(got, m) {
			t.Fatalf("%v: n=%d err=%v\n got %#v\nwant %#v", m.Type(), n, err, got, m)
		}
	}
}

// TestDraft18DataStreams round-trips a subgroup stream and datagrams with
// properties, whose types are delta coded.
func TestDraft18DataStreams(t *testing.T) {
	c, _ := CodecFor(Draft18)
	h := SubgroupHeader{TrackAlias: 1, GroupID: 200, PublisherPriority: 5, Extensions: true, EndOfGroup: true}
	w := c.NewSubgroupWriter(h)
	b, err := w.AppendHeader(nil)
	if err != nil {
		t.Fatal(err)
	}
	if b[0] != 0x19 {
		t.Fatalf("header type 0x%x", b[0])
	}
	immutable, _ := AppendExtensions(nil, Extensions{IntPair(0x04, 1), IntPair(0x10, 5)})
	objs := []Object{
		{ID: 0, Extensions: Extensions{IntPair(0x3C, 1), BytesPair(0x0B, immutable), IntPair(0x06, 1000)}, Payload: []byte("k")},
		{ID: 1, Payload: []byte("d")},
		{ID: 4, Status: StatusEndOfGroup},
	}
	for i := range objs {
		if b, err = w.AppendObject(b, &objs[i]); err != nil {
			t.Fatal(err)
		}
	}
	sh, err := c.ReadStreamHeader(bytes.NewReader(b))
	if err != nil || sh.Subgroup == nil || sh.Subgroup.GroupID != 200 {
		t.Fatalf("header %+v %v", sh, err)
	}
	r := bytes.NewReader(b)
	_, _ = c.ReadStreamHeader(r)
	sr := c.NewSubgroupReader(r, *sh.Subgroup, Limits{})
	for i, want := range objs {
		o, err := sr.ReadObject()
		if err != nil || o.ID != want.ID || !bytes.Equal(o.Payload, want.Payload) || o.Status != want.Status {
			t.Fatalf("object %d: %+v %v", i, o, err)
		}
		if i == 0 {
			// Properties come back sorted by type.
			if len(o.Extensions) != 3 || o.Extensions[0].Type != 0x06 || o.Extensions[2].Type != 0x3C {
				t.Fatalf("properties %+v", o.Extensions)
			}
			// The nested block comes back in draft-14 form (as sent).
			if kv, _ := o.Extensions.Get(0x0B); !bytes.Equal(kv.Bytes, immutable) {
				t.Fatalf("immutable properties %x, want %x", kv.Bytes, immutable)
			}
		}
	}
	dg := Datagram{TrackAlias: 2, Object: Object{GroupID: 3, ID: 0, PublisherPriority: 1, Status: StatusEndOfTrack}}
	db, err := c.AppendDatagram(nil, &dg)
	if err != nil || db[0] != 0x24 {
		t.Fatalf("status datagram %x %v", db, err)
	}
	got, err := c.ParseDatagram(db)
	if err != nil || !reflect.DeepEqual(got, dg) {
		t.Fatalf("datagram %+v %v", got, err)
	}
}

// TestTranscodeExtensions: the relay's fast re-encoding of held
// extensions matches the general path, sorted or not.
func TestTranscodeExtensions(t *testing.T) {
	immutable, _ := AppendExtensions(nil, Extensions{IntPair(0x10, 5)})
	for _, x := range []Extensions{
		{IntPair(0x06, 1700000000000000), IntPair(0x08, 1000000)},
		{IntPair(0x3C, 1), IntPair(0x06, 2), BytesPair(0x0B, immutable)},
	} {
		src, _ := AppendExtensions(nil, x)
		for _, v := range []Version{Draft14, Draft16, Draft18} {
			got, err := TranscodeExtensions(nil, src, v)
			if err != nil {
				t.Fatal(err)
			}
			want, _ := AppendExtensionsFor(nil, x, v)
			if !bytes.Equal(got, want) {
				t.Fatalf("%v: %x, want %x", v, got, want)
			}
			back, err := ParseExtensionsFor(got, v)
			if err != nil || len(back) != len(x) {
				t.Fatalf("%v: parse back %+v %v", v, back, err)
			}
		}
	}
	buf, src := make([]byte, 0, 64), []byte{0x06, 0x05, 0x08, 0x01}
	if n := testing.AllocsPerRun(100, func() {
		buf, _ = TranscodeExtensions(buf[:0], src, Draft18)
	}); n != 0 {
		t.Fatalf("%v allocations", n)
	}
}
