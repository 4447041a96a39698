package webrtc

import (
	"sync"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
)

// historySize is how many sent packets a viewer can retransmit: about
// two seconds of a 2.5 Mbit/s stream, well beyond a NACK's round trip.
const historySize = 512

// maxResendPerNACK bounds the work one NACK packet can ask for.
const maxResendPerNACK = 64

// sentPacket is what a retransmission needs. The payload aliases the
// feed's packetized frame, which is immutable and shared by every viewer,
// so remembering it costs no copy.
type sentPacket struct {
	payload []byte
	ts      uint32
	seq     uint16
	marker  bool
}

// nackHistory is one viewer's recently sent packets of one track, by
// sequence number.
type nackHistory struct {
	mu   sync.Mutex
	ring [historySize]sentPacket
}

func (h *nackHistory) add(p sentPacket) {
	h.mu.Lock()
	h.ring[p.seq%historySize] = p
	h.mu.Unlock()
}

// resend writes again the packets a NACK names that are still in the
// history, and returns how many.
func (h *nackHistory) resend(n *rtcp.TransportLayerNack, write func(*rtp.Packet) error) int {
	var out []rtp.Packet
	h.mu.Lock()
	for _, pair := range n.Nacks {
		pair.Range(func(seq uint16) bool {
			p := h.ring[seq%historySize]
			if p.payload != nil && p.seq == seq {
				out = append(out, rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: seq, Timestamp: p.ts, Marker: p.marker}, Payload: p.payload})
			}
			return len(out) < maxResendPerNACK
		})
		if len(out) >= maxResendPerNACK {
			break
		}
	}
	h.mu.Unlock()
	for i := range out {
		if write(&out[i]) != nil {
			return i
		}
	}
	return len(out)
}
