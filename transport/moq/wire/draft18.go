package wire

// This file is draft 18's control plane: its message codes and what it
// lays out differently from draft 16 (shared layouts are in ctl.go; data
// streams in data16.go).
//
//   - integers are vi64 (vi64.go) everywhere, data streams included;
//   - one SETUP (0x2F00) per direction, on a unidirectional control
//     stream, holding only Setup Options (Key-Value-Pairs to the end of
//     the message); no version list, no MAX_REQUEST_ID;
//   - every request opens a bidirectional stream; replies carry no
//     Request ID; UNSUBSCRIBE, FETCH_CANCEL, PUBLISH_NAMESPACE_DONE and
//     _CANCEL, MAX_REQUEST_ID and REQUESTS_BLOCKED are gone (the session
//     resets or finishes the request's stream instead);
//   - PUBLISH_OK is a REQUEST_OK; REQUEST_ERROR may carry a Redirect;
//   - Message Parameter values are encoded by type (uint8, varint,
//     Location, length-prefixed), not by parity;
//   - Track Namespaces may have zero fields; an AbsoluteRange filter's End
//     Group is a delta; GOAWAY has a Timeout and (on the control stream) a
//     Request ID; SUBSCRIBE_NAMESPACE is 0x50, SUBSCRIBE_TRACKS 0x51.

// Draft-18 wire codes.
const (
	code18Setup              uint64 = 0x2F00
	code18GoAway             uint64 = 0x10
	code18Subscribe          uint64 = 0x3
	code18SubscribeOK        uint64 = 0x4
	code18RequestError       uint64 = 0x5
	code18PublishNamespace   uint64 = 0x6
	code18RequestOK          uint64 = 0x7
	code18PublishDone        uint64 = 0xB
	code18TrackStatus        uint64 = 0xD
	code18Fetch              uint64 = 0x16
	code18FetchOK            uint64 = 0x18
	code18Publish            uint64 = 0x1D
	code18RequestUpdate      uint64 = 0x2
	code18SubscribeNamespace uint64 = 0x50
	code18SubscribeTracks    uint64 = 0x51
)

// Go identities for messages that exist only after draft 14. They are
// outside the 62-bit code space so they never collide with a wire code.
const (
	TypeSetup           MessageType = 1<<63 | 0x2F00
	TypeRequestOK       MessageType = 1<<63 | 0x7
	TypeRequestError    MessageType = 1<<63 | 0x5
	TypeSubscribeTracks MessageType = 1<<63 | 0x51
)

// SetupStreamType is the type that opens a draft-18 control stream: the
// SETUP message's own type, in the unidirectional stream type space.
const SetupStreamType = code18Setup

func init() {
	messageNames[TypeSetup] = "SETUP"
	messageNames[TypeRequestOK] = "REQUEST_OK"
	messageNames[TypeRequestError] = "REQUEST_ERROR"
	messageNames[TypeSubscribeTracks] = "SUBSCRIBE_TRACKS"
}

func draft18Table() map[uint64]func() Message {
	return map[uint64]func() Message{
		code18Setup:              func() Message { return new(Setup) },
		code18GoAway:             func() Message { return new(GoAway) },
		code18Subscribe:          func() Message { return new(Subscribe) },
		code18SubscribeOK:        func() Message { return new(SubscribeOK) },
		code18RequestError:       func() Message { return new(RequestErrorMsg) },
		code18PublishNamespace:   func() Message { return new(PublishNamespace) },
		code18RequestOK:          func() Message { return new(RequestOK) },
		code18PublishDone:        func() Message { return new(PublishDone) },
		code18TrackStatus:        func() Message { return new(TrackStatus) },
		code18Fetch:              func() Message { return new(Fetch) },
		code18FetchOK:            func() Message { return new(FetchOK) },
		code18Publish:            func() Message { return new(Publish) },
		code18RequestUpdate:      func() Message { return new(SubscribeUpdate) },
		code18SubscribeNamespace: func() Message { return new(SubscribeNamespace) },
		code18SubscribeTracks:    func() Message { return new(SubscribeTracks) },
	}
}

