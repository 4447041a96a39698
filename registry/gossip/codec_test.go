package gossip

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/hashicorp/serf/coordinate"
)

func TestMetaRoundTrip(t *testing.T) {
	in := Meta{ID: "edge-fra-1", Role: RoleEdge, Region: "eu-central", Zone: "fra-b", Lat: 50.1109, Lon: 8.68213,
		Addrs:   Addrs{API: "10.0.0.1:8443", QUIC: "10.0.0.1:4433", WebRTC: "10.0.0.1:8189", WHIP: "10.0.0.1:8080"},
		NICMbps: 25000, GPUCount: 4, GPUDigest: 0xdeadbeefcafef00d, Draining: true}
	b, err := in.MarshalBinary()
	if err != nil {
		t.Fatal(err)
	}
	var out Meta
	if err := out.UnmarshalBinary(b); err != nil {
		t.Fatal(err)
	}
	if out != in {
		t.Fatalf("round trip:\n got %+v\nwant %+v", out, in)
	}
	t.Logf("meta encodes to %d bytes", len(b))
}

func TestMetaErrors(t *testing.T) {
	gm := testMeta("x")
	good, _ := gm.MarshalBinary()
	tests := []struct {
		name string
		meta Meta
		raw  []byte
		want error
	}{
		{name: "too large", meta: Meta{ID: strings.Repeat("x", 520), Role: RoleEdge}, want: ErrMetaTooLarge},
		{name: "no id", meta: Meta{Role: RoleEdge}, want: ErrBadMeta},
		{name: "no role", meta: Meta{ID: "x"}, want: ErrBadMeta},
		{name: "bad lat", meta: Meta{ID: "x", Role: RoleOrigin, Lat: 91}, want: ErrBadMeta},
		{name: "truncated", raw: good[:len(good)-3], want: ErrBadMeta},
		{name: "version", raw: append([]byte{9}, good[1:]...), want: ErrBadMeta},
		{name: "raw too large", raw: make([]byte, 513), want: ErrMetaTooLarge},
		{name: "empty", raw: []byte{}, want: ErrBadMeta},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var err error
			if tt.raw != nil {
				var m Meta
				err = m.UnmarshalBinary(tt.raw)
			} else {
				_, err = tt.meta.MarshalBinary()
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("err = %v, want %v", err, tt.want)
			}
		})
	}
}

func (m Meta) marshal() []byte { b, _ := m.MarshalBinary(); return b }

func FuzzMetaUnmarshal(f *testing.F) {
	f.Add(testMeta("edge-1").marshal())
	f.Add([]byte{1, 3, 2, 0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Fuzz(func(t *testing.T, b []byte) {
		var m Meta
		if err := m.UnmarshalBinary(b); err != nil {
			if !errors.Is(err, ErrBadMeta) && !errors.Is(err, ErrMetaTooLarge) {
				t.Fatalf("unwrapped error %v", err)
			}
			return
		}
		again, err := m.MarshalBinary()
		if err != nil {
			t.Fatalf("decoded meta does not re-encode: %v", err)
		}
		var m2 Meta
		if err := m2.UnmarshalBinary(again); err != nil || m2 != m {
			t.Fatalf("unstable round trip: %+v vs %+v (%v)", m, m2, err)
		}
	})
}

func TestLoadMsgRoundTrip(t *testing.T) {
	c := coordinate.NewCoordinate(coordinate.DefaultConfig())
	c.Vec[0], c.Height = 0.25, 0.001
	for _, coord := range []*coordinate.Coordinate{nil, c} {
		in := loadMsg{node: "edge-1", seq: 1_700_000_000_123, coord: coord,
			load: Load{EgressBps: 9e9, Viewers: 1000, Sessions: 7, GPUUtilPct: -1, GPUMemUsedMB: 4096, CPUPct: 99}}
		b := in.marshal()
		var out loadMsg
		if err := out.unmarshal(b); err != nil {
			t.Fatal(err)
		}
		if out.node != in.node || out.seq != in.seq || out.load != in.load || (coord == nil) != (out.coord == nil) {
			t.Fatalf("round trip: %+v vs %+v", out, in)
		}
		if coord != nil && float32(out.coord.Vec[0]) != float32(coord.Vec[0]) {
			t.Fatal("coordinate lost")
		}
		t.Logf("load message: %d bytes (coord %v)", len(b), coord != nil)
	}
	if !bytes.Equal(clampLoad(Load{GPUUtilPct: 300, CPUPct: -7}).marshalFor(t), clampLoad(Load{GPUUtilPct: 100, CPUPct: -1}).marshalFor(t)) {
		t.Fatal("clamp")
	}
}

func (l Load) marshalFor(testing.TB) []byte {
	m := loadMsg{node: "n", seq: 1, load: l}
	return m.marshal()
}

func FuzzLoadUnmarshal(f *testing.F) {
	c := coordinate.NewCoordinate(coordinate.DefaultConfig())
	f.Add((&loadMsg{node: "a", seq: 5, load: Load{Viewers: 3, GPUUtilPct: 50}}).marshal())
	f.Add((&loadMsg{node: "b", seq: 6, coord: c}).marshal())
	f.Fuzz(func(t *testing.T, b []byte) {
		var m loadMsg
		if err := m.unmarshal(b); err != nil {
			if !errors.Is(err, ErrBadMessage) {
				t.Fatalf("unwrapped error %v", err)
			}
			return
		}
		var m2 loadMsg
		if err := m2.unmarshal(m.marshal()); err != nil || m2.load != m.load || m2.seq != m.seq {
			t.Fatalf("unstable round trip: %v", err)
		}
	})
}

func FuzzStateDecode(f *testing.F) {
	p := &Pool{id: "self", members: map[string]*entry{"a": {Member: Member{State: StateAlive}}}}
	e := enc{}
	e.u8(msgState)
	e.uvarint(1)
	e.bytes((&loadMsg{node: "a", seq: 5}).marshal())
	f.Add(e.b)
	f.Fuzz(func(t *testing.T, b []byte) {
		_ = p.decodeState(b, p.members["a"].LoadAt)
	})
}
