package wire

import (
	"bytes"
	"errors"
	"reflect"
	"strings"
	"testing"
)

func tok(t *testing.T, a AuthToken) KeyValuePair {
	t.Helper()
	p, err := a.Param()
	if err != nil {
		t.Fatalf("token param: %v", err)
	}
	return p
}

// sampleMessages has one or more values of every draft-14 control message,
// exercising each optional field.
func sampleMessages(t *testing.T) []Message {
	ns := Namespace{"strata", "tenant-1", "session-42"}
	params := Parameters{IntPair(ParamDeliveryTimeout, 250), tok(t, AuthToken{AliasType: AliasUseValue, TokenType: 1, Value: []byte("jwt")})}
	return []Message{
		&ClientSetup{Versions: []Version{Draft14, Draft16}, Params: Parameters{
			BytesPair(SetupParamPath, []byte("/moq?x=1")), IntPair(SetupParamMaxRequestID, 100),
			IntPair(SetupParamMaxAuthTokenCacheSize, 4096), BytesPair(SetupParamAuthority, []byte("edge.example:443")),
			tok(t, AuthToken{AliasType: AliasRegister, Alias: 7, TokenType: 2, Value: []byte("secret")}),
			IntPair(0x3e, 9), IntPair(0x3e, 10), // unknown params may repeat
		}},
		&ClientSetup{},
		&ServerSetup{Version: Draft14, Params: Parameters{IntPair(SetupParamMaxRequestID, 1)}},
		&GoAway{},
		&GoAway{NewSessionURI: "moqt://other.example/moq"},
		&MaxRequestID{RequestID: 1 << 40},
		&RequestsBlocked{MaximumRequestID: 64},
		&Subscribe{RequestID: 2, Namespace: ns, TrackName: "video", SubscriberPriority: 128, GroupOrder: GroupOrderPublisher,
			Forward: true, Filter: Filter{Type: FilterLargestObject}, Params: params},
		&Subscribe{RequestID: 4, Namespace: Namespace{"a"}, TrackName: "", GroupOrder: GroupOrderDescending,
			Filter: Filter{Type: FilterNextGroupStart}},
		&Subscribe{RequestID: 6, Namespace: ns, TrackName: "audio", GroupOrder: GroupOrderAscending,
			Filter: Filter{Type: FilterAbsoluteStart, Start: Location{5, 3}}},
		&Subscribe{RequestID: 8, Namespace: ns, TrackName: "audio", GroupOrder: GroupOrderAscending, Forward: true,
			Filter: Filter{Type: FilterAbsoluteRange, Start: Location{5, 0}, EndGroup: 9}},
		&SubscribeOK{RequestID: 2, TrackAlias: 17, Expires: 30000, GroupOrder: GroupOrderAscending},
		&SubscribeOK{RequestID: 2, TrackAlias: 17, GroupOrder: GroupOrderDescending, ContentExists: true,
			Largest: Location{1000, 29}, Params: Parameters{IntPair(ParamMaxCacheDuration, 5000)}},
		&SubscribeError{RequestID: 2, ErrorCode: SubscribeErrTrackDoesNotExist, Reason: "no such track"},
		&SubscribeUpdate{RequestID: 10, SubscriptionRequestID: 2, Start: Location{7, 0}, EndGroup: 0, SubscriberPriority: 3, Forward: true},
		&SubscribeUpdate{RequestID: 12, SubscriptionRequestID: 2, Start: Location{7, 1}, EndGroup: 20, Params: params},
		&Unsubscribe{RequestID: 2},
		&PublishDone{RequestID: 2, StatusCode: PublishDoneTrackEnded, StreamCount: StreamCountUnknown, Reason: "bye"},
		&Publish{RequestID: 1, Namespace: ns, TrackName: "video", TrackAlias: 3, GroupOrder: GroupOrderAscending, Forward: true},
		&Publish{RequestID: 3, Namespace: ns, TrackName: "video", TrackAlias: 3, GroupOrder: GroupOrderDescending,
			ContentExists: true, Largest: Location{4, 4}, Params: params},
		&PublishOK{RequestID: 1, Forward: true, SubscriberPriority: 1, GroupOrder: GroupOrderAscending,
			Filter: Filter{Type: FilterAbsoluteRange, Start: Location{1, 2}, EndGroup: 3}},
		&PublishError{RequestID: 1, ErrorCode: PublishErrUninterested},
		&Fetch{RequestID: 14, SubscriberPriority: 9, GroupOrder: GroupOrderAscending, FetchType: FetchStandalone,
			Namespace: ns, TrackName: "video", Start: Location{1, 0}, End: Location{3, 0}, Params: params},
		&Fetch{RequestID: 16, FetchType: FetchRelativeJoining, JoiningRequestID: 2, JoiningStart: 2},
		&Fetch{RequestID: 18, GroupOrder: GroupOrderDescending, FetchType: FetchAbsoluteJoining, JoiningRequestID: 2, JoiningStart: 100},
		&FetchOK{RequestID: 14, GroupOrder: GroupOrderAscending, EndOfTrack: true, End: Location{3, 0}},
		&FetchError{RequestID: 14, ErrorCode: FetchErrNoObjects, Reason: strings.Repeat("r", MaxReasonPhraseLength)},
		&FetchCancel{RequestID: 14},
		&TrackStatus{RequestID: 20, Namespace: ns, TrackName: "video", GroupOrder: GroupOrderPublisher, Filter: Filter{Type: FilterLargestObject}},
		&TrackStatusOK{RequestID: 20, GroupOrder: GroupOrderAscending, ContentExists: true, Largest: Location{2, 2}},
		&TrackStatusError{RequestID: 20, ErrorCode: SubscribeErrUnauthorized, Reason: "no"},
		&PublishNamespace{RequestID: 5, Namespace: ns, Params: params},
		&PublishNamespaceOK{RequestID: 5},
		&PublishNamespaceError{RequestID: 5, ErrorCode: NamespaceErrUninterested, Reason: "not here"},
		&PublishNamespaceDone{Namespace: ns},
		&PublishNamespaceCancel{Namespace: ns, ErrorCode: NamespaceErrTimeout, Reason: "later"},
		&SubscribeNamespace{RequestID: 22, Prefix: Namespace{"strata"}},
		&SubscribeNamespaceOK{RequestID: 22},
		&SubscribeNamespaceError{RequestID: 22, ErrorCode: SubscribeNamespaceErrPrefixOverlap, Reason: "overlap"},
		&UnsubscribeNamespace{Prefix: Namespace{"strata", "tenant-1"}},
	}
}

