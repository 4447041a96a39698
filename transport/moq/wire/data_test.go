package wire

import (
	"bytes"
	"errors"
	"io"
	"reflect"
	"testing"
)

func sampleObjects(withExt bool) []Object {
	objs := []Object{
		{ID: 0, Payload: []byte("key")},
		{ID: 1, Payload: []byte("delta")},
		{ID: 5, Status: StatusNormal}, // zero-length normal object
		{ID: 6, Status: StatusDoesNotExist},
		{ID: 1 << 33, Status: StatusEndOfGroup},
	}
	if withExt {
		objs[0].Extensions = Extensions{IntPair(ExtPriorGroupIDGap, 2), BytesPair(0x4d, []byte("trace:1"))}
		objs[4].Extensions = Extensions{IntPair(ExtPriorObjectIDGap, 1)}
	}
	return objs
}

func TestSubgroupRoundTripAllTypes(t *testing.T) {
	for _, typ := range []uint64{0x10, 0x11, 0x12, 0x13, 0x14, 0x15, 0x18, 0x19, 0x1A, 0x1B, 0x1C, 0x1D} {
		h, err := subgroupHeaderFromType(typ)
		if err != nil {
			t.Fatalf("type 0x%x: %v", typ, err)
		}
		h.TrackAlias, h.GroupID, h.PublisherPriority = 9, 1234, 200
		if h.IDMode == SubgroupIDExplicit {
			h.SubgroupID = 77
		}
		if got, _ := h.StreamType(); got != typ {
			t.Fatalf("type 0x%x re-derived as 0x%x", typ, got)
		}
		w := NewSubgroupWriter(h)
		b, err := w.Header.Append(nil)
		if err != nil {
			t.Fatal(err)
		}
		objs := sampleObjects(h.Extensions)
		for i := range objs {
			if b, err = w.AppendObject(b, &objs[i]); err != nil {
				t.Fatalf("type 0x%x object %d: %v", typ, i, err)
			}
		}
		r := bytes.NewReader(b)
		sh, err := ReadStreamHeader(r)
		if err != nil || sh.Subgroup == nil {
			t.Fatalf("type 0x%x header: %v", typ, err)
		}
		wantSub := map[SubgroupIDMode]uint64{SubgroupIDZero: 0, SubgroupIDFirstObject: 0, SubgroupIDExplicit: 77}[h.IDMode]
		want := h
		want.SubgroupID = 0
		if h.IDMode == SubgroupIDExplicit {
			want.SubgroupID = 77
		}
		if !reflect.DeepEqual(*sh.Subgroup, want) {
			t.Fatalf("type 0x%x header %+v want %+v", typ, *sh.Subgroup, want)
		}
		sr := NewSubgroupReader(r, *sh.Subgroup, Limits{})
		for i, o := range objs {
			got, err := sr.ReadObject()
			if err != nil {
				t.Fatalf("type 0x%x object %d: %v", typ, i, err)
			}
			o.GroupID, o.SubgroupID, o.PublisherPriority = 1234, wantSub, 200
			if !reflect.DeepEqual(got, o) {
				t.Fatalf("type 0x%x object %d\n got %+v\nwant %+v", typ, i, got, o)
			}
		}
		if _, err := sr.ReadObject(); err != io.EOF {
			t.Fatalf("type 0x%x end: %v", typ, err)
		}
	}
}

// TestSubgroupSpecExample encodes the first stream of the draft's
// examples section: type 0x14, alias 2, two 4-byte objects.
func TestSubgroupSpecExample(t *testing.T) {
	h := SubgroupHeader{TrackAlias: 2, IDMode: SubgroupIDExplicit}
	w := NewSubgroupWriter(h)
	b, _ := w.Header.Append(nil)
	b, _ = w.AppendObject(b, &Object{ID: 0, Payload: []byte("abcd")})
	b, _ = w.AppendObject(b, &Object{ID: 1, Payload: []byte("efgh")})
	want := []byte{0x14, 0x02, 0x00, 0x00, 0x00, 0x00, 0x04, 'a', 'b', 'c', 'd', 0x00, 0x04, 'e', 'f', 'g', 'h'}
	if !bytes.Equal(b, want) {
		t.Fatalf("got % x\nwant % x", b, want)
	}
}

