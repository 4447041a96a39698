package moq

import (
	"bufio"
	"bytes"
	"io"
	"testing"

	"github.com/strata-edge/strata/transport/moq/wire"
)

// bufStream is a SendStream that records what is written and how often.
type bufStream struct {
	bytes.Buffer
	writes int
}

func (b *bufStream) Write(p []byte) (int, error) { b.writes++; return b.Buffer.Write(p) }
func (b *bufStream) Close() error                { return nil }
func (b *bufStream) CancelWrite(uint64)          {}

// TestWriteFramed checks that framed objects decode exactly like WriteRaw's,
// take one write when the zero delta fits, and fall back when it does not.
func TestWriteFramed(t *testing.T) {
	ext, _ := wire.AppendExtensions(nil, wire.Extensions{wire.IntPair(0x10, 1234567)})
	type obj struct {
		id      uint64
		ext     []byte
		payload string
	}
	for _, tc := range []struct {
		name   string
		exts   bool // header Extensions bit
		objs   []obj
		writes int // stream writes for the objects, header excluded
	}{
		{"consecutive", true, []obj{{0, ext, "key"}, {1, nil, "d1"}, {2, ext, "d2"}}, 3},
		{"gap falls back", true, []obj{{0, ext, "key"}, {2, nil, "d2"}, {3, nil, "d3"}}, 1 + 2 + 1},
		{"first not zero falls back", true, []obj{{4, ext, "x"}, {5, nil, "y"}}, 2 + 1},
		{"empty payload", true, []obj{{0, nil, ""}, {1, ext, "z"}}, 2},
		{"no extensions bit falls back", false, []obj{{0, nil, "a"}, {1, nil, "b"}}, 4},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := wire.SubgroupHeader{TrackAlias: 3, GroupID: 9, IDMode: wire.SubgroupIDZero, Extensions: tc.exts}
			st := &bufStream{}
			g := &SubgroupStream{st: st, w: wire.NewSubgroupWriter(h)}
			hdr, err := g.w.Header.Append(nil)
			if err != nil {
				t.Fatal(err)
			}
			st.Buffer.Write(hdr)
			var want int64
			for _, o := range tc.objs {
				framed, _, _ := FrameObject(o.ext, []byte(o.payload))
				if err := g.WriteFramed(o.id, framed, o.ext, []byte(o.payload)); err != nil {
					t.Fatal(err)
				}
				want += int64(len(framed))
			}
			if st.writes != tc.writes {
				t.Fatalf("%d writes, want %d", st.writes, tc.writes)
			}
			if tc.writes == len(tc.objs) && g.Written() != want {
				t.Fatalf("Written %d, want %d", g.Written(), want)
			}
			r := bufio.NewReader(&st.Buffer)
			sh, err := wire.ReadStreamHeader(r)
			if err != nil || sh.Subgroup == nil {
				t.Fatalf("header: %v", err)
			}
			sr := wire.NewSubgroupReader(r, *sh.Subgroup, wire.Limits{})
			for _, o := range tc.objs {
				got, err := sr.ReadObject()
				if err != nil {
					t.Fatal(err)
				}
				gotExt, _ := wire.AppendExtensions(nil, got.Extensions)
				if got.ID != o.id || string(got.Payload) != o.payload || !bytes.Equal(gotExt, o.ext) || got.Status != wire.StatusNormal {
					t.Fatalf("got %+v, want %+v", got, o)
				}
			}
			if _, err := sr.ReadObject(); err != io.EOF {
				t.Fatalf("trailing data: %v", err)
			}
		})
	}
}

func TestFrameObjectOffsets(t *testing.T) {
	ext := []byte{0x10, 0x05}
	framed, extOff, payloadOff := FrameObject(ext, []byte("payload"))
	if !bytes.Equal(framed[extOff:extOff+len(ext)], ext) || string(framed[payloadOff:]) != "payload" {
		t.Fatalf("offsets %d %d in %x", extOff, payloadOff, framed)
	}
}
