package msf

import (
	"encoding/hex"
	"testing"
)

// bitWriter builds SPS bits for tests.
type bitWriter struct {
	b []byte
	n int
}

func (w *bitWriter) bits(v uint64, n int) {
	for i := n - 1; i >= 0; i-- {
		if w.n%8 == 0 {
			w.b = append(w.b, 0)
		}
		w.b[len(w.b)-1] |= byte(v>>i&1) << (7 - w.n%8)
		w.n++
	}
}

func (w *bitWriter) ue(v uint64) {
	v++
	n := 0
	for x := v; x > 1; x >>= 1 {
		n++
	}
	w.bits(0, n)
	w.bits(v, n+1)
}

func (w *bitWriter) se(v int64) {
	if v > 0 {
		w.ue(uint64(2*v - 1))
	} else {
		w.ue(uint64(-2 * v))
	}
}

// highSPS is a High profile SPS for 1920x1080 (1088 cropped by 8 lines)
// with a scaling matrix, POC type 1 and field coding off.
func highSPS() []byte {
	w := &bitWriter{}
	w.bits(100, 8) // profile_idc
	w.bits(0, 8)
	w.bits(40, 8)
	w.ue(0)      // sps id
	w.ue(1)      // chroma 4:2:0
	w.ue(0)      // luma depth
	w.ue(0)      // chroma depth
	w.bits(0, 1) // bypass
	w.bits(1, 1) // scaling matrix present
	for i := range 8 {
		if i == 0 || i == 6 {
			w.bits(1, 1)
			n := 16
			if i == 6 {
				n = 64
			}
			for range n {
				w.se(1)
			}
		} else {
			w.bits(0, 1)
		}
	}
	w.ue(0) // log2_max_frame_num_minus4
	w.ue(1) // POC type 1
	w.bits(0, 1)
	w.se(-2)
	w.se(3)
	w.ue(2)
	w.se(1)
	w.se(-1)
	w.ue(4)      // refs
	w.bits(0, 1) // gaps
	w.ue(119)    // 120 MBs wide
	w.ue(67)     // 68 MBs high
	w.bits(1, 1) // frame_mbs_only
	w.bits(1, 1) // direct_8x8
	w.bits(1, 1) // cropping
	w.ue(0)
	w.ue(0)
	w.ue(0)
	w.ue(4) // 4 units of 2 lines
	w.bits(1, 1)
	return append([]byte{0, 0, 0, 1, 0x67}, w.b...)
}

func TestH264Size(t *testing.T) {
	hx := func(s string) []byte {
		b, err := hex.DecodeString(s)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	cases := []struct {
		name string
		au   []byte
		w, h int64
		ok   bool
	}{
		// The test source clip (ffmpeg, Constrained Baseline): 12 MB rows
		// cropped to 180 lines, with emulation prevention bytes.
		{"baseline cropped", append(hx("00000001"), hx("6742c00dd901419f9f0110000003001000000303c0f142a48000")...), 320, 180, true},
		{"baseline 720p", hx("000000016742c01fda014016e8"), 1280, 720, true},
		{"high with scaling lists", highSPS(), 1920, 1080, true},
		{"slice only", hx("0000000165888400"), 0, 0, false},
		{"truncated", hx("000000016742c01fda"), 0, 0, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w, h, ok := H264Size(tc.au)
			if w != tc.w || h != tc.h || ok != tc.ok {
				t.Fatalf("got %dx%d %v, want %dx%d %v", w, h, ok, tc.w, tc.h, tc.ok)
			}
		})
	}
}

func TestVP8Size(t *testing.T) {
	key := []byte{0x10, 0x02, 0x00, 0x9d, 0x01, 0x2a, 0x80, 0x02, 0x68, 0x01, 0xaa}
	if w, h, ok := VP8Size(key); !ok || w != 640 || h != 360 {
		t.Fatalf("key frame: %dx%d %v", w, h, ok)
	}
	inter := append([]byte{0x11}, key[1:]...)
	if _, _, ok := VP8Size(inter); ok {
		t.Fatal("an inter frame has no size")
	}
}

// FuzzH264Size checks the SPS reader never panics and never reports a
// size it could not have read.
func FuzzH264Size(f *testing.F) {
	f.Add(highSPS())
	f.Add([]byte{0, 0, 0, 1, 0x67, 0x42, 0xc0, 0x1f, 0xda, 0x01, 0x40, 0x16, 0xe8})
	f.Fuzz(func(t *testing.T, au []byte) {
		w, h, ok := H264Size(au)
		if ok && (w <= 0 || h <= 0 || w > 1<<16 || h > 1<<17) {
			t.Fatalf("size %dx%d", w, h)
		}
	})
}
