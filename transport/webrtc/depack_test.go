package webrtc

import (
	"bytes"
	"encoding/binary"
	"testing"

	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v4"
)

// packetize splits a frame the way a publisher would.
func packetize(frame []byte, seq uint16, ts uint32) []*rtp.Packet {
	pay := &codecs.H264Payloader{}
	var out []*rtp.Packet
	chunks := pay.Payload(300, frame)
	for i, c := range chunks {
		out = append(out, &rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: seq + uint16(i), Timestamp: ts, Marker: i == len(chunks)-1}, Payload: c})
	}
	return out
}

func TestAssembler(t *testing.T) {
	c, _ := codecFor(webrtc.MimeTypeH264)
	f0, f1 := testFrame(0, true, 1000), testFrame(1, false, 1000)
	p0, p1 := packetize(f0, 100, 1000), packetize(f1, uint16(100+len(packetize(f0, 100, 1000))), 4000)
	tests := []struct {
		name   string
		pkts   []*rtp.Packet
		frames []int
		lost   bool
	}{
		{"in order", append(append([]*rtp.Packet{}, p0...), p1...), []int{0, 1}, false},
		{"reordered inside a frame", append([]*rtp.Packet{p0[1], p0[0]}, p0[2:]...), []int{0}, false},
		{"middle packet lost", append(append([]*rtp.Packet{p0[0]}, p0[2:]...), p1...), []int{1}, true},
		{"duplicate", append(append([]*rtp.Packet{}, p0...), p0[len(p0)-1]), []int{0}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			a := newAssembler(c)
			var got []int
			lost := false
			for _, p := range tc.pkts {
				f, _, l := a.push(p)
				lost = lost || l
				if f != nil {
					n, ok := frameNumber(f)
					if !ok {
						t.Fatalf("undecodable frame %x", f[:16])
					}
					got = append(got, n)
				}
			}
			if !equalInts(got, tc.frames) || lost != tc.lost {
				t.Fatalf("frames %v lost %v, want %v lost %v", got, lost, tc.frames, tc.lost)
			}
		})
	}
	// The reassembled keyframe is the Annex B access unit we sent.
	a := newAssembler(c)
	var f []byte
	for _, p := range p0 {
		if out, _, _ := a.push(p); out != nil {
			f = out
		}
	}
	if !bytes.Contains(f, []byte{0, 0, 0, 1, 0x65}) || !bytes.Contains(f, []byte{0, 0, 0, 1, 0x67}) {
		t.Fatalf("keyframe lost its NAL units")
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestAbsCaptureTime(t *testing.T) {
	b := make([]byte, 8)
	// 2026-01-01T00:00:00.5Z in NTP.
	binary.BigEndian.PutUint64(b, uint64(1767225600+ntpUnixOffset)<<32|1<<31)
	got, ok := parseAbsCaptureTime(b)
	if !ok || got != 1767225600_500000 {
		t.Fatalf("got %d %v", got, ok)
	}
	if _, ok := parseAbsCaptureTime(b[:4]); ok {
		t.Fatal("short extension accepted")
	}
}

func TestParseFrag(t *testing.T) {
	tests := []struct {
		name    string
		body    string
		cands   int
		restart bool
		err     bool
	}{
		{"trickle", "a=ice-ufrag:u\r\na=ice-pwd:p\r\nm=audio 9 UDP/TLS/RTP/SAVPF 0\r\na=mid:0\r\na=candidate:1 1 udp 1 10.0.0.1 5000 typ host\r\na=end-of-candidates\r\n", 1, true, false},
		{"candidates only", "a=mid:0\na=candidate:1 1 udp 1 10.0.0.1 5000 typ host\n", 1, false, false},
		{"ufrag without pwd", "a=ice-ufrag:u\r\n", 0, false, true},
		{"junk", "hello\r\n", 0, false, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f, err := parseFrag(tc.body)
			if (err != nil) != tc.err {
				t.Fatalf("err %v", err)
			}
			if len(f.cands) != tc.cands || (f.ufrag != "") != tc.restart {
				t.Fatalf("frag %+v", f)
			}
		})
	}
}