func TestMessageRoundTrip(t *testing.T) {
	c, err := CodecFor(Draft14)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[MessageType]bool{}
	for _, m := range sampleMessages(t) {
		t.Run(m.Type().String(), func(t *testing.T) {
			seen[m.Type()] = true
			b, err := c.AppendMessage([]byte{0xAA}, m)
			if err != nil {
				t.Fatalf("append: %v", err)
			}
			if b[0] != 0xAA {
				t.Fatal("AppendMessage clobbered the prefix")
			}
			got, err := c.ReadMessage(bytes.NewReader(b[1:]), 0)
			if err != nil {
				t.Fatalf("read: %v", err)
			}
			if !reflect.DeepEqual(got, m) {
				t.Fatalf("read mismatch\n got %#v\nwant %#v", got, m)
			}
			got2, n, err := c.ParseMessage(b[1:])
			if err != nil || n != len(b)-1 || !reflect.DeepEqual(got2, m) {
				t.Fatalf("parse: n=%d err=%v got %#v", n, err, got2)
			}
		})
	}
	for typ := range c.table {
		if !seen[MessageType(typ)] {
			t.Errorf("no round-trip sample for %v", typ)
		}
	}
}

// TestVectors checks encodings built by hand from the draft-14 layouts.
func TestVectors(t *testing.T) {
	c, _ := CodecFor(Draft14)
	tests := []struct {
		name string
		msg  Message
		want []byte
	}{
		{
			name: "CLIENT_SETUP draft-14, PATH /moq, MAX_REQUEST_ID 100",
			msg: &ClientSetup{Versions: []Version{Draft14}, Params: Parameters{
				BytesPair(SetupParamPath, []byte("/moq")), IntPair(SetupParamMaxRequestID, 100)}},
			want: []byte{
				0x20, 0x00, 0x13, // type, 16-bit length 19
				0x01,                                           // one version
				0xc0, 0x00, 0x00, 0x00, 0xff, 0x00, 0x00, 0x0e, // 0xff00000e, 8-byte varint
				0x02,                           // two params
				0x01, 0x04, '/', 'm', 'o', 'q', // PATH (odd: length + bytes)
				0x02, 0x40, 0x64, // MAX_REQUEST_ID (even: varint 100)
			},
		},
		{
			name: "SERVER_SETUP draft-14, no params",
			msg:  &ServerSetup{Version: Draft14},
			want: []byte{0x21, 0x00, 0x09, 0xc0, 0x00, 0x00, 0x00, 0xff, 0x00, 0x00, 0x0e, 0x00},
		},
		{
			name: "SUBSCRIBE largest object",
			msg: &Subscribe{RequestID: 0, Namespace: Namespace{"a"}, TrackName: "b", SubscriberPriority: 0x80,
				GroupOrder: GroupOrderAscending, Forward: true, Filter: Filter{Type: FilterLargestObject}},
			want: []byte{0x03, 0x00, 0x0b, 0x00, 0x01, 0x01, 'a', 0x01, 'b', 0x80, 0x01, 0x01, 0x02, 0x00},
		},
		{
			name: "FETCH_CANCEL",
			msg:  &FetchCancel{RequestID: 300},
			want: []byte{0x17, 0x00, 0x02, 0x41, 0x2c},
		},
		{
			name: "PUBLISH_DONE unknown stream count",
			msg:  &PublishDone{RequestID: 1, StatusCode: 2, StreamCount: StreamCountUnknown},
			want: []byte{0x0b, 0x00, 0x0b, 0x01, 0x02, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := c.AppendMessage(nil, tt.msg)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, tt.want) {
				t.Fatalf("encode\n got % x\nwant % x", got, tt.want)
			}
			m, _, err := c.ParseMessage(tt.want)
			if err != nil || !reflect.DeepEqual(m, tt.msg) {
				t.Fatalf("decode: %v %#v", err, m)
			}
		})
	}
}

