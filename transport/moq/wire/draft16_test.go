package wire

import (
	"bytes"
	"encoding/hex"
	"reflect"
	"testing"
)

// TestDraft16Vectors checks encodings built by hand from draft 16's
// layouts (QUIC varints, delta-typed Key-Value-Pairs).
func TestDraft16Vectors(t *testing.T) {
	tok, _ := AuthToken{AliasType: AliasUseValue, Value: []byte("t")}.Param()
	checkVectors(t, Draft16, []vector{
		// CLIENT_SETUP: no versions; 2 parameters: MAX_REQUEST_ID (2) = 5,
		// then AUTHORIZATION TOKEN (delta 1): USE_VALUE, type 0, "t".
		{"client_setup", &ClientSetup{Params: Parameters{tok, IntPair(SetupParamMaxRequestID, 5)}},
			"20" + "0008" + "02" + "0205" + "01" + "03030074"},
		// SUBSCRIBE: id 0, ns ("a"), name "b", FORWARD (0x10) = 1,
		// SUBSCRIBER_PRIORITY (delta 0x10) = 7, SUBSCRIPTION_FILTER
		// (delta 1, odd: length 1) LargestObject.
		{"subscribe", &Subscribe{Namespace: Namespace{"a"}, TrackName: "b", Forward: true, SubscriberPriority: 7,
			Filter: Filter{Type: FilterLargestObject}},
			"03" + "000e" + "00" + "010161" + "0162" + "03" + "1001" + "1007" + "010102"},
		// SUBSCRIBE_OK: id 0, alias 9, LARGEST_OBJECT (9, odd: length 2)
		// {5,3}, no extensions.
		{"subscribe_ok", &SubscribeOK{TrackAlias: 9, GroupOrder: GroupOrderAscending, ContentExists: true, Largest: Location{5, 3}},
			"04" + "0007" + "00" + "09" + "01" + "09020503"},
		// REQUEST_ERROR for a PUBLISH_NAMESPACE: id 2, UNINTERESTED 0x20,
		// retry 0, no reason.
		{"namespace_error", &PublishNamespaceError{RequestID: 2, ErrorCode: NamespaceErrUninterested},
			"05" + "0004" + "02" + "20" + "00" + "00"},
		// REQUEST_OK for a PUBLISH_NAMESPACE: id 2, no parameters.
		{"namespace_ok", &PublishNamespaceOK{RequestID: 2}, "07" + "0002" + "0200"},
		// PUBLISH_NAMESPACE_DONE names the request.
		{"namespace_done", &PublishNamespaceDone{Namespace: Namespace{"a"}, RequestID: 2}, "09" + "0001" + "02"},
		// PUBLISH_DONE: MALFORMED_TRACK renumbered to 0x12.
		{"publish_done", &PublishDone{RequestID: 1, StatusCode: PublishDoneMalformedTrack, StreamCount: 2},
			"0b" + "0004" + "01" + "12" + "02" + "00"},
		// UNSUBSCRIBE keeps draft 14's layout.
		{"unsubscribe", &Unsubscribe{RequestID: 4}, "0a" + "0001" + "04"},
	})
}

// laterDraftSamples are messages of draft 16 or 18 whose Go value
// survives an encode and decode.
func laterDraftSamples(v Version) []Message {
	tok, _ := AuthToken{AliasType: AliasUseValue, Value: []byte("jwt")}.Param()
	msgs := []Message{
		&Subscribe{RequestID: 4, Namespace: Namespace{"strata", "t", "s"}, TrackName: "video", Forward: true,
			SubscriberPriority: 3, GroupOrder: GroupOrderDescending,
			Filter: Filter{Type: FilterAbsoluteRange, Start: Location{7, 1}, EndGroup: 9}, Params: Parameters{tok}},
		&SubscribeOK{TrackAlias: 2, Expires: 10, GroupOrder: GroupOrderDescending, ContentExists: true, Largest: Location{1, 2}},
		&Publish{RequestID: 1, Namespace: Namespace{"a"}, TrackName: "b", TrackAlias: 3, GroupOrder: GroupOrderDescending,
			ContentExists: true, Largest: Location{2, 4}, Forward: true, Params: Parameters{tok}},
		&PublishNamespace{RequestID: 6, Namespace: Namespace{"a", "b"}, Params: Parameters{tok}},
		&Fetch{RequestID: 8, SubscriberPriority: 1, GroupOrder: GroupOrderAscending, FetchType: FetchStandalone,
			Namespace: Namespace{"a"}, TrackName: "b", Start: Location{1, 0}, End: Location{3, 0}},
		&FetchOK{EndOfTrack: true, End: Location{3, 1}, GroupOrder: GroupOrderAscending},
		&PublishDone{StatusCode: PublishDoneTooFarBehind, StreamCount: 3, Reason: "slow"},
		&RequestErrorMsg{ErrorCode: 0x10, RetryInterval: 5, Reason: "no"},
	}
	if v == Draft16 {
		return append(msgs,
			&ClientSetup{Params: Parameters{IntPair(SetupParamMaxRequestID, 9), tok}},
			&PublishOK{RequestID: 3, Forward: true, SubscriberPriority: 2, GroupOrder: GroupOrderAscending,
				Filter: Filter{Type: FilterAbsoluteStart, Start: Location{4, 0}}},
			&SubscribeUpdate{RequestID: 6, SubscriptionRequestID: 4, Start: Location{2, 0}, EndGroup: 8,
				SubscriberPriority: 9, Forward: true},
			&PublishNamespaceCancel{RequestID: 2, ErrorCode: 1, Reason: "x"},
			&SubscribeNamespace{RequestID: 2, Prefix: Namespace{}, Options: 1},
			&MaxRequestID{RequestID: 10})
	}
	return append(msgs,
		&Setup{Params: Parameters{BytesPair(SetupParamPath, []byte("/x?jwt=1")), tok}},
		&SubscribeUpdate{RequestID: 6, Start: Location{2, 0}, EndGroup: 8, SubscriberPriority: 9, Forward: true},
		&GoAway{NewSessionURI: "https://x", Timeout: 5, RequestID: 4, HasRequestID: true},
		&SubscribeNamespace{RequestID: 2, Prefix: Namespace{}},
		&RequestOK{Largest: &Location{1, 1}, Properties: Extensions{IntPair(0x30, 1)}})
}