func TestSubgroupWriterRejects(t *testing.T) {
	tests := []struct {
		name string
		h    SubgroupHeader
		objs []Object
	}{
		{"ids not increasing", SubgroupHeader{}, []Object{{ID: 3}, {ID: 3}}},
		{"extensions without ext type", SubgroupHeader{}, []Object{{ID: 0, Extensions: Extensions{IntPair(2, 1)}}}},
		{"status with payload", SubgroupHeader{}, []Object{{ID: 0, Status: StatusEndOfGroup, Payload: []byte("x")}}},
		{"undefined status", SubgroupHeader{}, []Object{{ID: 0, Status: 2}}},
		{"does-not-exist with extensions", SubgroupHeader{Extensions: true}, []Object{{ID: 0, Status: StatusDoesNotExist, Extensions: Extensions{IntPair(2, 1)}}}},
	}
	for _, tt := range tests {
		w := NewSubgroupWriter(tt.h)
		var err error
		for i := range tt.objs {
			if _, err = w.AppendObject(nil, &tt.objs[i]); err != nil {
				break
			}
		}
		if !errors.Is(err, ErrInvalidObject) {
			t.Errorf("%s: got %v", tt.name, err)
		}
	}
}

func TestDataStreamRejections(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		want error
	}{
		{"undefined subgroup type 0x16", []byte{0x16, 0, 0, 0}, ErrUnknownStreamType},
		{"undefined subgroup type 0x1F", []byte{0x1F, 0, 0, 0}, ErrUnknownStreamType},
		{"unknown stream type 0x06", []byte{0x06, 0}, ErrUnknownStreamType},
		{"header cut", []byte{0x14, 0x02, 0x00}, ErrTruncated},
		{"object cut in payload", []byte{0x10, 1, 0, 0, 0x00, 0x04, 'a', 'b'}, ErrTruncated},
		{"object cut before status", []byte{0x10, 1, 0, 0, 0x00, 0x00}, ErrTruncated},
		{"status 2", []byte{0x10, 1, 0, 0, 0x00, 0x00, 0x02}, ErrMalformed},
		{"does-not-exist with extensions", []byte{0x11, 1, 0, 0, 0x00, 0x02, 0x02, 0x01, 0x00, 0x01}, ErrMalformed},
		{"extension runs past block", []byte{0x11, 1, 0, 0, 0x00, 0x02, 0x03, 0x05, 0x00, 0x01, 'x'}, ErrKeyValueFormat},
		{"object id overflow", append([]byte{0x10, 1, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe, 0x01, 'a'}, 0x01, 0x01, 'b'), ErrMalformed},
		{"payload over limit", []byte{0x10, 1, 0, 0, 0x00, 0x80, 0x10, 0x00, 0x01}, ErrTooLong},
		{"fetch object cut", []byte{0x05, 0x01, 0x00, 0x00, 0x00}, ErrTruncated},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := drainStream(tt.in, Limits{MaxPayload: 1 << 16})
			if !errors.Is(err, tt.want) {
				t.Fatalf("got %v, want %v", err, tt.want)
			}
			if CodeOf(err) != CodeProtocolViolation && CodeOf(err) != CodeKeyValueFormattingError {
				t.Fatalf("code 0x%x", CodeOf(err))
			}
		})
	}
}

// drainStream reads a whole data stream, returning nil at a clean end.
func drainStream(in []byte, lim Limits) error {
	r := bytes.NewReader(in)
	sh, err := ReadStreamHeader(r)
	if err != nil {
		return err
	}
	next := func() (Object, error) { return NewFetchReader(r, FetchHeader{}, lim).ReadObject() }
	if sh.Subgroup != nil {
		sr := NewSubgroupReader(r, *sh.Subgroup, lim)
		next = sr.ReadObject
	}
	for {
		if _, err := next(); err == io.EOF {
			return nil
		} else if err != nil {
			return err
		}
	}
}

