package msf

import (
	"encoding/binary"
	"fmt"
)

// LOC payloads are the codec's elementary bitstream exactly as WebCodecs
// carries it in an EncodedVideoChunk/EncodedAudioChunk, one frame per
// object:
//
//   - Opus: the Opus packet, unchanged; its OpusHead, if any, travels as the
//     Audio Config property.
//   - H.264 "avc3" tracks (what Strata publishes): the Annex B access unit
//     with 4-byte start codes, parameter sets in band before each IDR.
//   - H.264 "avc1" tracks: the access unit with 4-byte big-endian NAL
//     lengths, parameter sets in the Video Config property (avcC).
//
// The helpers below cover those conversions and the properties Strata puts
// on every object.

// H264 NAL unit types that matter for framing decisions.
const (
	h264NALIDR = 5
	h264NALSPS = 7
	h264NALPPS = 8
)

// SplitAnnexB returns the NAL units of an Annex B access unit (3- or 4-byte
// start codes), aliasing au. Bytes before the first start code are ignored.
func SplitAnnexB(au []byte) [][]byte {
	var nals [][]byte
	start := -1
	for i := 0; i+2 < len(au); {
		if au[i] == 0 && au[i+1] == 0 && au[i+2] == 1 {
			if start >= 0 {
				end := i
				if end > start && au[end-1] == 0 { // 4-byte start code
					end--
				}
				nals = appendNAL(nals, au[start:end])
			}
			i += 3
			start = i
			continue
		}
		i++
	}
	if start >= 0 && start <= len(au) {
		nals = appendNAL(nals, au[start:])
	}
	return nals
}

func appendNAL(nals [][]byte, n []byte) [][]byte {
	// Trailing zero bytes belong to the next start code or are padding.
	for len(n) > 0 && n[len(n)-1] == 0 {
		n = n[:len(n)-1]
	}
	if len(n) == 0 {
		return nals
	}
	return append(nals, n)
}

// AnnexBToAVC converts an Annex B access unit to the length-prefixed form
// of "avc1" tracks. With dropParamSets, SPS and PPS NAL units are removed
// because avc1 carries them in the Video Config property instead.
func AnnexBToAVC(au []byte, dropParamSets bool) []byte {
	nals := SplitAnnexB(au)
	out := make([]byte, 0, len(au)+4)
	for _, n := range nals {
		if t := n[0] & 0x1f; dropParamSets && (t == h264NALSPS || t == h264NALPPS) {
			continue
		}
		out = binary.BigEndian.AppendUint32(out, uint32(len(n)))
		out = append(out, n...)
	}
	return out
}

// AVCToAnnexB converts a length-prefixed access unit (4-byte lengths) to
// Annex B with 4-byte start codes.
func AVCToAnnexB(au []byte) ([]byte, error) {
	out := make([]byte, 0, len(au)+4)
	for off := 0; off < len(au); {
		if len(au)-off < 4 {
			return nil, fmt.Errorf("%w: truncated NAL length at %d", ErrMalformed, off)
		}
		n := int(binary.BigEndian.Uint32(au[off:]))
		off += 4
		if n == 0 || n > len(au)-off {
			return nil, fmt.Errorf("%w: NAL length %d at %d", ErrMalformed, n, off-4)
		}
		out = append(out, 0, 0, 0, 1)
		out = append(out, au[off:off+n]...)
		off += n
	}
	return out, nil
}

// H264IsKeyframe reports whether an Annex B access unit contains an IDR
// slice, i.e. must start a new group.
func H264IsKeyframe(au []byte) bool {
	for _, n := range SplitAnnexB(au) {
		if n[0]&0x1f == h264NALIDR {
			return true
		}
	}
	return false
}

// VideoProperties returns the LOC properties Strata sets on a video object:
// the capture wall-clock timestamp (unix micros, so no timescale), frame
// marking of a whole frame, and the decoder config on keyframes when the
// track keeps parameter sets out of band.
func VideoProperties(captureMicros int64, keyframe bool, config []byte) *Properties {
	p := &Properties{
		HasTimestamp: true,
		Timestamp:    uint64(max(captureMicros, 0)),
		FrameMarking: &FrameMarking{Start: true, End: true, Independent: keyframe},
	}
	if keyframe {
		p.VideoConfig = config
	}
	return p
}

// AudioProperties returns the LOC properties Strata sets on an audio
// object; level is optional (nil when the encoder does not measure it).
func AudioProperties(captureMicros int64, level *AudioLevel) *Properties {
	p := &Properties{HasTimestamp: true, Timestamp: uint64(max(captureMicros, 0))}
	if level != nil {
		p.HasAudio, p.AudioLevel = true, *level
	}
	return p
}
