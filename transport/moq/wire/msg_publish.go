package wire

// Publish starts a publisher-initiated subscription to a track.
//
// Draft-14's PUBLISH, PUBLISH_OK and PUBLISH_ERROR boxes write the length
// as "Length (i)", but the framing section says every control message has
// a 16-bit length; the codec frames all messages alike, as the framing
// rule (and every other message box) requires.
type Publish struct {
	RequestID     uint64
	Namespace     Namespace
	TrackName     string
	TrackAlias    uint64
	GroupOrder    GroupOrder
	ContentExists bool
	Largest       Location // meaningful only when ContentExists
	Forward       bool
	Params        Parameters
}

func (*Publish) Type() MessageType                                   { return TypePublish }
func (m *Publish) AppendPayload(b []byte, v Version) ([]byte, error) { return appendFields(v, m, b, m) }
func (m *Publish) DecodePayload(p []byte, v Version) error {
	*m = Publish{}
	return decodeFields(v, m, p, m)
}

func (m *Publish) enc(e *encoder) {
	e.varint(m.RequestID)
	e.fullTrackName(m.Namespace, m.TrackName)
	e.varint(m.TrackAlias)
	e.groupOrder(m.GroupOrder, false)
	e.flag(m.ContentExists)
	if m.ContentExists {
		e.location(m.Largest)
	}
	e.flag(m.Forward)
	e.params(m.Params)
}

func (m *Publish) dec(d *decoder) {
	m.RequestID = d.varint()
	m.Namespace, m.TrackName = d.fullTrackName()
	m.TrackAlias = d.varint()
	m.GroupOrder = d.groupOrder(false)
	m.ContentExists = d.flag()
	if m.ContentExists {
		m.Largest = d.location()
	}
	m.Forward = d.flag()
	m.Params = d.versionParams()
}

// PublishOK accepts a PUBLISH and sets the subscription's terms.
type PublishOK struct {
	RequestID          uint64
	Forward            bool
	SubscriberPriority uint8
	GroupOrder         GroupOrder
	Filter             Filter
	Params             Parameters
}

func (*PublishOK) Type() MessageType { return TypePublishOK }
func (m *PublishOK) AppendPayload(b []byte, v Version) ([]byte, error) {
	return appendFields(v, m, b, m)
}
func (m *PublishOK) DecodePayload(p []byte, v Version) error {
	*m = PublishOK{}
	return decodeFields(v, m, p, m)
}

func (m *PublishOK) enc(e *encoder) {
	e.varint(m.RequestID)
	e.flag(m.Forward)
	e.u8(m.SubscriberPriority)
	e.groupOrder(m.GroupOrder, false)
	e.filter(m.Filter)
	e.params(m.Params)
}

func (m *PublishOK) dec(d *decoder) {
	m.RequestID = d.varint()
	m.Forward = d.flag()
	m.SubscriberPriority = d.u8()
	m.GroupOrder = d.groupOrder(false)
	m.Filter = d.filter()
	m.Params = d.versionParams()
}

// PublishError rejects a PUBLISH; ErrorCode is one of the PublishErr* codes.
type PublishError RequestError

func (*PublishError) Type() MessageType { return TypePublishError }
func (m *PublishError) AppendPayload(b []byte, v Version) ([]byte, error) {
	return appendFields(v, m, b, (*RequestError)(m))
}
func (m *PublishError) DecodePayload(p []byte, v Version) error {
	*m = PublishError{}
	return decodeFields(v, m, p, (*RequestError)(m))
}
