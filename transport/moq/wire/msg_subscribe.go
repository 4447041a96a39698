package wire

// Subscribe asks the publisher for newly published objects of a track.
type Subscribe struct {
	RequestID          uint64
	Namespace          Namespace
	TrackName          string
	SubscriberPriority uint8
	GroupOrder         GroupOrder // GroupOrderPublisher defers to the publisher
	Forward            bool
	Filter             Filter
	Params             Parameters
}

func (*Subscribe) Type() MessageType { return TypeSubscribe }
func (m *Subscribe) AppendPayload(b []byte, v Version) ([]byte, error) {
	return appendFields(v, m, b, m)
}
func (m *Subscribe) DecodePayload(p []byte, v Version) error {
	*m = Subscribe{}
	return decodeFields(v, m, p, m)
}

func (m *Subscribe) enc(e *encoder) {
	e.varint(m.RequestID)
	e.fullTrackName(m.Namespace, m.TrackName)
	e.u8(m.SubscriberPriority)
	e.groupOrder(m.GroupOrder, true)
	e.flag(m.Forward)
	e.filter(m.Filter)
	e.params(m.Params)
}

func (m *Subscribe) dec(d *decoder) {
	m.RequestID = d.varint()
	m.Namespace, m.TrackName = d.fullTrackName()
	m.SubscriberPriority = d.u8()
	m.GroupOrder = d.groupOrder(true)
	m.Forward = d.flag()
	m.Filter = d.filter()
	m.Params = d.versionParams()
}

// SubscribeOK accepts a subscription and assigns its Track Alias.
type SubscribeOK struct {
	RequestID     uint64
	TrackAlias    uint64
	Expires       uint64 // milliseconds; 0 means no known expiry
	GroupOrder    GroupOrder
	ContentExists bool
	Largest       Location // meaningful only when ContentExists
	Params        Parameters
}

func (*SubscribeOK) Type() MessageType { return TypeSubscribeOK }
func (m *SubscribeOK) AppendPayload(b []byte, v Version) ([]byte, error) {
	return appendFields(v, m, b, m)
}
func (m *SubscribeOK) DecodePayload(p []byte, v Version) error {
	*m = SubscribeOK{}
	return decodeFields(v, m, p, m)
}

func (m *SubscribeOK) enc(e *encoder) {
	e.varint(m.RequestID)
	e.varint(m.TrackAlias)
	e.varint(m.Expires)
	e.groupOrder(m.GroupOrder, false)
	e.flag(m.ContentExists)
	if m.ContentExists {
		e.location(m.Largest)
	}
	e.params(m.Params)
}

func (m *SubscribeOK) dec(d *decoder) {
	m.RequestID = d.varint()
	m.TrackAlias = d.varint()
	m.Expires = d.varint()
	m.GroupOrder = d.groupOrder(false)
	m.ContentExists = d.flag()
	if m.ContentExists {
		m.Largest = d.location()
	}
	m.Params = d.versionParams()
}

// SubscribeError rejects a SUBSCRIBE; ErrorCode is one of the
// SubscribeErr* codes.
type SubscribeError RequestError

func (*SubscribeError) Type() MessageType { return TypeSubscribeError }
func (m *SubscribeError) AppendPayload(b []byte, v Version) ([]byte, error) {
	return appendFields(v, m, b, (*RequestError)(m))
}
func (m *SubscribeError) DecodePayload(p []byte, v Version) error {
	*m = SubscribeError{}
	return decodeFields(v, m, p, (*RequestError)(m))
}

// SubscribeUpdate narrows an existing subscription.
type SubscribeUpdate struct {
	RequestID             uint64
	SubscriptionRequestID uint64
	Start                 Location
	EndGroup              uint64 // end group plus one; 0 means open-ended
	SubscriberPriority    uint8
	Forward               bool
	Params                Parameters
}

func (*SubscribeUpdate) Type() MessageType { return TypeSubscribeUpdate }
func (m *SubscribeUpdate) AppendPayload(b []byte, v Version) ([]byte, error) {
	return appendFields(v, m, b, m)
}
func (m *SubscribeUpdate) DecodePayload(p []byte, v Version) error {
	*m = SubscribeUpdate{}
	return decodeFields(v, m, p, m)
}

