package testsrc

import (
	"bytes"
	"errors"
	"testing"

	"github.com/strata-edge/strata/transport/msf"
)

// Counts ffprobe reported for the committed clip when it was generated
// (commands in testdata/README.md): `ffprobe -count_frames` gave
// nb_read_frames=60 with key_frame=1 on frames 0 and 30, and
// `ffprobe -count_packets` on tone.opus gave nb_read_packets=101.
const (
	wantVideoFrames = 60
	wantKeyframes   = 2
	wantOpusPackets = 101
)

func TestTestsrcClipAccessUnits(t *testing.T) {
	c, err := LoadClip()
	if err != nil {
		t.Fatal(err)
	}
	if len(c.Video) != wantVideoFrames {
		t.Fatalf("%d access units, want %d", len(c.Video), wantVideoFrames)
	}
	var keys []int
	for i, k := range c.Keyframe {
		if k {
			keys = append(keys, i)
		}
	}
	if len(keys) != wantKeyframes || keys[0] != 0 || keys[1] != 30 {
		t.Fatalf("keyframes at %v, want [0 30]", keys)
	}
	for i, au := range c.Video {
		nals := msf.SplitAnnexB(au)
		slices := 0
		for _, n := range nals {
			if typ := n[0] & 0x1f; typ == nalSlice || typ == nalIDR {
				slices++
			}
		}
		if slices == 0 {
			t.Fatalf("access unit %d has no slice", i)
		}
		if c.Keyframe[i] {
			// Parameter sets travel with the IDR (avc3).
			var types []byte
			for _, n := range nals {
				types = append(types, n[0]&0x1f)
			}
			if !bytes.Contains(types, []byte{nalSPS}) || !bytes.Contains(types, []byte{nalPPS}) {
				t.Fatalf("keyframe %d NAL types %v lack SPS/PPS", i, types)
			}
		}
		if !bytes.HasPrefix(au, []byte{0, 0, 0, 1}) {
			t.Fatalf("access unit %d does not start with a 4-byte start code", i)
		}
	}
	// Constrained Baseline (profile_idc 66, constraint_set1) at the level
	// x264 picked.
	if c.Codec[:9] != "avc3.42C0" {
		t.Fatalf("codec %q, want constrained baseline avc3.42C0xx", c.Codec)
	}
}

func TestTestsrcSplitWithoutAUD(t *testing.T) {
	sps := []byte{0, 0, 0, 1, 0x67, 0x42, 0xc0, 0x1e}
	pps := []byte{0, 0, 1, 0x68, 0xce}
	idr0 := []byte{0, 0, 1, 0x65, 0x88, 0x10}  // first_mb 0
	idr1 := []byte{0, 0, 1, 0x65, 0x40, 0x20}  // first_mb 1 (second slice)
	p0 := []byte{0, 0, 0, 1, 0x41, 0x9a, 0x01} // next picture
	p1 := []byte{0, 0, 1, 0x41, 0x9a, 0x02}    // next picture again
	var s []byte
	for _, b := range [][]byte{sps, pps, idr0, idr1, p0, p1} {
		s = append(s, b...)
	}
	aus, err := SplitAccessUnits(s)
	if err != nil {
		t.Fatal(err)
	}
	if len(aus) != 3 {
		t.Fatalf("%d access units, want 3", len(aus))
	}
	if n := len(msf.SplitAnnexB(aus[0])); n != 4 {
		t.Fatalf("first access unit has %d NAL units, want SPS PPS and 2 slices", n)
	}
	if _, err := SplitAccessUnits([]byte{0, 0, 1, 0x67, 0x42, 0, 0, 1, 0x68, 0xce}); !errors.Is(err, ErrMalformed) {
		t.Fatalf("parameter sets alone: %v, want ErrMalformed", err)
	}
}

func TestTestsrcOggOpus(t *testing.T) {
	pkts, err := ParseOggOpus(clipOpus)
	if err != nil {
		t.Fatal(err)
	}
	if len(pkts) != wantOpusPackets {
		t.Fatalf("%d packets, want %d", len(pkts), wantOpusPackets)
	}
	for i, p := range pkts {
		// TOC byte: config 0..31; the clip is CELT-only or SILK 20 ms, one
		// frame per packet (code 0).
		if p[0]&0x3 != 0 {
			t.Fatalf("packet %d TOC 0x%02x: want one frame per packet", i, p[0])
		}
	}
	for _, bad := range [][]byte{
		nil,
		[]byte("OggS"),
		clipOpus[:len(clipOpus)-1],
		append([]byte("OggX"), clipOpus[4:]...),
	} {
		if _, err := ParseOggOpus(bad); err == nil {
			t.Fatalf("ParseOggOpus(%d bytes) accepted malformed input", len(bad))
		}
	}
}

// FuzzParseOggOpus: the parser never panics, and what it returns is
// bounded by its input.
func FuzzParseOggOpus(f *testing.F) {
	f.Add(clipOpus[:min(len(clipOpus), 512)])
	f.Fuzz(func(t *testing.T, b []byte) {
		pkts, err := ParseOggOpus(b)
		if err != nil {
			return
		}
		total := 0
		for _, p := range pkts {
			if len(p) == 0 || len(p) > MaxOpusPacket {
				t.Fatalf("packet of %d bytes", len(p))
			}
			total += len(p)
		}
		if total > len(b) {
			t.Fatalf("%d packet bytes from %d input bytes", total, len(b))
		}
	})
}

// FuzzSplitAccessUnits: the splitter never panics and every unit it
// returns holds a slice.
func FuzzSplitAccessUnits(f *testing.F) {
	f.Add(clipH264[:min(len(clipH264), 512)])
	f.Fuzz(func(t *testing.T, b []byte) {
		aus, err := SplitAccessUnits(b)
		if err != nil {
			return
		}
		for i, au := range aus {
			ok := false
			for _, n := range msf.SplitAnnexB(au) {
				if typ := n[0] & 0x1f; typ == nalSlice || typ == nalIDR {
					ok = true
				}
			}
			if !ok {
				t.Fatalf("access unit %d has no slice", i)
			}
		}
	})
}