func TestTruncatedMessages(t *testing.T) {
	c, _ := CodecFor(Draft14)
	for _, m := range sampleMessages(t) {
		b, err := c.AppendMessage(nil, m)
		if err != nil {
			t.Fatal(err)
		}
		for i := 0; i < len(b); i++ {
			_, _, err := c.ParseMessage(b[:i])
			if !errors.Is(err, ErrTruncated) {
				t.Fatalf("%v cut at %d/%d: got %v, want ErrTruncated", m.Type(), i, len(b), err)
			}
			if _, err := c.ReadMessage(bytes.NewReader(b[:i]), 0); i > 0 && !errors.Is(err, ErrTruncated) {
				t.Fatalf("%v read cut at %d: got %v", m.Type(), i, err)
			}
		}
		// Shrinking the declared length cuts the payload short inside the
		// frame: the fields run out before the message does.
		if len(b) > 3 && b[1] == 0 {
			short := append([]byte(nil), b...)
			short[2]--
			short = short[:len(short)-1]
			if _, _, err := c.ParseMessage(short); !errors.Is(err, ErrTruncated) && !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrKeyValueFormat) && !errors.Is(err, ErrTrailingBytes) {
				t.Fatalf("%v short payload: got %v", m.Type(), err)
			}
		}
	}
}

// frame wraps a raw payload with a type and 16-bit length.
func frame(t MessageType, payload ...byte) []byte {
	b := appendVarint(nil, uint64(t))
	return append(append(b, byte(len(payload)>>8), byte(len(payload))), payload...)
}

