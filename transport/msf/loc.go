package msf

import (
	"fmt"
	"time"
)

// LOC property types (the LOC draft's registrations in the MoQ properties
// registry) and the MSF ones. Even types carry a varint, odd types bytes.
const (
	PropTimescale         uint64 = 0x08 // timestamp units per second
	PropVideoFrameMarking uint64 = 0x09 // RFC 9626 frame marking, 1-4 bytes
	PropAudioLevel        uint64 = 0x0C // RFC 6464 level and voice activity
	PropVideoConfig       uint64 = 0x0D // codec "extradata" (e.g. avcC)
	PropAudioConfig       uint64 = 0x0F // codec description (e.g. OpusHead)
	PropTimestamp         uint64 = 0x10 // media time, or unix micros without a timescale

	PropMSFCompression    uint64 = 0x78 // MSF_COMPRESSION: 0 none, 1 gzip
	PropMSFInitialization uint64 = 0x79 // MSF_INITIALIZATION data
)

// MSF compression values.
const (
	CompressionNone uint64 = 0
	CompressionGzip uint64 = 1
)

// Properties is the typed view of an object's LOC properties. The Has*
// flags distinguish "absent" from zero, because absence changes meaning
// (no timescale means the timestamp is wall-clock microseconds).
type Properties struct {
	HasTimestamp bool
	Timestamp    uint64
	HasTimescale bool
	Timescale    uint64

	FrameMarking *FrameMarking
	HasAudio     bool // AudioLevel is present
	AudioLevel   AudioLevel

	VideoConfig []byte
	AudioConfig []byte

	// Other keeps properties LOC does not define (MoQ transport ones such
	// as prior group gap, MSF ones), in order, so relaying loses nothing.
	Other []KV
}

// AudioLevel is the RFC 6464 audio level: the level in -dBov (0 loudest,
// 127 silence) and the voice activity flag.
type AudioLevel struct {
	Voice bool
	Level uint8 // 0..127
}

func (a AudioLevel) value() uint64 {
	v := uint64(a.Level & 0x7f)
	if a.Voice {
		v |= 0x80
	}
	return v
}

// FrameMarking is the RFC 9626 frame marking of a video frame.
type FrameMarking struct {
	Start, End    bool  // first / last packet of the frame; both set for whole frames
	Independent   bool  // decodable without prior frames (keyframe)
	Discardable   bool  // no other frame depends on it
	BaseLayerSync bool  // depends only on the base temporal layer
	TID           uint8 // temporal layer, 0..7

	// Scalable streams add the layer ID and, optionally, TL0PICIDX.
	HasLID    bool
	LID       uint8
	HasTL0    bool
	TL0PICIDX uint8
}

func (f *FrameMarking) bytes() []byte {
	b0 := f.TID & 0x07
	for _, bit := range [...]struct {
		on   bool
		mask byte
	}{{f.Start, 0x80}, {f.End, 0x40}, {f.Independent, 0x20}, {f.Discardable, 0x10}, {f.BaseLayerSync, 0x08}} {
		if bit.on {
			b0 |= bit.mask
		}
	}
	switch {
	case f.HasLID && f.HasTL0:
		return []byte{b0, f.LID, f.TL0PICIDX}
	case f.HasLID:
		return []byte{b0, f.LID}
	}
	return []byte{b0}
}

func parseFrameMarking(b []byte) (*FrameMarking, error) {
	if len(b) < 1 || len(b) > 4 {
		return nil, fmt.Errorf("%w: video frame marking is %d bytes, want 1-4", ErrMalformed, len(b))
	}
	f := &FrameMarking{
		Start: b[0]&0x80 != 0, End: b[0]&0x40 != 0, Independent: b[0]&0x20 != 0,
		Discardable: b[0]&0x10 != 0, BaseLayerSync: b[0]&0x08 != 0, TID: b[0] & 0x07,
	}
	if len(b) >= 2 {
		f.HasLID, f.LID = true, b[1]
	}
	if len(b) >= 3 {
		f.HasTL0, f.TL0PICIDX = true, b[2]
	}
	return f, nil
}

