package wire

// FetchType selects a standalone fetch or one of the joining forms.
type FetchType uint64

// Fetch types (draft-14 FETCH).
const (
	FetchStandalone      FetchType = 0x1
	FetchRelativeJoining FetchType = 0x2
	FetchAbsoluteJoining FetchType = 0x3
)

// Fetch requests already-published objects. Namespace, TrackName, Start
// and End are used by standalone fetches; JoiningRequestID and
// JoiningStart by joining ones.
type Fetch struct {
	RequestID          uint64
	SubscriberPriority uint8
	GroupOrder         GroupOrder // GroupOrderPublisher defers to the publisher
	FetchType          FetchType

	Namespace Namespace
	TrackName string
	Start     Location
	End       Location // end plus one object; End.Object 0 means the whole group

	JoiningRequestID uint64
	JoiningStart     uint64 // groups back (relative) or a group ID (absolute)

	Params Parameters
}

func (*Fetch) Type() MessageType                                   { return TypeFetch }
func (m *Fetch) AppendPayload(b []byte, v Version) ([]byte, error) { return appendFields(v, m, b, m) }
func (m *Fetch) DecodePayload(p []byte, v Version) error {
	*m = Fetch{}
	return decodeFields(v, m, p, m)
}

func (m *Fetch) enc(e *encoder) {
	e.varint(m.RequestID)
	e.u8(m.SubscriberPriority)
	e.groupOrder(m.GroupOrder, true)
	e.varint(uint64(m.FetchType))
	switch m.FetchType {
	case FetchStandalone:
		e.fullTrackName(m.Namespace, m.TrackName)
		e.location(m.Start)
		e.location(m.End)
	case FetchRelativeJoining, FetchAbsoluteJoining:
		e.varint(m.JoiningRequestID)
		e.varint(m.JoiningStart)
	default:
		e.fail(ErrMalformed)
	}
	e.params(m.Params)
}

func (m *Fetch) dec(d *decoder) {
	m.RequestID = d.varint()
	m.SubscriberPriority = d.u8()
	m.GroupOrder = d.groupOrder(true)
	m.FetchType = FetchType(d.varint())
	switch m.FetchType {
	case FetchStandalone:
		m.Namespace, m.TrackName = d.fullTrackName()
		m.Start = d.location()
		m.End = d.location()
	case FetchRelativeJoining, FetchAbsoluteJoining:
		m.JoiningRequestID = d.varint()
		m.JoiningStart = d.varint()
	default:
		d.fail(ErrMalformed)
	}
	m.Params = d.versionParams()
}

// FetchOK accepts a FETCH and states the end of what will be delivered.
type FetchOK struct {
	RequestID  uint64
	GroupOrder GroupOrder
	EndOfTrack bool
	End        Location
	Params     Parameters
}

func (*FetchOK) Type() MessageType                                   { return TypeFetchOK }
func (m *FetchOK) AppendPayload(b []byte, v Version) ([]byte, error) { return appendFields(v, m, b, m) }
func (m *FetchOK) DecodePayload(p []byte, v Version) error {
	*m = FetchOK{}
	return decodeFields(v, m, p, m)
}

func (m *FetchOK) enc(e *encoder) {
	e.varint(m.RequestID)
	e.groupOrder(m.GroupOrder, false)
	e.flag(m.EndOfTrack)
	e.location(m.End)
	e.params(m.Params)
}

func (m *FetchOK) dec(d *decoder) {
	m.RequestID = d.varint()
	m.GroupOrder = d.groupOrder(false)
	m.EndOfTrack = d.flag()
	m.End = d.location()
	m.Params = d.versionParams()
}

// FetchError rejects a FETCH; ErrorCode is one of the FetchErr* codes.
type FetchError RequestError

func (*FetchError) Type() MessageType { return TypeFetchError }
func (m *FetchError) AppendPayload(b []byte, v Version) ([]byte, error) {
	return appendFields(v, m, b, (*RequestError)(m))
}
func (m *FetchError) DecodePayload(p []byte, v Version) error {
	*m = FetchError{}
	return decodeFields(v, m, p, (*RequestError)(m))
}

// FetchCancel abandons a fetch.
type FetchCancel struct {
	RequestID uint64
}

func (*FetchCancel) Type() MessageType { return TypeFetchCancel }
func (m *FetchCancel) AppendPayload(b []byte, v Version) ([]byte, error) {
	return appendFields(v, m, b, (*requestOnly)(m))
}
func (m *FetchCancel) DecodePayload(p []byte, v Version) error {
	*m = FetchCancel{}
	return decodeFields(v, m, p, (*requestOnly)(m))
}