func TestRejections(t *testing.T) {
	c, _ := CodecFor(Draft14)
	ns33 := []byte{0x00, 33}
	for range 33 {
		ns33 = append(ns33, 1, 'x')
	}
	ns33 = append(ns33, 0x00)
	longName := []byte{0x00, 0x01, 0x01, 'a', 0x60, 0x00} // name length 8192 (2-byte varint 0x6000 is 0x2000)
	longName = append(longName, bytes.Repeat([]byte{'n'}, 0x2000)...)
	longReason := append([]byte{0x01, 0x00, 0x44, 0x01}, bytes.Repeat([]byte{'r'}, 1025)...)
	tests := []struct {
		name string
		in   []byte
		want error
		code ErrorCode
	}{
		{"trailing byte", frame(TypeUnsubscribe, 0x01, 0x00), ErrTrailingBytes, CodeProtocolViolation},
		{"unknown type", frame(0x01, 0x00), ErrUnknownMessage, CodeProtocolViolation},
		{"reserved setup 0x40", frame(0x40, 0x00), ErrUnknownMessage, CodeProtocolViolation},
		{"namespace with 0 fields", frame(TypePublishNamespaceDone, 0x00), ErrMalformed, CodeProtocolViolation},
		{"namespace with 33 fields", frame(TypeSubscribeNamespace, ns33...), ErrMalformed, CodeProtocolViolation},
		{"full track name over 4096", frame(TypeSubscribe, longName...), ErrTooLong, CodeProtocolViolation},
		{"reason over 1024", frame(TypeSubscribeError, longReason...), ErrTooLong, CodeProtocolViolation},
		{"forward = 2", frame(TypeSubscribe, 0, 1, 1, 'a', 1, 'b', 0, 1, 2, 2, 0), ErrMalformed, CodeProtocolViolation},
		{"group order = 3", frame(TypeSubscribe, 0, 1, 1, 'a', 1, 'b', 0, 3, 1, 2, 0), ErrMalformed, CodeProtocolViolation},
		{"subscribe_ok group order 0", frame(TypeSubscribeOK, 0, 1, 0, 0, 0, 0), ErrMalformed, CodeProtocolViolation},
		{"filter type 5", frame(TypeSubscribe, 0, 1, 1, 'a', 1, 'b', 0, 1, 1, 5, 0), ErrMalformed, CodeProtocolViolation},
		{"fetch type 4", frame(TypeFetch, 0, 0, 1, 4, 0), ErrMalformed, CodeProtocolViolation},
		{"content exists = 2", frame(TypeSubscribeOK, 0, 1, 0, 1, 2, 0), ErrMalformed, CodeProtocolViolation},
		{"valid one-field prefix", frame(TypeUnsubscribeNamespace, 0x01, 0x01, 'a'), nil, 0},
		{"odd param length runs past end", frame(TypePublishNamespace, 0, 1, 1, 'a', 1, 0x05, 0x10, 'x'), ErrTruncated, CodeProtocolViolation},
		{"param count exceeds payload", frame(TypePublishNamespace, 0, 1, 1, 'a', 0x40, 0xff, 0x02, 0x01), ErrTruncated, CodeProtocolViolation},
		{"duplicate delivery timeout", frame(TypePublishNamespace, 0, 1, 1, 'a', 2, 0x02, 1, 0x02, 2), ErrDuplicateParameter, CodeProtocolViolation},
		{"duplicate setup path", frame(TypeServerSetup, 1, 2, 0x01, 1, '/', 0x01, 1, '/'), ErrDuplicateParameter, CodeProtocolViolation},
		{"bad auth token alias type", frame(TypePublishNamespace, 0, 1, 1, 'a', 1, 0x03, 1, 0x09), ErrKeyValueFormat, CodeKeyValueFormattingError},
		{"auth token delete with trailing", frame(TypePublishNamespace, 0, 1, 1, 'a', 1, 0x03, 3, 0x00, 1, 1), ErrKeyValueFormat, CodeKeyValueFormattingError},
		{"goaway uri over 8192", frame(TypeGoAway, 0x60, 0x01), ErrTooLong, CodeProtocolViolation},
		{"versions count exceeds payload", frame(TypeClientSetup, 0x10, 0x01), ErrTruncated, CodeProtocolViolation},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := c.ParseMessage(tt.in)
			if tt.want == nil {
				if err != nil {
					t.Fatalf("unexpected error %v", err)
				}
				return
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
			if CodeOf(err) != tt.code {
				t.Fatalf("code 0x%x, want 0x%x", CodeOf(err), tt.code)
			}
		})
	}
}