// draft18Replies are the reply types framed as REQUEST_OK or
// REQUEST_ERROR.
var draft18Replies = map[MessageType]uint64{
	TypeSubscribeError: code18RequestError, TypePublishError: code18RequestError,
	TypeFetchError: code18RequestError, TypeTrackStatusError: code18RequestError,
	TypePublishNamespaceError: code18RequestError, TypeSubscribeNamespaceError: code18RequestError,
	TypePublishOK: code18RequestOK, TypePublishNamespaceOK: code18RequestOK,
	TypeTrackStatusOK: code18RequestOK, TypeSubscribeNamespaceOK: code18RequestOK,
}

var draft18 = &ctl{emptyNamespace: true, typedParams: true, endGroupDelta: true, publishDone: publishDone14To18}

// PUBLISH_DONE codes draft 18 renumbered.
var publishDone14To18 = codeMap{
	{PublishDoneExpired, 0x6}, {PublishDoneTooFarBehind, 0x5}, {PublishDoneMalformedTrack, 0x12},
}

var draft18Layouts = func() map[MessageType]layout {
	c := draft18
	ls := map[MessageType]layout{
		TypeSetup:              lay(enc18Setup, dec18Setup),
		TypeGoAway:             lay(enc18GoAway, dec18GoAway),
		TypeSubscribe:          lay(c.encSubscribe, c.decSubscribe),
		TypeTrackStatus:        lay(func(e *encoder, m *TrackStatus) { c.encSubscribe(e, (*Subscribe)(m)) }, func(d *decoder, m *TrackStatus) { c.decSubscribe(d, (*Subscribe)(m)) }),
		TypeSubscribeOK:        lay(c.encSubscribeOK, c.decSubscribeOK),
		TypeSubscribeUpdate:    lay(enc18RequestUpdate, dec18RequestUpdate),
		TypePublish:            lay(c.encPublish, c.decPublish),
		TypePublishDone:        lay(c.encPublishDone, c.decPublishDone),
		TypeFetch:              lay(c.encFetch, c.decFetch),
		TypeFetchOK:            lay(c.encFetchOK, c.decFetchOK),
		TypePublishNamespace:   lay(c.encPublishNamespace, c.decPublishNamespace),
		TypeSubscribeNamespace: lay(enc18SubscribeNamespace, dec18SubscribeNamespace),
		TypeSubscribeTracks: lay(
			func(e *encoder, m *SubscribeTracks) { enc18SubscribeNamespace(e, (*SubscribeNamespace)(m)) },
			func(d *decoder, m *SubscribeTracks) { dec18SubscribeNamespace(d, (*SubscribeNamespace)(m)) }),
		TypeRequestOK:    lay(c.encRequestOK, c.decRequestOK),
		TypeRequestError: lay(enc18RequestError, dec18RequestError),
	}
	c.replyLayouts(ls, enc18RequestError, TypePublishOK, TypeTrackStatusOK, TypePublishNamespaceOK, TypeSubscribeNamespaceOK)
	return ls
}()

// enc18SubscribeNamespace: draft 18's SUBSCRIBE_NAMESPACE (and
// SUBSCRIBE_TRACKS) has PUBLISH_NAMESPACE's layout, without draft 16's
// Subscribe Options.
func enc18SubscribeNamespace(e *encoder, m *SubscribeNamespace) {
	draft18.encPublishNamespace(e, &PublishNamespace{RequestID: m.RequestID, Namespace: m.Prefix, Params: m.Params})
}

func dec18SubscribeNamespace(d *decoder, m *SubscribeNamespace) {
	var p PublishNamespace
	draft18.decPublishNamespace(d, &p)
	m.RequestID, m.Prefix, m.Params = p.RequestID, p.Namespace, p.Params
}

// Setup is draft 18's single setup message; each endpoint sends one on
// its control stream. Params are Setup Options (PATH, AUTHORITY,
// AUTHORIZATION TOKEN, MAX_AUTH_TOKEN_CACHE_SIZE, MOQT_IMPLEMENTATION).
type Setup struct {
	Params Parameters
}

func (*Setup) Type() MessageType { return TypeSetup }
func (m *Setup) AppendPayload(b []byte, v Version) ([]byte, error) {
	return appendFields(v, m, b, nil)
}
func (m *Setup) DecodePayload(p []byte, v Version) error {
	*m = Setup{}
	return decodeFields(v, m, p, nil)
}

// SetupParamMOQTImplementation16 is MOQT_IMPLEMENTATION from draft 16 on
// (draft 14 gave it AUTHORITY's code).
const SetupParamMOQTImplementation16 uint64 = 0x07

