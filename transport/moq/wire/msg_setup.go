package wire

// ClientSetup opens the control stream: the versions the client offers
// and the union of setup parameters those versions need.
type ClientSetup struct {
	Versions []Version
	Params   Parameters
}

// ServerSetup answers ClientSetup with the chosen version.
type ServerSetup struct {
	Version Version
	Params  Parameters
}

func (*ClientSetup) Type() MessageType { return TypeClientSetup }
func (*ServerSetup) Type() MessageType { return TypeServerSetup }

func (m *ClientSetup) AppendPayload(b []byte, v Version) ([]byte, error) {
	return appendFields(v, m, b, m)
}
func (m *ServerSetup) AppendPayload(b []byte, v Version) ([]byte, error) {
	return appendFields(v, m, b, m)
}

func (m *ClientSetup) DecodePayload(p []byte, v Version) error {
	*m = ClientSetup{}
	return decodeFields(v, m, p, m)
}

func (m *ServerSetup) DecodePayload(p []byte, v Version) error {
	*m = ServerSetup{}
	return decodeFields(v, m, p, m)
}

func (m *ClientSetup) enc(e *encoder) {
	e.varint(uint64(len(m.Versions)))
	for _, v := range m.Versions {
		e.varint(uint64(v))
	}
	e.params(m.Params)
}

func (m *ClientSetup) dec(d *decoder) {
	n := d.varint()
	if d.err != nil {
		return
	}
	// Each version takes at least one byte; the count cannot size an
	// allocation beyond the payload.
	if n > uint64(len(d.p)) {
		d.fail(ErrTruncated)
		return
	}
	if n > 0 {
		m.Versions = make([]Version, 0, n)
	}
	for range n {
		m.Versions = append(m.Versions, Version(d.varint()))
	}
	m.Params = setupParams(d)
}

func (m *ServerSetup) enc(e *encoder) {
	e.varint(uint64(m.Version))
	e.params(m.Params)
}

func (m *ServerSetup) dec(d *decoder) {
	m.Version = Version(d.varint())
	m.Params = setupParams(d)
}

func setupParams(d *decoder) Parameters {
	ps := d.params(uniqueSetupParams)
	if d.err == nil {
		if err := checkTokens(ps); err != nil {
			d.fail(err)
		}
	}
	return ps
}

// GoAway tells the peer the session will close, optionally with a URI to
// migrate to.
//
// Timeout and RequestID exist from draft 16 on (RequestID from draft 17,
// and only on the control stream): the sender's grace period in
// milliseconds and the smallest peer request ID it did not process.
type GoAway struct {
	NewSessionURI string
	Timeout       uint64
	RequestID     uint64
	HasRequestID  bool
}

func (*GoAway) Type() MessageType                                   { return TypeGoAway }
func (m *GoAway) AppendPayload(b []byte, v Version) ([]byte, error) { return appendFields(v, m, b, m) }
func (m *GoAway) DecodePayload(p []byte, v Version) error {
	*m = GoAway{}
	return decodeFields(v, m, p, m)
}
func (m *GoAway) enc(e *encoder) { e.lenString(m.NewSessionURI, MaxGoAwayURILength) }
func (m *GoAway) dec(d *decoder) { m.NewSessionURI = d.lenString(MaxGoAwayURILength) }

// MaxRequestID raises the peer's request limit. RequestID is the new
// maximum plus one: the first ID the peer may not use.
type MaxRequestID struct {
	RequestID uint64
}

func (*MaxRequestID) Type() MessageType { return TypeMaxRequestID }
func (m *MaxRequestID) AppendPayload(b []byte, v Version) ([]byte, error) {
	return appendFields(v, m, b, (*requestOnly)(m))
}
func (m *MaxRequestID) DecodePayload(p []byte, v Version) error {
	*m = MaxRequestID{}
	return decodeFields(v, m, p, (*requestOnly)(m))
}

// RequestsBlocked says the sender wants to issue a request but the peer's
// limit stops it.
type RequestsBlocked struct {
	MaximumRequestID uint64
}

func (*RequestsBlocked) Type() MessageType { return TypeRequestsBlocked }
func (m *RequestsBlocked) AppendPayload(b []byte, v Version) ([]byte, error) {
	return appendFields(v, m, b, m)
}
func (m *RequestsBlocked) DecodePayload(p []byte, v Version) error {
	*m = RequestsBlocked{}
	return decodeFields(v, m, p, m)
}
func (m *RequestsBlocked) enc(e *encoder) { e.varint(m.MaximumRequestID) }
func (m *RequestsBlocked) dec(d *decoder) { m.MaximumRequestID = d.varint() }