// TestLaterDraftsRoundTrip decodes what the encoders of drafts 16 and 18
// wrote.
func TestLaterDraftsRoundTrip(t *testing.T) {
	for _, v := range []Version{Draft16, Draft18} {
		c, _ := CodecFor(v)
		for _, m := range laterDraftSamples(v) {
			b, err := c.AppendMessage(nil, m)
			if err != nil {
				t.Fatalf("%v %v: %v", v, m.Type(), err)
			}
			got, n, err := c.ParseMessage(b)
			if err != nil || n != len(b) || !reflect.DeepEqual(got, m) {
				t.Fatalf("%v %v: n=%d err=%v\n got %#v\nwant %#v", v, m.Type(), n, err, got, m)
			}
		}
	}
}

// TestDraft16DataStreams: draft 16 has the optional-priority subgroup
// types but not FIRST_OBJECT, and QUIC varints.
func TestDraft16DataStreams(t *testing.T) {
	c, _ := CodecFor(Draft16)
	h := SubgroupHeader{TrackAlias: 1, GroupID: 200, DefaultPriority: true, Extensions: true}
	b, err := c.NewSubgroupWriter(h).AppendHeader(nil)
	if err != nil || b[0] != 0x31 {
		t.Fatalf("header %x %v", b, err)
	}
	sh, err := c.ReadStreamHeader(bytes.NewReader(b))
	if err != nil || sh.Subgroup.PublisherPriority != DefaultPublisherPriority || sh.Subgroup.GroupID != 200 {
		t.Fatalf("read %+v %v", sh.Subgroup, err)
	}
	if _, err := c.ReadStreamHeader(bytes.NewReader([]byte{0x50, 1, 1})); err == nil {
		t.Fatal("draft 16 accepted a FIRST_OBJECT subgroup type")
	}
	if _, err := c.NewSubgroupWriter(SubgroupHeader{FirstObject: true}).AppendHeader(nil); err == nil {
		t.Fatal("draft 16 wrote FIRST_OBJECT")
	}
}

// TestFetchStreamsLaterDrafts round-trips fetch objects, which drafts 16
// and 18 code against the previous object.
func TestFetchStreamsLaterDrafts(t *testing.T) {
	objs := []Object{
		{GroupID: 1, ID: 4, Status: StatusEndOfGroup},
		{GroupID: 3, SubgroupID: 0, ID: 0, PublisherPriority: 4, Payload: []byte("a")},
		{GroupID: 3, SubgroupID: 0, ID: 1, PublisherPriority: 4, Payload: []byte("b"),
			Extensions: Extensions{IntPair(0x3C, 2)}},
		{GroupID: 3, SubgroupID: 1, ID: 5, PublisherPriority: 6, Payload: []byte("c")},
		{GroupID: 7, SubgroupID: 1, ID: 0, PublisherPriority: 6, Payload: []byte("d")},
	}
	for _, v := range []Version{Draft14, Draft16, Draft18} {
		c, _ := CodecFor(v)
		objs := objs
		if v == Draft14 {
			objs = objs[1:] // draft 14 has no end-of-range markers
		}
		b, err := c.AppendFetchHeader(nil, &FetchHeader{RequestID: 2})
		if err != nil {
			t.Fatal(err)
		}
		w := c.NewFetchWriter()
		for i := range objs {
			if b, err = w.AppendObjectHeader(b, &objs[i]); err != nil {
				t.Fatalf("%v: %v", v, err)
			}
			b = append(b, objs[i].Payload...)
		}
		r := bytes.NewReader(b)
		sh, err := c.ReadStreamHeader(r)
		if err != nil || sh.Fetch == nil || sh.Fetch.RequestID != 2 {
			t.Fatalf("%v: header %+v %v", v, sh, err)
		}
		fr := c.NewFetchReader(r, *sh.Fetch, Limits{})
		for i, want := range objs {
			got, err := fr.ReadObject()
			if err != nil || !reflect.DeepEqual(got, want) {
				t.Fatalf("%v object %d: %+v %v, want %+v", v, i, got, err, want)
			}
		}
	}
}

// vector is a message and its hand-built encoding.
type vector struct {
	name string
	m    Message
	hex  string
}

// checkVectors encodes each message in v and compares the bytes, then
// checks they parse.
func checkVectors(t *testing.T, v Version, vs []vector) {
	t.Helper()
	c, _ := CodecFor(v)
	for _, tc := range vs {
		t.Run(tc.name, func(t *testing.T) {
			b, err := c.AppendMessage(nil, tc.m)
			if err != nil {
				t.Fatal(err)
			}
			if got := hex.EncodeToString(b); got != tc.hex {
				t.Fatalf("got  %s\nwant %s", got, tc.hex)
			}
			if _, _, err := c.ParseMessage(b); err != nil {
				t.Fatalf("parse: %v", err)
			}
		})
	}
}