func enc18Setup(e *encoder, m *Setup) {
	ps, err := tokensToFormat(m.Params, dialect14, e.f)
	if err != nil {
		e.fail(err)
		return
	}
	e.kvps(sortedKVP(ps))
}

func dec18Setup(d *decoder, m *Setup) {
	ps, err := parseKVPs(d.rest(), d.f, true)
	if err != nil {
		d.fail(err)
		return
	}
	m.Params = checkSetupParams(d, ps)
}

// checkSetupParams rejects repeated unique options and converts tokens
// to their draft-14 form.
func checkSetupParams(d *decoder, ps Parameters) Parameters {
	for _, u := range uniqueSetupParams {
		if len(ps.All(u)) > 1 {
			d.fail(ErrDuplicateParameter)
			return nil
		}
	}
	out, err := tokensToFormat(ps, d.f, dialect14)
	if err != nil {
		d.fail(err)
	}
	return out
}

func enc18GoAway(e *encoder, m *GoAway) {
	e.lenString(m.NewSessionURI, MaxGoAwayURILength)
	e.varint(m.Timeout)
	if m.HasRequestID {
		e.varint(m.RequestID)
	}
}

func dec18GoAway(d *decoder, m *GoAway) {
	m.NewSessionURI = d.lenString(MaxGoAwayURILength)
	m.Timeout = d.varint()
	if d.err == nil && len(d.p) > 0 {
		m.RequestID, m.HasRequestID = d.varint(), true
	}
}

// enc18RequestUpdate: the update names no subscription; it travels on
// the stream of the request it changes.
func enc18RequestUpdate(e *encoder, m *SubscribeUpdate) {
	e.varint(m.RequestID)
	draft18.updateParams(e, m)
}

// dec18RequestUpdate leaves SubscriptionRequestID to the session.
func dec18RequestUpdate(d *decoder, m *SubscribeUpdate) {
	m.RequestID = d.varint()
	draft18.readUpdateParams(d, m)
}

// SubscribeTracks (draft 18) asks for PUBLISH of every track under a
// prefix. Strata does not serve it; the session answers NOT_SUPPORTED.
// Its layout is SUBSCRIBE_NAMESPACE's (Options unused).
type SubscribeTracks SubscribeNamespace

func (*SubscribeTracks) Type() MessageType { return TypeSubscribeTracks }
func (m *SubscribeTracks) AppendPayload(b []byte, v Version) ([]byte, error) {
	return appendFields(v, m, b, nil)
}
func (m *SubscribeTracks) DecodePayload(p []byte, v Version) error {
	*m = SubscribeTracks{}
	return decodeFields(v, m, p, nil)
}

// Redirect (draft 18) points a failed request elsewhere.
type Redirect struct {
	ConnectURI string
	Namespace  Namespace
	TrackName  string
}

func enc18RequestError(e *encoder, m *RequestErrorMsg) {
	e.varint(m.ErrorCode)
	e.varint(m.RetryInterval)
	e.reason(m.Reason)
	if m.ErrorCode == RequestErrRedirect18 {
		r := m.Redirect
		if r == nil {
			r = &Redirect{}
		}
		e.lenString(r.ConnectURI, MaxGoAwayURILength)
		draft18.fullTrackName(e, r.Namespace, r.TrackName)
	}
}

func dec18RequestError(d *decoder, m *RequestErrorMsg) {
	m.ErrorCode = d.varint()
	m.RetryInterval = d.varint()
	m.Reason = d.reason()
	if m.ErrorCode == RequestErrRedirect18 && d.err == nil {
		r := &Redirect{ConnectURI: d.lenString(MaxGoAwayURILength)}
		r.Namespace, r.TrackName = draft18.readFullTrackName(d)
		m.Redirect = r
	}
}

// tokensToFormat rewrites the AUTHORIZATION TOKEN values of ps from one
// integer format to another; other pairs are kept as they are.
func tokensToFormat(ps Parameters, from, to dialect) (Parameters, error) {
	out := make(Parameters, 0, len(ps))
	for _, kv := range ps {
		if kv.Type == ParamAuthorizationToken {
			if _, err := parseAuthToken(kv.Bytes, from); err != nil {
				return nil, err
			}
			b, err := reencodeToken(kv.Bytes, from, to)
			if err != nil {
				return nil, err
			}
			kv.Bytes = b
		}
		out = append(out, kv)
	}
	return out, nil
}
