package webrtc

import (
	"encoding/binary"
	"slices"

	"github.com/pion/rtp"
)

// absCaptureTimeURI is the RTP header extension carrying the sender's
// capture time, which we prefer to our receive time when present.
const absCaptureTimeURI = "http://www.webrtc.org/experiments/rtp-hdrext/abs-capture-time"

// ntpUnixOffset is the seconds from the NTP epoch (1900) to Unix's (1970).
const ntpUnixOffset = 2208988800

// parseAbsCaptureTime returns the capture time in unix microseconds from
// the extension's 64-bit NTP timestamp.
func parseAbsCaptureTime(b []byte) (int64, bool) {
	if len(b) < 8 {
		return 0, false
	}
	ntp := binary.BigEndian.Uint64(b)
	sec := int64(ntp>>32) - ntpUnixOffset
	frac := int64((ntp & 0xffffffff) * 1_000_000 >> 32)
	if sec <= 0 {
		return 0, false
	}
	return sec*1_000_000 + frac, true
}

// assembler rebuilds frames from one track's RTP packets. Video frames end
// at the marker bit and are emitted only when every packet from the
// frame's first to the marker is present; anything else is dropped and
// reported as lost so the caller can ask for a keyframe. Emitting on the
// marker instead of on the next frame's first packet (as pion's sample
// builder does) saves a frame interval of latency. Each audio packet is a
// frame.
type assembler struct {
	c   *codec
	dep rtp.Depacketizer

	ts      uint32
	pkts    []*rtp.Packet // current frame, sorted by sequence number
	have    bool
	lastSeq uint16 // last packet of the last emitted frame
	synced  bool
	buf     []byte
}

func newAssembler(c *codec) *assembler { return &assembler{c: c, dep: c.depacketer()} }

// push takes a packet and returns a finished frame with its RTP
// timestamp, or nil; lost reports a frame that had to be dropped.
func (a *assembler) push(p *rtp.Packet) (frame []byte, ts uint32, lost bool) {
	if !a.c.video {
		out, err := a.dep.Unmarshal(p.Payload)
		if err != nil || len(out) == 0 {
			return nil, 0, false
		}
		return slices.Clone(out), p.Timestamp, false
	}
	if a.have && p.Timestamp != a.ts {
		if int32(p.Timestamp-a.ts) < 0 {
			return nil, 0, false // late packet of a frame already given up
		}
		a.reset()
		a.synced = false
		lost = true
	}
	if !a.have {
		a.have, a.ts = true, p.Timestamp
	}
	i, found := slices.BinarySearchFunc(a.pkts, p.SequenceNumber, func(x *rtp.Packet, seq uint16) int {
		return int(int16(x.SequenceNumber - seq))
	})
	if found {
		return nil, 0, lost
	}
	a.pkts = slices.Insert(a.pkts, i, p.Clone())
	f, ok := a.complete()
	if !ok {
		return nil, 0, lost
	}
	return f, a.ts, lost
}

func (a *assembler) complete() ([]byte, bool) {
	last := a.pkts[len(a.pkts)-1]
	if !last.Marker {
		return nil, false
	}
	first := a.pkts[0]
	if !a.dep.IsPartitionHead(first.Payload) || a.synced && first.SequenceNumber != a.lastSeq+1 {
		return nil, false
	}
	if int(last.SequenceNumber-first.SequenceNumber)+1 != len(a.pkts) {
		return nil, false
	}
	a.buf = a.buf[:0]
	dep := a.c.depacketer()
	for _, p := range a.pkts {
		out, err := dep.Unmarshal(p.Payload)
		if err != nil {
			a.giveUp(last.SequenceNumber)
			return nil, false
		}
		a.buf = append(a.buf, out...)
	}
	a.lastSeq, a.synced = last.SequenceNumber, true
	frame := slices.Clone(a.buf)
	a.reset()
	if len(frame) == 0 {
		return nil, false
	}
	return frame, true
}

func (a *assembler) giveUp(seq uint16) {
	a.lastSeq, a.synced = seq, true
	a.reset()
}

func (a *assembler) reset() {
	clear(a.pkts)
	a.pkts = a.pkts[:0]
	a.have = false
}
