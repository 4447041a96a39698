package webrtc

import (
	"fmt"
	"strings"

	"github.com/pion/rtp"
	"github.com/pion/rtp/codecs"
	"github.com/pion/webrtc/v4"
	"github.com/strata-edge/strata/transport/msf"
)

// codec is what the bridge needs to know about one codec: how to turn RTP
// into frames and back, and which frames start a group.
type codec struct {
	mime       string
	clock      uint32
	channels   uint16
	fmtp       string
	video      bool
	payloader  func() rtp.Payloader
	depacketer func() rtp.Depacketizer
	keyframe   func(frame []byte) bool
}

var videoFeedback = []webrtc.RTCPFeedback{
	{Type: "nack"}, {Type: "nack", Parameter: "pli"}, {Type: "ccm", Parameter: "fir"}, {Type: "transport-cc"},
}

// codecs lists what we ingest and serve, in order of preference. H.264 is
// first because Strata sessions publish it and MoQ viewers decode it with
// WebCodecs; VP8 serves old browsers; VP9 and AV1 are passed through;
// Opus is the only audio codec.
var knownCodecs = []codec{
	{
		mime: webrtc.MimeTypeH264, clock: 90000, video: true,
		fmtp:       "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f",
		payloader:  func() rtp.Payloader { return &codecs.H264Payloader{} },
		depacketer: func() rtp.Depacketizer { return &codecs.H264Packet{} },
		keyframe:   msf.H264IsKeyframe,
	},
	{
		mime: webrtc.MimeTypeVP8, clock: 90000, video: true,
		payloader:  func() rtp.Payloader { return &codecs.VP8Payloader{EnablePictureID: true} },
		depacketer: func() rtp.Depacketizer { return &codecs.VP8Packet{} },
		// The VP8 frame tag's lowest bit is 0 on key frames (RFC 6386 9.1).
		keyframe: func(f []byte) bool { return len(f) > 0 && f[0]&1 == 0 },
	},
	{
		// VP9 and AV1 pass through: whatever a WHIP publisher sends is
		// served to WHEP viewers that offer the same codec.
		mime: webrtc.MimeTypeVP9, clock: 90000, video: true,
		fmtp:       "profile-id=0",
		payloader:  func() rtp.Payloader { return &codecs.VP9Payloader{} },
		depacketer: func() rtp.Depacketizer { return &codecs.VP9Packet{} },
		keyframe:   vp9IsKeyframe,
	},
	{
		mime: webrtc.MimeTypeAV1, clock: 90000, video: true,
		payloader:  func() rtp.Payloader { return &codecs.AV1Payloader{} },
		depacketer: func() rtp.Depacketizer { return &codecs.AV1Depacketizer{} },
		keyframe:   av1IsKeyframe,
	},
	{
		mime: webrtc.MimeTypeOpus, clock: 48000, channels: 2,
		fmtp:       "minptime=10;useinbandfec=1",
		payloader:  func() rtp.Payloader { return &codecs.OpusPayloader{} },
		depacketer: func() rtp.Depacketizer { return &codecs.OpusPacket{} },
		keyframe:   func([]byte) bool { return true },
	},
}

// capability is the codec as pion negotiates it.
func (c *codec) capability() webrtc.RTPCodecCapability {
	cap := webrtc.RTPCodecCapability{MimeType: c.mime, ClockRate: c.clock, Channels: c.channels, SDPFmtpLine: c.fmtp}
	if c.video {
		cap.RTCPFeedback = videoFeedback
	}
	return cap
}

// codecFor finds a codec by MIME type, case-insensitively as SDP allows.
func codecFor(mime string) (*codec, error) {
	for i := range knownCodecs {
		if strings.EqualFold(knownCodecs[i].mime, mime) {
			return &knownCodecs[i], nil
		}
	}
	return nil, fmt.Errorf("%w: %s", ErrUnsupportedCodec, mime)
}

// registerCodecs puts our codecs into a media engine with fixed payload
// types, so answers are stable across peers.
func registerCodecs(m *webrtc.MediaEngine) error {
	pts := map[string]webrtc.PayloadType{webrtc.MimeTypeH264: 102, webrtc.MimeTypeVP8: 96, webrtc.MimeTypeVP9: 98, webrtc.MimeTypeAV1: 45, webrtc.MimeTypeOpus: 111}
	for i := range knownCodecs {
		c := &knownCodecs[i]
		kind := webrtc.RTPCodecTypeAudio
		if c.video {
			kind = webrtc.RTPCodecTypeVideo
		}
		p := webrtc.RTPCodecParameters{RTPCodecCapability: c.capability(), PayloadType: pts[c.mime]}
		if err := m.RegisterCodec(p, kind); err != nil {
			return fmt.Errorf("webrtc: register %s: %w", c.mime, err)
		}
	}
	// H.264 offers from browsers come in several profiles; accept the
	// common High profile too so the answer can keep what the encoder sent.
	high := knownCodecs[0].capability()
	high.SDPFmtpLine = "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=640032"
	if err := m.RegisterCodec(webrtc.RTPCodecParameters{RTPCodecCapability: high, PayloadType: 112}, webrtc.RTPCodecTypeVideo); err != nil {
		return fmt.Errorf("webrtc: register h264 high: %w", err)
	}
	return nil
}

// vp9IsKeyframe reads the VP9 uncompressed header (VP9 bitstream 6.2):
// frame_marker, profile, [reserved], show_existing_frame, frame_type,
// where frame_type 0 is a key frame.
func vp9IsKeyframe(f []byte) bool {
	if len(f) == 0 || f[0]>>6 != 2 {
		return false
	}
	b := f[0]
	profile := (b>>5)&1 | (b>>4)&1<<1
	bit := 3
	if profile == 3 {
		bit = 2 // a reserved zero bit comes first
	}
	if b>>bit&1 == 1 { // show_existing_frame: a repeat, not a key frame
		return false
	}
	return b>>(bit-1)&1 == 0
}

// av1IsKeyframe reports whether a temporal unit (OBUs with size fields,
// as the depacketizer emits them) carries a sequence header, which
// encoders send with every key frame and decoders need to start.
func av1IsKeyframe(tu []byte) bool {
	const obuSequenceHeader = 1
	for len(tu) > 0 {
		h := tu[0]
		typ := h >> 3 & 0x0f
		n := 1
		if h&0x04 != 0 { // extension header
			n++
		}
		if typ == obuSequenceHeader {
			return true
		}
		if h&0x02 == 0 || n > len(tu) { // no size field: the rest is this OBU
			return false
		}
		size, m := leb128(tu[n:])
		if m == 0 || size > uint64(len(tu)-n-m) {
			return false
		}
		tu = tu[n+m+int(size):]
	}
	return false
}

// leb128 decodes an unsigned LEB128 of at most 8 bytes; m is 0 if
// malformed.
func leb128(b []byte) (v uint64, m int) {
	for i := 0; i < 8 && i < len(b); i++ {
		v |= uint64(b[i]&0x7f) << (7 * i)
		if b[i]&0x80 == 0 {
			return v, i + 1
		}
	}
	return 0, 0
}
