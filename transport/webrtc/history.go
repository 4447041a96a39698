package webrtc

import (
	"sync"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
)

// historySize is how many sent packets a viewer can retransmit: about
// two seconds of a 2.5 Mbit/s stream, well beyond a NACK's round trip.
const historySize = 512

// Retransmission limits. A viewer that keeps losing (a congested link, a
// starved client) re-NACKs the same packets every interval; answering
// all of it would multiply the egress exactly when the path is worst.
// So a packet is sent again at most twice and only while fresh, one NACK
// asks for at most 64, and a viewer's retransmissions stay within a
// quarter of the packets it was sent (credit, earned per packet sent).
const (
	maxResendPerNACK = 64
	maxResends       = 2
	maxResendAge     = time.Second
	resendCost       = 4   // credits per retransmission
	maxCredit        = 256 // bursts of up to 64 retransmissions
)

// sentPacket is what a retransmission needs. The payload aliases the
// feed's packetized frame, which is immutable and shared by every viewer,
// so remembering it costs no copy.
type sentPacket struct {
	payload []byte
	at      int64 // when sent, unix nanoseconds
	ts      uint32
	seq     uint16
	marker  bool
	resends uint8
}

// nackHistory is one viewer's recently sent packets of one track, by
// sequence number.
type nackHistory struct {
	mu     sync.Mutex
	ring   [historySize]sentPacket
	credit int
}

func (h *nackHistory) add(p sentPacket) {
	h.mu.Lock()
	h.ring[p.seq%historySize] = p
	h.credit = min(h.credit+1, maxCredit)
	h.mu.Unlock()
}

// resend writes again the packets a NACK names that are still in the
// history, and returns how many.
func (h *nackHistory) resend(n *rtcp.TransportLayerNack, now time.Time, write func(*rtp.Packet) error) int {
	var out []rtp.Packet
	oldest := now.Add(-maxResendAge).UnixNano()
	h.mu.Lock()
	for _, pair := range n.Nacks {
		pair.Range(func(seq uint16) bool {
			p := &h.ring[seq%historySize]
			if p.payload == nil || p.seq != seq || p.resends >= maxResends || p.at < oldest || h.credit < resendCost {
				return h.credit >= resendCost
			}
			p.resends++
			h.credit -= resendCost
			out = append(out, rtp.Packet{Header: rtp.Header{Version: 2, SequenceNumber: seq, Timestamp: p.ts, Marker: p.marker}, Payload: p.payload})
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