// WallClock returns the timestamp as a time when it is wall-clock (no
// timescale), which is how Strata stamps capture time.
func (p *Properties) WallClock() (time.Time, bool) {
	if !p.HasTimestamp || p.HasTimescale {
		return time.Time{}, false
	}
	return time.UnixMicro(int64(p.Timestamp)), true
}

// MediaTime returns the timestamp converted to a duration using the
// timescale, when both are present.
func (p *Properties) MediaTime() (time.Duration, bool) {
	if !p.HasTimestamp || !p.HasTimescale || p.Timescale == 0 {
		return 0, false
	}
	sec, rem := p.Timestamp/p.Timescale, p.Timestamp%p.Timescale
	return time.Duration(sec)*time.Second + time.Duration(rem*uint64(time.Second)/p.Timescale), true
}

// KVs returns the properties as key-value pairs in ascending type order.
func (p *Properties) KVs() []KV {
	kvs := make([]KV, 0, 6+len(p.Other))
	if p.HasTimescale {
		kvs = append(kvs, KV{Type: PropTimescale, Value: p.Timescale})
	}
	if p.FrameMarking != nil {
		kvs = append(kvs, KV{Type: PropVideoFrameMarking, Bytes: p.FrameMarking.bytes()})
	}
	if p.HasAudio {
		kvs = append(kvs, KV{Type: PropAudioLevel, Value: p.AudioLevel.value()})
	}
	if p.VideoConfig != nil {
		kvs = append(kvs, KV{Type: PropVideoConfig, Bytes: p.VideoConfig})
	}
	if p.AudioConfig != nil {
		kvs = append(kvs, KV{Type: PropAudioConfig, Bytes: p.AudioConfig})
	}
	if p.HasTimestamp {
		kvs = append(kvs, KV{Type: PropTimestamp, Value: p.Timestamp})
	}
	kvs = append(kvs, p.Other...)
	return kvs
}

// AppendProperties serializes p as the property bytes of a MoQ object
// (the LOC public properties) and appends them to dst.
func AppendProperties(dst []byte, p *Properties, enc KVEncoding) ([]byte, error) {
	return AppendKVs(dst, p.KVs(), enc)
}

// ParseProperties parses an object's property bytes into the LOC view.
// Byte fields alias b. A LOC property whose value does not match its
// defined encoding is an error, as the transport requires.
func ParseProperties(b []byte, enc KVEncoding) (*Properties, error) {
	kvs, err := ParseKVs(b, enc)
	if err != nil {
		return nil, err
	}
	p := &Properties{}
	for _, kv := range kvs {
		switch kv.Type {
		case PropTimestamp:
			p.HasTimestamp, p.Timestamp = true, kv.Value
		case PropTimescale:
			if kv.Value == 0 {
				return nil, fmt.Errorf("%w: timescale 0", ErrMalformed)
			}
			p.HasTimescale, p.Timescale = true, kv.Value
		case PropVideoFrameMarking:
			if p.FrameMarking, err = parseFrameMarking(kv.Bytes); err != nil {
				return nil, err
			}
		case PropAudioLevel:
			if kv.Value > 0xff {
				return nil, fmt.Errorf("%w: audio level 0x%x exceeds 8 bits", ErrMalformed, kv.Value)
			}
			p.HasAudio = true
			p.AudioLevel = AudioLevel{Voice: kv.Value&0x80 != 0, Level: uint8(kv.Value & 0x7f)}
		case PropVideoConfig:
			p.VideoConfig = kv.Bytes
		case PropAudioConfig:
			p.AudioConfig = kv.Bytes
		default:
			p.Other = append(p.Other, kv)
		}
	}
	return p, nil
}
