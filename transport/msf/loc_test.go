package msf

import (
	"bytes"
	"errors"
	"reflect"
	"testing"
	"time"
)

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
	}
	for _, tc := range tests {
		got, err := appendVarint(nil, tc.v)
		if err != nil || !bytes.Equal(got, tc.wire) {
			t.Errorf("append %d = %x, %v", tc.v, got, err)
		}
		v, n, err := readVarint(tc.wire)
		if err != nil || v != tc.v || n != len(tc.wire) {
			t.Errorf("read %x = %d/%d, %v", tc.wire, v, n, err)
		}
	}
	if _, err := appendVarint(nil, MaxVarint+1); !errors.Is(err, ErrTooLarge) {
		t.Errorf("overflow: %v", err)
	}
	if _, _, err := readVarint([]byte{0x40}); !errors.Is(err, ErrMalformed) {
		t.Errorf("truncated: %v", err)
	}
}

func TestPropertiesWire(t *testing.T) {
	tests := []struct {
		name string
		p    Properties
		enc  KVEncoding
		wire []byte
	}{
		{"timestamp", Properties{HasTimestamp: true, Timestamp: 1}, KVAbsolute, []byte{0x10, 0x01}},
		{"audio level with voice", Properties{HasAudio: true, AudioLevel: AudioLevel{Voice: true, Level: 10}}, KVAbsolute, []byte{0x0c, 0x40, 0x8a}},
		{"video config", Properties{VideoConfig: []byte{0xaa, 0xbb}}, KVAbsolute, []byte{0x0d, 0x02, 0xaa, 0xbb}},
		{"keyframe marking", Properties{FrameMarking: &FrameMarking{Start: true, End: true, Independent: true}}, KVAbsolute, []byte{0x09, 0x01, 0xe0}},
		{"scalable marking", Properties{FrameMarking: &FrameMarking{Discardable: true, BaseLayerSync: true, TID: 2, HasLID: true, LID: 1, HasTL0: true, TL0PICIDX: 9}}, KVAbsolute, []byte{0x09, 0x03, 0x1a, 0x01, 0x09}},
		{"timescale and timestamp absolute", Properties{HasTimescale: true, Timescale: 90000, HasTimestamp: true, Timestamp: 3000}, KVAbsolute,
			[]byte{0x08, 0x80, 0x01, 0x5f, 0x90, 0x10, 0x4b, 0xb8}},
		{"timescale and timestamp delta", Properties{HasTimescale: true, Timescale: 90000, HasTimestamp: true, Timestamp: 3000}, KVDelta,
			[]byte{0x08, 0x80, 0x01, 0x5f, 0x90, 0x08, 0x4b, 0xb8}},
		{"audio config and unknown", Properties{AudioConfig: []byte{1}, Other: []KV{{Type: 0x78, Value: 1}}}, KVDelta,
			[]byte{0x0f, 0x01, 0x01, 0x40, 0x69, 0x01}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := AppendProperties(nil, &tc.p, tc.enc)
			if err != nil || !bytes.Equal(got, tc.wire) {
				t.Fatalf("encode = %x, %v; want %x", got, err, tc.wire)
			}
			back, err := ParseProperties(tc.wire, tc.enc)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(*back, tc.p) {
				t.Fatalf("decode = %+v, want %+v", *back, tc.p)
			}
		})
	}
}