func TestFetchStreamRoundTrip(t *testing.T) {
	h := FetchHeader{RequestID: 14}
	b, _ := h.Append(nil)
	objs := []Object{
		{GroupID: 1, SubgroupID: 0, ID: 0, PublisherPriority: 5, Payload: []byte("k"), Extensions: Extensions{IntPair(4, 1)}},
		{GroupID: 1, SubgroupID: 3, ID: 3, Status: StatusEndOfGroup},
		{GroupID: 2, SubgroupID: 0, ID: 9, Status: StatusEndOfTrack},
	}
	var err error
	for i := range objs {
		if b, err = AppendFetchObject(b, &objs[i]); err != nil {
			t.Fatal(err)
		}
	}
	r := bytes.NewReader(b)
	sh, err := ReadStreamHeader(r)
	if err != nil || sh.Fetch == nil || sh.Fetch.RequestID != 14 {
		t.Fatalf("header %+v %v", sh, err)
	}
	fr := NewFetchReader(r, *sh.Fetch, Limits{})
	for i, want := range objs {
		got, err := fr.ReadObject()
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Fatalf("object %d: %v\n got %+v\nwant %+v", i, err, got, want)
		}
	}
	if _, err := fr.ReadObject(); err != io.EOF {
		t.Fatalf("end: %v", err)
	}
}

func TestDatagramRoundTripAllTypes(t *testing.T) {
	ext := Extensions{IntPair(ExtPriorObjectIDGap, 3)}
	tests := []struct {
		typ byte
		dg  Datagram
	}{
		{0x00, Datagram{TrackAlias: 1, Object: Object{GroupID: 2, ID: 3, PublisherPriority: 4, Payload: []byte("p")}}},
		{0x01, Datagram{TrackAlias: 1, Object: Object{GroupID: 2, ID: 3, Extensions: ext, Payload: []byte("p")}}},
		{0x02, Datagram{TrackAlias: 1, EndOfGroup: true, Object: Object{GroupID: 2, ID: 3, Payload: []byte("p")}}},
		{0x03, Datagram{TrackAlias: 1, EndOfGroup: true, Object: Object{GroupID: 2, ID: 3, Extensions: ext, Payload: []byte("p")}}},
		{0x04, Datagram{TrackAlias: 1, Object: Object{GroupID: 2, Payload: []byte("p")}}},
		{0x05, Datagram{TrackAlias: 1, Object: Object{GroupID: 2, Extensions: ext}}},
		{0x06, Datagram{TrackAlias: 1, EndOfGroup: true, Object: Object{GroupID: 2, Payload: []byte("p")}}},
		{0x07, Datagram{TrackAlias: 1, EndOfGroup: true, Object: Object{GroupID: 2, Extensions: ext, Payload: []byte("p")}}},
		{0x20, Datagram{TrackAlias: 1, Object: Object{GroupID: 2, ID: 0, Status: StatusEndOfTrack}}},
		{0x21, Datagram{TrackAlias: 1, Object: Object{GroupID: 2, ID: 7, Status: StatusEndOfGroup, Extensions: ext}}},
	}
	for _, tt := range tests {
		b, err := AppendDatagram(nil, &tt.dg)
		if err != nil {
			t.Fatalf("0x%x: %v", tt.typ, err)
		}
		if b[0] != tt.typ {
			t.Fatalf("type 0x%x, want 0x%x", b[0], tt.typ)
		}
		got, err := ParseDatagram(b)
		if err != nil || !reflect.DeepEqual(got, tt.dg) {
			t.Fatalf("0x%x: %v\n got %+v\nwant %+v", tt.typ, err, got, tt.dg)
		}
	}
	// Hand-built: type 0x00, alias 1, group 2, object 3, priority 0x80, "hi".
	want := []byte{0x00, 0x01, 0x02, 0x03, 0x80, 'h', 'i'}
	b, _ := AppendDatagram(nil, &Datagram{TrackAlias: 1, Object: Object{GroupID: 2, ID: 3, PublisherPriority: 0x80, Payload: []byte("hi")}})
	if !bytes.Equal(b, want) {
		t.Fatalf("got % x want % x", b, want)
	}
}

