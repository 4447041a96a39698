package media

import "time"

// Object is one media frame (a MoQ object). Payload and Extensions are shared
// by every subscriber and must not be modified after Append.
type Object struct {
	// GroupID and ID locate the object in its track. Track.Append assigns
	// both; Track.AppendObject keeps the ID given by the caller (a relay
	// forwarding upstream IDs) and sets GroupID.
	GroupID uint64
	ID      uint64

	// Timestamp is the presentation timestamp in media time.
	Timestamp time.Duration
	// CaptureMicros is the capture wall-clock time, unix microseconds; it is
	// what end-to-end latency metrics are computed from.
	CaptureMicros int64
	// Keyframe marks an independently decodable frame; on Append it starts a
	// new group.
	Keyframe bool

	// Payload is the frame, e.g. a LOC payload.
	Payload []byte
	// Extensions are the serialized object properties (MoQ extension headers,
	// LOC public properties) carried alongside the payload, or nil.
	Extensions []byte

	// Framed, if set, is the whole object already encoded for a sender
	// (TrackOptions.Frame), header then payload in one shared buffer, so
	// every subscriber's sender writes it with one call and no copy.
	// Payload and Extensions may alias into it.
	Framed []byte
}

// objectOverhead approximates the per-object bookkeeping cost so that byte
// budgets also bound tracks of many tiny objects.
const objectOverhead = 96

// size is what an object counts against a track's byte budget. A framed
// object's payload and extensions normally alias its Framed buffer.
func (o *Object) size() int64 {
	if len(o.Framed) > 0 {
		return int64(len(o.Framed)) + objectOverhead
	}
	return int64(len(o.Payload)+len(o.Extensions)) + objectOverhead
}