func TestReadMessageMaxLen(t *testing.T) {
	c, _ := CodecFor(Draft14)
	b, _ := c.AppendMessage(nil, &GoAway{NewSessionURI: strings.Repeat("u", 100)})
	if _, err := c.ReadMessage(bytes.NewReader(b), 50); !errors.Is(err, ErrTooLong) {
		t.Fatalf("got %v, want ErrTooLong", err)
	}
	// A declared length far beyond the bytes present must fail as
	// truncated, not allocate the declared size up front.
	lie := []byte{byte(TypeGoAway), 0xff, 0xff, 0x00}
	allocs := testing.AllocsPerRun(10, func() { _, _ = c.ReadMessage(bytes.NewReader(lie), 0) })
	if allocs > 10 {
		t.Fatalf("allocs %v", allocs)
	}
	if _, err := c.ReadMessage(bytes.NewReader(lie), 0); !errors.Is(err, ErrTruncated) {
		t.Fatalf("got %v", err)
	}
}

func TestEncodeRejections(t *testing.T) {
	c, _ := CodecFor(Draft14)
	tooMany := make(Namespace, 33)
	for i := range tooMany {
		tooMany[i] = "x"
	}
	tests := []struct {
		name string
		msg  Message
		want error
	}{
		{"empty namespace", &PublishNamespaceDone{}, ErrMalformed},
		{"33 fields", &PublishNamespaceDone{Namespace: tooMany}, ErrMalformed},
		{"full name too long", &Subscribe{Namespace: Namespace{strings.Repeat("a", 4000)}, TrackName: strings.Repeat("b", 97),
			GroupOrder: GroupOrderAscending, Filter: Filter{Type: FilterLargestObject}}, ErrTooLong},
		{"reason too long", &SubscribeError{Reason: strings.Repeat("r", 1025)}, ErrTooLong},
		{"varint range", &Unsubscribe{RequestID: 1 << 62}, ErrVarintRange},
		{"bad group order", &SubscribeOK{GroupOrder: GroupOrderPublisher}, ErrMalformed},
		{"bad filter", &PublishOK{GroupOrder: GroupOrderAscending}, ErrMalformed},
		{"message over 64KiB", &ClientSetup{Params: Parameters{BytesPair(1, make([]byte, 60000)), BytesPair(3, make([]byte, 6000))}}, ErrTooLong},
		{"kv value over 64KiB", &ClientSetup{Params: Parameters{BytesPair(7, make([]byte, 1<<16))}}, ErrTooLong},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := c.AppendMessage([]byte{1}, tt.msg)
			if !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
			if len(out) != 1 {
				t.Fatalf("failed append left %d bytes", len(out))
			}
		})
	}
}

func TestCodecFor(t *testing.T) {
	if _, err := CodecFor(0xff00000f); !errors.Is(err, ErrUnsupportedVersion) || CodeOf(err) != CodeVersionNegotiationFail {
		t.Fatalf("draft 15: %v", err)
	}
	for _, v := range SupportedVersions() {
		if c, err := CodecFor(v); err != nil || c.Version() != v {
			t.Fatalf("%v: %v", v, err)
		}
	}
	if v, ok := VersionForALPN("moqt-18"); !ok || v != Draft18 || Draft18.ALPN() != ALPNDraft18 {
		t.Fatalf("moqt-18: %v %v", v, ok)
	}
	if _, ok := VersionForALPN(ALPNDraft14); ok {
		t.Fatal("moq-00 names no version")
	}
	if Draft14.ALPN() != "moq-00" || Draft16.ALPN() != "moqt-16" || Draft14.String() != "draft-14" {
		t.Fatalf("alpn %q %q %q", Draft14.ALPN(), Draft16.ALPN(), Draft14.String())
	}
}