func TestDatagramRejections(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		want error
	}{
		{"type 0x08", []byte{0x08, 1, 2, 3, 0}, ErrUnknownStreamType},
		{"type 0x22", []byte{0x22, 1, 2, 3, 0, 0}, ErrUnknownStreamType},
		{"empty extension block", []byte{0x01, 1, 2, 3, 0, 0x00, 'p'}, ErrMalformed},
		{"extension block past end", []byte{0x01, 1, 2, 3, 0, 0x09, 0x02}, ErrTruncated},
		{"status trailing bytes", []byte{0x20, 1, 2, 3, 0, 0x03, 0x00}, ErrTrailingBytes},
		{"status 2", []byte{0x20, 1, 2, 3, 0, 0x02}, ErrMalformed},
		{"missing priority", []byte{0x04, 1, 2}, ErrTruncated},
		{"empty", nil, ErrTruncated},
	}
	for _, tt := range tests {
		if _, err := ParseDatagram(tt.in); !errors.Is(err, tt.want) {
			t.Errorf("%s: got %v, want %v", tt.name, err, tt.want)
		}
	}
	if _, err := AppendDatagram(nil, &Datagram{EndOfGroup: true, Object: Object{Status: StatusEndOfTrack}}); !errors.Is(err, ErrInvalidObject) {
		t.Errorf("status datagram with end of group: %v", err)
	}
}

func TestVarint(t *testing.T) {
	tests := []struct {
		v    uint64
		wire []byte
	}{
		{0, []byte{0x00}},
		{37, []byte{0x25}},
		{15293, []byte{0x7b, 0xbd}},
		{494878333, []byte{0x9d, 0x7f, 0x3e, 0x7d}},
		{151288809941952652, []byte{0xc2, 0x19, 0x7c, 0x5e, 0xff, 0x14, 0xe8, 0x8c}},
		{MaxVarint, []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff}},
	}
	for _, tt := range tests {
		b, err := AppendVarint(nil, tt.v)
		if err != nil || !bytes.Equal(b, tt.wire) || VarintLen(tt.v) != len(tt.wire) {
			t.Fatalf("%d: % x %v", tt.v, b, err)
		}
		v, n, err := ParseVarint(tt.wire)
		if err != nil || v != tt.v || n != len(tt.wire) {
			t.Fatalf("parse %d: %d %d %v", tt.v, v, n, err)
		}
		rv, err := ReadVarint(bytes.NewReader(tt.wire))
		if err != nil || rv != tt.v {
			t.Fatalf("read %d: %d %v", tt.v, rv, err)
		}
	}
	// Non-minimal encodings are accepted on receipt.
	if v, n, err := ParseVarint([]byte{0x40, 0x25}); v != 37 || n != 2 || err != nil {
		t.Fatalf("non-minimal: %d %d %v", v, n, err)
	}
	if _, err := AppendVarint(nil, MaxVarint+1); !errors.Is(err, ErrVarintRange) {
		t.Fatalf("overflow: %v", err)
	}
	if _, err := ReadVarint(bytes.NewReader([]byte{0x80, 0x01})); !errors.Is(err, ErrTruncated) {
		t.Fatalf("cut: %v", err)
	}
}

func TestAuthToken(t *testing.T) {
	tests := []AuthToken{
		{AliasType: AliasDelete, Alias: 4},
		{AliasType: AliasRegister, Alias: 4, TokenType: 1, Value: []byte("eyJ")},
		{AliasType: AliasUseAlias, Alias: 4},
		{AliasType: AliasUseValue, TokenType: 0, Value: []byte("opaque")},
	}
	for _, tk := range tests {
		b, err := tk.Append(nil)
		if err != nil {
			t.Fatal(err)
		}
		got, err := ParseAuthToken(b)
		if err != nil || !reflect.DeepEqual(got, tk) {
			t.Fatalf("%+v: %v %+v", tk, err, got)
		}
	}
	if (AuthToken{Value: make([]byte, 10)}).CacheSize() != 26 {
		t.Fatal("cache size")
	}
	if _, err := ParseAuthToken([]byte{0x01, 0x04}); CodeOf(err) != CodeKeyValueFormattingError {
		t.Fatalf("register without type: %v", err)
	}
}
