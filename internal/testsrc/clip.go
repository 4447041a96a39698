package testsrc

import (
	_ "embed"
	"fmt"

	"github.com/strata-edge/strata/transport/msf"
)

//go:embed testdata/clip.h264
var clipH264 []byte

//go:embed testdata/tone.opus
var clipOpus []byte

// Properties of the committed clip (testdata/README.md).
const (
	ClipWidth     = 320
	ClipHeight    = 180
	ClipFramerate = 30
	// AudioPacketDuration is the duration of one Opus packet of the clip.
	AudioPacketDuration = 20 // milliseconds
	clipSampleRate      = 48000
	clipChannels        = "1"
	clipAudioBitrate    = 24000
	clipVideoBitrate    = 250000
)

// Clip is a parsed sample: H.264 access units (Annex B, 4-byte start
// codes) and Opus packets. Its slices are shared and must not be modified.
type Clip struct {
	Video    [][]byte
	Keyframe []bool // Keyframe[i] reports whether Video[i] holds an IDR
	Audio    [][]byte
	// Codec is the WebCodecs "avc3" codec string from the first SPS.
	Codec string
}

// LoadClip parses the clip embedded in the binary.
func LoadClip() (*Clip, error) { return ParseClip(clipH264, clipOpus) }

// ParseClip parses a raw Annex B H.264 stream and an Ogg Opus file. The
// video must start with a keyframe so that every loop does.
func ParseClip(h264, oggOpus []byte) (*Clip, error) {
	aus, err := SplitAccessUnits(h264)
	if err != nil {
		return nil, fmt.Errorf("video: %w", err)
	}
	if len(aus) == 0 {
		return nil, fmt.Errorf("video: %w: no access units", ErrMalformed)
	}
	audio, err := ParseOggOpus(oggOpus)
	if err != nil {
		return nil, fmt.Errorf("audio: %w", err)
	}
	if len(audio) == 0 {
		return nil, fmt.Errorf("audio: %w: no packets", ErrMalformed)
	}
	c := &Clip{Video: aus, Audio: audio, Keyframe: make([]bool, len(aus))}
	for i, au := range aus {
		c.Keyframe[i] = msf.H264IsKeyframe(au)
	}
	if !c.Keyframe[0] {
		return nil, fmt.Errorf("video: %w: does not start with a keyframe", ErrMalformed)
	}
	for _, n := range msf.SplitAnnexB(aus[0]) {
		if n[0]&0x1f == nalSPS && len(n) >= 4 {
			c.Codec = fmt.Sprintf("avc3.%02X%02X%02X", n[1], n[2], n[3])
			break
		}
	}
	if c.Codec == "" {
		return nil, fmt.Errorf("video: %w: no SPS before the first keyframe", ErrMalformed)
	}
	return c, nil
}