func TestParsePropertiesErrors(t *testing.T) {
	tests := []struct {
		name string
		wire []byte
		enc  KVEncoding
		want error
	}{
		{"truncated type", []byte{0x40}, KVAbsolute, ErrMalformed},
		{"missing value", []byte{0x10}, KVAbsolute, ErrMalformed},
		{"length past end", []byte{0x0d, 0x05, 0x01}, KVAbsolute, ErrMalformed},
		{"length over limit", []byte{0x0d, 0x80, 0x01, 0x00, 0x00}, KVAbsolute, ErrTooLarge},
		{"marking too long", []byte{0x09, 0x05, 1, 2, 3, 4, 5}, KVAbsolute, ErrMalformed},
		{"marking empty", []byte{0x09, 0x00}, KVAbsolute, ErrMalformed},
		{"audio level too big", []byte{0x0c, 0x41, 0x00}, KVAbsolute, ErrMalformed},
		{"timescale zero", []byte{0x08, 0x00}, KVAbsolute, ErrMalformed},
		{"delta overflow", []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x00, 0x01, 0x00}, KVDelta, ErrMalformed},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := ParseProperties(tc.wire, tc.enc); !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
}

func TestTimestamps(t *testing.T) {
	now := time.UnixMicro(1_760_000_000_123_456)
	p := VideoProperties(now.UnixMicro(), true, []byte{1, 2})
	if wc, ok := p.WallClock(); !ok || !wc.Equal(now) {
		t.Fatalf("wall clock %v %v", wc, ok)
	}
	if p.VideoConfig == nil || !p.FrameMarking.Independent {
		t.Fatalf("keyframe properties %+v", p)
	}
	if d := VideoProperties(1, false, []byte{1}); d.VideoConfig != nil || d.FrameMarking.Independent {
		t.Fatalf("delta properties %+v", d)
	}
	m := Properties{HasTimestamp: true, Timestamp: 135000, HasTimescale: true, Timescale: 90000}
	if d, ok := m.MediaTime(); !ok || d != 1500*time.Millisecond {
		t.Fatalf("media time %v %v", d, ok)
	}
	a := AudioProperties(5, &AudioLevel{Level: 127})
	b, err := AppendProperties(nil, a, KVAbsolute)
	if err != nil {
		t.Fatal(err)
	}
	if back, err := ParseProperties(b, KVAbsolute); err != nil || !back.HasAudio || back.AudioLevel.Level != 127 {
		t.Fatalf("audio %+v %v", back, err)
	}
}

func TestH264Payloads(t *testing.T) {
	sps := []byte{0x67, 0x64, 0x00, 0x2a}
	pps := []byte{0x68, 0xee, 0x3c, 0x80}
	idr := []byte{0x65, 0x88, 0x84, 0x00, 0x10}
	var au []byte
	au = append(au, 0, 0, 0, 1)
	au = append(au, sps...)
	au = append(au, 0, 0, 1) // 3-byte start code
	au = append(au, pps...)
	au = append(au, 0, 0, 0, 1)
	au = append(au, idr...)

	nals := SplitAnnexB(au)
	if len(nals) != 3 || !bytes.Equal(nals[0], sps) || !bytes.Equal(nals[1], pps) || !bytes.Equal(nals[2], idr) {
		t.Fatalf("split %x", nals)
	}
	if !H264IsKeyframe(au) {
		t.Fatal("IDR not detected")
	}
	if H264IsKeyframe([]byte{0, 0, 0, 1, 0x41, 0x9a}) {
		t.Fatal("non-IDR slice detected as keyframe")
	}
	avc := AnnexBToAVC(au, true)
	want := append([]byte{0, 0, 0, byte(len(idr))}, idr...)
	if !bytes.Equal(avc, want) {
		t.Fatalf("avc %x want %x", avc, want)
	}
	back, err := AVCToAnnexB(AnnexBToAVC(au, false))
	if err != nil {
		t.Fatal(err)
	}
	if got := SplitAnnexB(back); len(got) != 3 || !bytes.Equal(got[2], idr) {
		t.Fatalf("round trip %x", back)
	}
	for _, bad := range [][]byte{{0, 0, 0}, {0, 0, 0, 9, 1}, {0, 0, 0, 0}} {
		if _, err := AVCToAnnexB(bad); !errors.Is(err, ErrMalformed) {
			t.Errorf("AVCToAnnexB(%x): %v", bad, err)
		}
	}
}
