package moq

import "github.com/quic-go/quic-go"

// Stream priorities. quic-go schedules send streams by an urgency of 0–7
// (lower first; within a level, non-incremental streams go in stream ID
// order). MOQT's scheduling (draft-14 "Scheduling Algorithm") orders by
// subscriber priority, then publisher priority, then group order; both
// priorities are 0–255, lower first. The control stream, which the spec
// puts above all objects, gets urgency 0; data streams get 1–7.
//
// webtransport-go v0.13 does not expose stream priorities, so over
// WebTransport every stream keeps quic-go's default.

// prioritizer is implemented by quic-go's send streams.
type prioritizer interface {
	SetPriority(urgency int8, incremental bool)
}

// The raw QUIC adapters carry quic-go's SetPriority through.
var (
	_ prioritizer = quicSend{(*quic.SendStream)(nil)}
	_ prioritizer = quicStream{(*quic.Stream)(nil)}
)

const (
	urgencyControl = 0
	urgencyData    = 1 // most urgent data level
	urgencyLowest  = 7
)

// priorityBand folds a 0–255 priority number into a few bands that keep
// the small values Strata uses (audio 0, video 1, …) apart and lump the
// rest: 0, 1, 2, 3–15, 16–127, 128–255.
func priorityBand(p uint8) int8 {
	switch {
	case p < 3:
		return int8(p)
	case p < 16:
		return 3
	case p < 128:
		return 4
	default:
		return 5
	}
}

// dataUrgency maps a subgroup's subscriber and publisher priority to a
// quic-go urgency: the subscriber's band first; a publisher priority of
// 128 or more (less important content) drops one level further.
func dataUrgency(subscriber, publisher uint8) int8 {
	u := urgencyData + priorityBand(subscriber)
	if publisher >= 128 {
		u++
	}
	return min(u, urgencyLowest)
}

// setPriority applies an urgency where the transport supports it.
// Streams are non-incremental so that, at equal urgency, the older
// stream (the older group) finishes first, as ascending group order asks.
func setPriority(st any, urgency int8) {
	if p, ok := st.(prioritizer); ok {
		p.SetPriority(urgency, false)
	}
}
