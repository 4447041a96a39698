package webrtc

import (
	"testing"

	"github.com/strata-edge/strata/transport/msf"
)

// FuzzParseFrag: any body parses or fails cleanly, and a parsed one has
// both credentials or neither.
func FuzzParseFrag(f *testing.F) {
	f.Add("a=ice-ufrag:abcd\r\na=ice-pwd:0123456789012345678901\r\nm=audio 9 RTP/AVP 0\r\na=mid:0\r\na=candidate:1 1 udp 2130706431 127.0.0.1 9 typ host\r\na=end-of-candidates\r\n")
	f.Add("a=candidate:x\n")
	f.Add("garbage")
	f.Fuzz(func(t *testing.T, body string) {
		fr, err := parseFrag(body)
		if err == nil && (fr.ufrag == "") != (fr.pwd == "") {
			t.Fatalf("half credentials %+v", fr)
		}
		_ = restartOffer(body, fr)
		_ = answerFrag(body)
	})
}

// FuzzOffer: offers parse or fail cleanly, and codec matching never
// panics on what parses.
func FuzzOffer(f *testing.F) {
	f.Add("v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\nm=video 9 UDP/TLS/RTP/SAVPF 96\r\na=rtpmap:96 VP8/90000\r\na=recvonly\r\n", true)
	f.Add("v=0\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n", false)
	f.Fuzz(func(t *testing.T, offer string, whip bool) {
		d, err := parseOffer(offer, whip)
		if err != nil {
			return
		}
		for i := range knownCodecs {
			_, _ = offerAccepts(d, &knownCodecs[i])
		}
		_ = offersData(d)
	})
}

// FuzzBitstream: keyframe detection, capture time and Annex B helpers
// stay within their input.
func FuzzBitstream(f *testing.F) {
	f.Add([]byte{0x82, 0x49, 0x83, 0x42})
	f.Add([]byte{0x12, 0x00, 0x0a, 0x02, 0xaa, 0xbb})
	f.Add([]byte{0, 0, 0, 1, 0x65, 0xaa})
	f.Add([]byte{0xe9, 0x3d, 0x56, 0x00, 0x00, 0x00, 0x00, 0x00})
	f.Fuzz(func(t *testing.T, b []byte) {
		_ = vp9IsKeyframe(b)
		_ = av1IsKeyframe(b)
		_, _ = parseAbsCaptureTime(b)
		_ = msf.H264IsKeyframe(b)
		_ = forEachPacket(b, func([]byte, bool) error { return nil })
	})
}
