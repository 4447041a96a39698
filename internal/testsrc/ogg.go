package testsrc

import (
	"bytes"
	"encoding/binary"
	"fmt"
)

// Bounds of the Ogg Opus parser: the clip is tiny, so anything larger is
// an error rather than an allocation.
const (
	// MaxOpusPacket bounds one reassembled packet (Opus packets are at
	// most 1275 bytes per frame and 120 ms per packet).
	MaxOpusPacket = 64 << 10
	// MaxOpusPackets bounds how many audio packets ParseOggOpus returns.
	MaxOpusPackets = 1 << 16
)

const oggHeaderLen = 27

// ParseOggOpus returns the Opus audio packets of the first logical
// bitstream of an Ogg file, skipping the OpusHead and OpusTags header
// packets. CRCs are not checked; lengths are.
func ParseOggOpus(b []byte) ([][]byte, error) {
	var (
		packets [][]byte
		partial []byte
		serial  uint32
		started bool
		index   int // packet index in the logical stream, headers included
	)
	for off := 0; off < len(b); {
		if len(b)-off < oggHeaderLen {
			return nil, fmt.Errorf("%w: truncated page header at %d", ErrMalformed, off)
		}
		h := b[off : off+oggHeaderLen]
		if !bytes.Equal(h[:4], []byte("OggS")) || h[4] != 0 {
			return nil, fmt.Errorf("%w: no Ogg page at %d", ErrMalformed, off)
		}
		continued := h[5]&0x01 != 0
		pageSerial := binary.LittleEndian.Uint32(h[14:18])
		nseg := int(h[26])
		if len(b)-off-oggHeaderLen < nseg {
			return nil, fmt.Errorf("%w: truncated segment table at %d", ErrMalformed, off)
		}
		lacing := b[off+oggHeaderLen : off+oggHeaderLen+nseg]
		body := 0
		for _, l := range lacing {
			body += int(l)
		}
		start := off + oggHeaderLen + nseg
		if len(b)-start < body {
			return nil, fmt.Errorf("%w: truncated page body at %d", ErrMalformed, off)
		}
		off = start + body
		if !started {
			started, serial = true, pageSerial
		}
		if pageSerial != serial {
			continue // another logical stream
		}
		if !continued && len(partial) > 0 {
			return nil, fmt.Errorf("%w: unfinished packet before page at %d", ErrMalformed, start)
		}
		if continued && len(partial) == 0 && index == 0 {
			return nil, fmt.Errorf("%w: stream starts with a continued page", ErrMalformed)
		}
		p := start
		for _, l := range lacing {
			if len(partial)+int(l) > MaxOpusPacket {
				return nil, fmt.Errorf("%w: packet over %d bytes", ErrTooLarge, MaxOpusPacket)
			}
			partial = append(partial, b[p:p+int(l)]...)
			p += int(l)
			if l == 255 {
				continue // the packet goes on in the next segment
			}
			pkt := partial
			partial = nil
			switch index {
			case 0:
				if !bytes.HasPrefix(pkt, []byte("OpusHead")) {
					return nil, fmt.Errorf("%w: first packet is not OpusHead", ErrMalformed)
				}
			case 1:
				if !bytes.HasPrefix(pkt, []byte("OpusTags")) {
					return nil, fmt.Errorf("%w: second packet is not OpusTags", ErrMalformed)
				}
			default:
				if len(pkt) == 0 {
					return nil, fmt.Errorf("%w: empty Opus packet %d", ErrMalformed, index)
				}
				if len(packets) >= MaxOpusPackets {
					return nil, fmt.Errorf("%w: more than %d packets", ErrTooLarge, MaxOpusPackets)
				}
				packets = append(packets, pkt)
			}
			index++
		}
	}
	if len(partial) > 0 {
		return nil, fmt.Errorf("%w: stream ends inside a packet", ErrMalformed)
	}
	if index < 2 {
		return nil, fmt.Errorf("%w: missing Opus headers", ErrMalformed)
	}
	return packets, nil
}