func (m *SubscribeUpdate) enc(e *encoder) {
	e.varint(m.RequestID)
	e.varint(m.SubscriptionRequestID)
	e.location(m.Start)
	e.varint(m.EndGroup)
	e.u8(m.SubscriberPriority)
	e.flag(m.Forward)
	e.params(m.Params)
}

func (m *SubscribeUpdate) dec(d *decoder) {
	m.RequestID = d.varint()
	m.SubscriptionRequestID = d.varint()
	m.Start = d.location()
	m.EndGroup = d.varint()
	m.SubscriberPriority = d.u8()
	m.Forward = d.flag()
	m.Params = d.versionParams()
}

// Unsubscribe ends a subscription from the subscriber side.
type Unsubscribe struct {
	RequestID uint64
}

func (*Unsubscribe) Type() MessageType { return TypeUnsubscribe }
func (m *Unsubscribe) AppendPayload(b []byte, v Version) ([]byte, error) {
	return appendFields(v, m, b, (*requestOnly)(m))
}
func (m *Unsubscribe) DecodePayload(p []byte, v Version) error {
	*m = Unsubscribe{}
	return decodeFields(v, m, p, (*requestOnly)(m))
}

// PublishDone ends a subscription from the publisher side (draft-14's
// name for what earlier drafts called SUBSCRIBE_DONE).
type PublishDone struct {
	RequestID   uint64
	StatusCode  uint64 // one of the PublishDone* codes
	StreamCount uint64 // streams opened; StreamCountUnknown if not tracked
	Reason      string
}

// StreamCountUnknown is the Stream Count a publisher sends when it cannot
// count exactly.
const StreamCountUnknown = MaxVarint

func (*PublishDone) Type() MessageType { return TypePublishDone }
func (m *PublishDone) AppendPayload(b []byte, v Version) ([]byte, error) {
	return appendFields(v, m, b, m)
}
func (m *PublishDone) DecodePayload(p []byte, v Version) error {
	*m = PublishDone{}
	return decodeFields(v, m, p, m)
}

func (m *PublishDone) enc(e *encoder) {
	e.varint(m.RequestID)
	e.varint(m.StatusCode)
	e.varint(m.StreamCount)
	e.reason(m.Reason)
}

func (m *PublishDone) dec(d *decoder) {
	m.RequestID = d.varint()
	m.StatusCode = d.varint()
	m.StreamCount = d.varint()
	m.Reason = d.reason()
}

// TrackStatus asks for a track's state; its layout is SUBSCRIBE's.
type TrackStatus Subscribe

func (*TrackStatus) Type() MessageType { return TypeTrackStatus }
func (m *TrackStatus) AppendPayload(b []byte, v Version) ([]byte, error) {
	return appendFields(v, m, b, (*Subscribe)(m))
}
func (m *TrackStatus) DecodePayload(p []byte, v Version) error {
	*m = TrackStatus{}
	return decodeFields(v, m, p, (*Subscribe)(m))
}

// TrackStatusOK answers TRACK_STATUS; its layout is SUBSCRIBE_OK's, with
// Track Alias 0.
type TrackStatusOK SubscribeOK

func (*TrackStatusOK) Type() MessageType { return TypeTrackStatusOK }
func (m *TrackStatusOK) AppendPayload(b []byte, v Version) ([]byte, error) {
	return appendFields(v, m, b, (*SubscribeOK)(m))
}
func (m *TrackStatusOK) DecodePayload(p []byte, v Version) error {
	*m = TrackStatusOK{}
	return decodeFields(v, m, p, (*SubscribeOK)(m))
}

// TrackStatusError rejects TRACK_STATUS with SUBSCRIBE_ERROR's layout.
type TrackStatusError RequestError

func (*TrackStatusError) Type() MessageType { return TypeTrackStatusError }
func (m *TrackStatusError) AppendPayload(b []byte, v Version) ([]byte, error) {
	return appendFields(v, m, b, (*RequestError)(m))
}
func (m *TrackStatusError) DecodePayload(p []byte, v Version) error {
	*m = TrackStatusError{}
	return decodeFields(v, m, p, (*RequestError)(m))
}
