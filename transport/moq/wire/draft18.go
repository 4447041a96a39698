package wire

import (
	"fmt"
	"slices"
)

// This file is draft 18's control plane: its message codes and the
// payload layouts that differ from draft 14. The Go message types stay
// those of draft 14 (the session layer speaks them); what draft 18 moved
// into Message Parameters or Track Properties is lifted out of them here,
// so e.g. Subscribe.SubscriberPriority travels as SUBSCRIBER_PRIORITY.
//
// Differences handled here (data streams are in data18.go):
//   - integers are vi64 (vi64.go), Key-Value-Pair types are deltas;
//   - one SETUP (0x2F00) per direction, Setup Options only, no versions;
//   - responses carry no Request ID: they travel on the request's stream;
//   - REQUEST_OK (0x7) answers PUBLISH, PUBLISH_NAMESPACE, TRACK_STATUS
//     and SUBSCRIBE_NAMESPACE; REQUEST_ERROR (0x5) answers every request;
//   - Message Parameters are Type-delta/Value with per-type encodings;
//   - SUBSCRIBE_NAMESPACE is 0x50, SUBSCRIBE_UPDATE became REQUEST_UPDATE;
//   - UNSUBSCRIBE, *_CANCEL, PUBLISH_NAMESPACE_DONE, MAX_REQUEST_ID and
//     REQUESTS_BLOCKED are gone (stream resets and FINs replace them).

// Draft-18 wire codes that name a message of their own.
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

// Go identities for messages that exist only from draft 16 on. They are
// outside the 62-bit code space so they never collide with a wire code.
const (
	TypeSetup           MessageType = 1<<63 | 0x2F00
	TypeRequestOK       MessageType = 1<<63 | 0x7
	TypeRequestError    MessageType = 1<<63 | 0x5
	TypeSubscribeTracks MessageType = 1<<63 | 0x51
)

func init() {
	messageNames[TypeSetup] = "SETUP"
	messageNames[TypeRequestOK] = "REQUEST_OK"
	messageNames[TypeRequestError] = "REQUEST_ERROR"
	messageNames[TypeSubscribeTracks] = "SUBSCRIBE_TRACKS"
}

// draft18Table maps wire codes to the message decoded from them. The
// error and OK replies of the various requests all encode to the two
// generic codes; decoding yields RequestOK / RequestErrorMsg, which the
// session turns back into the reply type of the stream's request.
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

// draft18Replies are the reply types that encode to REQUEST_OK or
// REQUEST_ERROR in draft 18 (encode only: decoding gives the generic
// message).
var draft18Replies = map[MessageType]uint64{
	TypeSubscribeError: code18RequestError, TypePublishError: code18RequestError,
	TypeFetchError: code18RequestError, TypeTrackStatusError: code18RequestError,
	TypePublishNamespaceError: code18RequestError, TypeSubscribeNamespaceError: code18RequestError,
	TypePublishOK: code18RequestOK, TypePublishNamespaceOK: code18RequestOK,
	TypeTrackStatusOK: code18RequestOK, TypeSubscribeNamespaceOK: code18RequestOK,
}

func init() {
	for t, code := range draft18Replies {
		draft18Codec.codes[t] = code
	}
}

var draft18Layouts = map[MessageType]layout{
	TypeSetup:           {enc: func(e *encoder, m Message) { enc18Setup(e, m.(*Setup)) }, dec: func(d *decoder, m Message) { dec18Setup(d, m.(*Setup)) }},
	TypeGoAway:          {enc: func(e *encoder, m Message) { enc18GoAway(e, m.(*GoAway)) }, dec: func(d *decoder, m Message) { dec18GoAway(d, m.(*GoAway)) }},
	TypeSubscribe:       {enc: func(e *encoder, m Message) { enc18Subscribe(e, m.(*Subscribe)) }, dec: func(d *decoder, m Message) { dec18Subscribe(d, m.(*Subscribe)) }},
	TypeTrackStatus:     {enc: func(e *encoder, m Message) { enc18Subscribe(e, (*Subscribe)(m.(*TrackStatus))) }, dec: func(d *decoder, m Message) { dec18Subscribe(d, (*Subscribe)(m.(*TrackStatus))) }},
	TypeSubscribeOK:     {enc: func(e *encoder, m Message) { enc18SubscribeOK(e, m.(*SubscribeOK)) }, dec: func(d *decoder, m Message) { dec18SubscribeOK(d, m.(*SubscribeOK)) }},
	TypeSubscribeUpdate: {enc: func(e *encoder, m Message) { enc18RequestUpdate(e, m.(*SubscribeUpdate)) }, dec: func(d *decoder, m Message) { dec18RequestUpdate(d, m.(*SubscribeUpdate)) }},
	TypePublish:         {enc: func(e *encoder, m Message) { enc18Publish(e, m.(*Publish)) }, dec: func(d *decoder, m Message) { dec18Publish(d, m.(*Publish)) }},
	TypePublishDone:     {enc: func(e *encoder, m Message) { enc18PublishDone(e, m.(*PublishDone)) }, dec: func(d *decoder, m Message) { dec18PublishDone(d, m.(*PublishDone)) }},
	TypeFetch:           {enc: func(e *encoder, m Message) { enc18Fetch(e, m.(*Fetch)) }, dec: func(d *decoder, m Message) { dec18Fetch(d, m.(*Fetch)) }},
	TypeFetchOK:         {enc: func(e *encoder, m Message) { enc18FetchOK(e, m.(*FetchOK)) }, dec: func(d *decoder, m Message) { dec18FetchOK(d, m.(*FetchOK)) }},
	TypePublishNamespace: {enc: func(e *encoder, m Message) {
		enc18NamespaceRequest(e, m.(*PublishNamespace).RequestID, m.(*PublishNamespace).Namespace, m.(*PublishNamespace).Params)
	}, dec: func(d *decoder, m Message) {
		x := m.(*PublishNamespace)
		x.RequestID, x.Namespace, x.Params = dec18NamespaceRequest(d)
	}},
	TypeSubscribeNamespace: {enc: func(e *encoder, m Message) {
		enc18NamespaceRequest(e, m.(*SubscribeNamespace).RequestID, m.(*SubscribeNamespace).Prefix, m.(*SubscribeNamespace).Params)
	}, dec: func(d *decoder, m Message) {
		x := m.(*SubscribeNamespace)
		x.RequestID, x.Prefix, x.Params = dec18NamespaceRequest(d)
	}},
	TypeSubscribeTracks: {enc: func(e *encoder, m Message) {
		enc18NamespaceRequest(e, m.(*SubscribeTracks).RequestID, m.(*SubscribeTracks).Prefix, m.(*SubscribeTracks).Params)
	}, dec: func(d *decoder, m Message) {
		x := m.(*SubscribeTracks)
		x.RequestID, x.Prefix, x.Params = dec18NamespaceRequest(d)
	}},
	TypeRequestOK:    {enc: func(e *encoder, m Message) { enc18RequestOK(e, m.(*RequestOK)) }, dec: func(d *decoder, m Message) { dec18RequestOK(d, m.(*RequestOK)) }},
	TypeRequestError: {enc: func(e *encoder, m Message) { enc18RequestError(e, m.(*RequestErrorMsg)) }, dec: func(d *decoder, m Message) { dec18RequestError(d, m.(*RequestErrorMsg)) }},

	// Replies that travel as REQUEST_OK / REQUEST_ERROR.
	TypePublishOK:            {enc: func(e *encoder, m Message) { enc18RequestOK(e, publishOKAsRequestOK(m.(*PublishOK))) }},
	TypeTrackStatusOK:        {enc: func(e *encoder, m Message) { enc18RequestOK(e, trackStatusOKAsRequestOK(m.(*TrackStatusOK))) }},
	TypePublishNamespaceOK:   {enc: func(e *encoder, _ Message) { enc18RequestOK(e, &RequestOK{}) }},
	TypeSubscribeNamespaceOK: {enc: func(e *encoder, _ Message) { enc18RequestOK(e, &RequestOK{}) }},
	TypeSubscribeError:       {enc: func(e *encoder, m Message) { enc18ErrorOf(e, TypeSubscribe, (*RequestError)(m.(*SubscribeError))) }},
	TypeTrackStatusError:     {enc: func(e *encoder, m Message) { enc18ErrorOf(e, TypeTrackStatus, (*RequestError)(m.(*TrackStatusError))) }},
	TypePublishError:         {enc: func(e *encoder, m Message) { enc18ErrorOf(e, TypePublish, (*RequestError)(m.(*PublishError))) }},
	TypeFetchError:           {enc: func(e *encoder, m Message) { enc18ErrorOf(e, TypeFetch, (*RequestError)(m.(*FetchError))) }},
	TypePublishNamespaceError: {enc: func(e *encoder, m Message) {
		enc18ErrorOf(e, TypePublishNamespace, (*RequestError)(m.(*PublishNamespaceError)))
	}},
	TypeSubscribeNamespaceError: {enc: func(e *encoder, m Message) {
		enc18ErrorOf(e, TypeSubscribeNamespace, (*RequestError)(m.(*SubscribeNamespaceError)))
	}},
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

// SetupParamMOQTImplementation18 is MOQT_IMPLEMENTATION from draft 16 on.
const SetupParamMOQTImplementation18 uint64 = 0x07

func enc18Setup(e *encoder, m *Setup) {
	ps, err := tokensToFormat(m.Params, fmtQUIC, fmtVi64)
	if err != nil {
		e.fail(err)
		return
	}
	e.kvps(sortedKVP(ps))
}

func dec18Setup(d *decoder, m *Setup) {
	ps, err := parseKVPs(d.rest(), fmtVi64, true)
	if err != nil {
		d.fail(err)
		return
	}
	for _, u := range uniqueSetupParams {
		if len(ps.All(u)) > 1 {
			d.fail(ErrDuplicateParameter)
			return
		}
	}
	if m.Params, err = tokensToFormat(ps, fmtVi64, fmtQUIC); err != nil {
		d.fail(err)
	}
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

// Draft-18 Message Parameter types.
const (
	param18ObjectDeliveryTimeout   uint64 = 0x02
	param18AuthorizationToken      uint64 = 0x03
	param18RendezvousTimeout       uint64 = 0x04
	param18SubgroupDeliveryTimeout uint64 = 0x06
	param18Expires                 uint64 = 0x08
	param18LargestObject           uint64 = 0x09
	param18FillTimeout             uint64 = 0x0A
	param18Forward                 uint64 = 0x10
	param18SubscriberPriority      uint64 = 0x20
	param18SubscriptionFilter      uint64 = 0x21
	param18GroupOrder              uint64 = 0x22
	param18NewGroupRequest         uint64 = 0x32
	param18NamespacePrefix         uint64 = 0x34
)

// Property (extension header) types used by the draft-18 layouts.
const (
	PropDefaultPublisherPriority   uint64 = 0x0E
	PropDefaultPublisherGroupOrder uint64 = 0x22
)

// paramKind is a Message Parameter's value encoding in draft 18, where
// the type's parity no longer decides it.
type paramKind uint8

const (
	kindVarint paramKind = iota
	kindUint8
	kindLocation
	kindBytes
)

var param18Kinds = map[uint64]paramKind{
	param18ObjectDeliveryTimeout: kindVarint, param18AuthorizationToken: kindBytes,
	param18RendezvousTimeout: kindVarint, param18SubgroupDeliveryTimeout: kindVarint,
	param18Expires: kindVarint, param18LargestObject: kindLocation, param18FillTimeout: kindVarint,
	param18Forward: kindUint8, param18SubscriberPriority: kindUint8, param18SubscriptionFilter: kindBytes,
	param18GroupOrder: kindUint8, param18NewGroupRequest: kindVarint, param18NamespacePrefix: kindBytes,
}

// param18 is one parameter to encode: Value for integer kinds, Bytes for
// length-prefixed ones, Loc for LARGEST_OBJECT.
type param18 struct {
	Type  uint64
	Value uint64
	Bytes []byte
	Loc   Location
}

// messageParams collects a message's draft-18 parameters: the ones lifted
// from message fields plus the pass-through ones in ps (tokens and
// delivery timeout; a draft-14 parameter draft 18 does not define is
// dropped, since the peer would have to close the session over it).
func messageParams(ps Parameters, lifted ...param18) ([]param18, error) {
	out := lifted
	for _, kv := range ps {
		switch kv.Type {
		case param18AuthorizationToken:
			tok, err := parseAuthToken(kv.Bytes, fmtQUIC)
			if err != nil {
				return nil, err
			}
			b, err := tok.appendFormat(nil, fmtVi64)
			if err != nil {
				return nil, err
			}
			out = append(out, param18{Type: kv.Type, Bytes: b})
		case ParamDeliveryTimeout:
			out = append(out, param18{Type: param18ObjectDeliveryTimeout, Value: kv.Value})
		}
	}
	slices.SortStableFunc(out, func(a, b param18) int {
		switch {
		case a.Type < b.Type:
			return -1
		case a.Type > b.Type:
			return 1
		}
		return 0
	})
	return out, nil
}

func (e *encoder) params18(ps Parameters, lifted ...param18) {
	list, err := messageParams(ps, lifted...)
	if err != nil {
		e.fail(err)
		return
	}
	e.varint(uint64(len(list)))
	prev := uint64(0)
	for _, p := range list {
		e.varint(p.Type - prev)
		prev = p.Type
		switch param18Kinds[p.Type] {
		case kindVarint:
			e.varint(p.Value)
		case kindUint8:
			if p.Value > 0xff {
				e.fail(ErrMalformed)
				return
			}
			e.u8(uint8(p.Value))
		case kindLocation:
			e.location(p.Loc)
		case kindBytes:
			e.lenBytes(p.Bytes, MaxKeyValueLength)
		}
	}
}

// decodedParams18 is a parsed draft-18 parameter block: the values by
// type, and tokens converted to their draft-14 form so the session layer
// reads them the same way for every version.
type decodedParams18 struct {
	ints map[uint64]uint64
	loc  *Location
	raw  map[uint64][]byte
	rest Parameters // tokens and delivery timeout, as draft-14 pairs
}

func (p *decodedParams18) get(t uint64) (uint64, bool) {
	v, ok := p.ints[t]
	return v, ok
}

func (d *decoder) params18() decodedParams18 {
	var out decodedParams18
	n := d.varint()
	if d.err != nil || n == 0 {
		return out
	}
	if n > uint64(len(d.p)) {
		d.fail(ErrTruncated)
		return out
	}
	out.ints, out.raw = map[uint64]uint64{}, map[uint64][]byte{}
	prev := uint64(0)
	for i := uint64(0); i < n; i++ {
		delta := d.varint()
		if d.err != nil {
			return out
		}
		if delta > ^uint64(0)-prev {
			d.fail(ErrMalformed)
			return out
		}
		t := prev + delta
		if i > 0 && delta == 0 && t != param18AuthorizationToken {
			d.fail(ErrDuplicateParameter)
			return out
		}
		prev = t
		kind, known := param18Kinds[t]
		if !known {
			d.fail(fmt.Errorf("message parameter 0x%x: %w", t, ErrMalformed))
			return out
		}
		switch kind {
		case kindVarint:
			out.ints[t] = d.varint()
			if t == param18ObjectDeliveryTimeout {
				out.rest = append(out.rest, IntPair(ParamDeliveryTimeout, out.ints[t]))
			}
		case kindUint8:
			out.ints[t] = uint64(d.u8())
		case kindLocation:
			l := d.location()
			out.loc = &l
		case kindBytes:
			b := d.lenBytes(MaxKeyValueLength)
			if d.err != nil {
				return out
			}
			if t == param18AuthorizationToken {
				tok, err := parseAuthToken(b, fmtVi64)
				if err != nil {
					d.fail(err)
					return out
				}
				canon, err := tok.appendFormat(nil, fmtQUIC)
				if err != nil {
					d.fail(err)
					return out
				}
				out.rest = append(out.rest, BytesPair(ParamAuthorizationToken, canon))
				continue
			}
			out.raw[t] = b
		}
	}
	return out
}

// Draft 18 allows 0 to 32 namespace fields, each non-empty.
func (e *encoder) namespace18(ns Namespace) int {
	if len(ns) > MaxNamespaceFields {
		e.fail(ErrMalformed)
		return 0
	}
	e.varint(uint64(len(ns)))
	total := 0
	for _, f := range ns {
		if f == "" {
			e.fail(ErrMalformed)
			return 0
		}
		total += len(f)
		e.lenString(f, MaxFullTrackNameLength)
	}
	if total > MaxFullTrackNameLength {
		e.fail(ErrTooLong)
	}
	return total
}

func (d *decoder) namespace18() (Namespace, int) {
	n := d.varint()
	if d.err != nil {
		return nil, 0
	}
	if n > MaxNamespaceFields {
		d.fail(ErrMalformed)
		return nil, 0
	}
	ns := make(Namespace, 0, n)
	used := 0
	for range n {
		f := d.lenBytes(MaxFullTrackNameLength - used)
		if d.err != nil {
			return nil, 0
		}
		if len(f) == 0 {
			d.fail(ErrMalformed)
			return nil, 0
		}
		used += len(f)
		ns = append(ns, string(f))
	}
	return ns, used
}

func (e *encoder) fullTrackName18(ns Namespace, name string) {
	used := e.namespace18(ns)
	if used+len(name) > MaxFullTrackNameLength {
		e.fail(ErrTooLong)
		return
	}
	e.lenString(name, MaxFullTrackNameLength)
}

func (d *decoder) fullTrackName18() (Namespace, string) {
	ns, used := d.namespace18()
	return ns, d.lenString(MaxFullTrackNameLength - used)
}

// filter18 encodes a Subscription Filter: AbsoluteRange carries an End
// Group delta from the start group where draft 14 has the group itself.
func filter18(f Filter) ([]byte, error) {
	e := encoder{f: fmtVi64}
	e.varint(uint64(f.Type))
	switch f.Type {
	case FilterNextGroupStart, FilterLargestObject:
	case FilterAbsoluteStart:
		e.location(f.Start)
	case FilterAbsoluteRange:
		if f.EndGroup < f.Start.Group {
			return nil, ErrMalformed
		}
		e.location(f.Start)
		e.varint(f.EndGroup - f.Start.Group)
	default:
		return nil, ErrMalformed
	}
	return e.b, e.err
}

func parseFilter18(p []byte) (Filter, error) {
	d := decoder{p: p, f: fmtVi64}
	f := Filter{Type: FilterType(d.varint())}
	switch f.Type {
	case FilterNextGroupStart, FilterLargestObject:
	case FilterAbsoluteStart:
		f.Start = d.location()
	case FilterAbsoluteRange:
		f.Start = d.location()
		delta := d.varint()
		if d.err == nil && delta > ^uint64(0)-f.Start.Group {
			d.fail(ErrMalformed)
		}
		f.EndGroup = f.Start.Group + delta
	default:
		d.fail(ErrMalformed)
	}
	return f, d.finish()
}

// unfiltered is how a SUBSCRIBE without SUBSCRIPTION_FILTER reads: the
// spec makes it equal to AbsoluteStart at {0, 0}.
var unfiltered = Filter{Type: FilterAbsoluteStart}

func (p *decodedParams18) filter(d *decoder) (Filter, bool) {
	raw, ok := p.raw[param18SubscriptionFilter]
	if !ok {
		return unfiltered, false
	}
	f, err := parseFilter18(raw)
	if err != nil {
		d.fail(err)
	}
	return f, true
}

func (p *decodedParams18) groupOrder(d *decoder, def GroupOrder) GroupOrder {
	v, ok := p.get(param18GroupOrder)
	if !ok {
		return def
	}
	if v != uint64(GroupOrderAscending) && v != uint64(GroupOrderDescending) {
		d.fail(ErrMalformed)
	}
	return GroupOrder(v)
}

func (p *decodedParams18) forward(d *decoder) bool {
	v, ok := p.get(param18Forward)
	if !ok {
		return true
	}
	if v > 1 {
		d.fail(ErrMalformed)
	}
	return v == 1
}

func (p *decodedParams18) priority(def uint8) uint8 {
	if v, ok := p.get(param18SubscriberPriority); ok {
		return uint8(v)
	}
	return def
}

// defaultSubscriberPriority applies when SUBSCRIBER_PRIORITY is omitted.
const defaultSubscriberPriority = 128

func flag18(b bool) uint64 {
	if b {
		return 1
	}
	return 0
}

func enc18Subscribe(e *encoder, m *Subscribe) {
	e.varint(m.RequestID)
	e.fullTrackName18(m.Namespace, m.TrackName)
	lifted := []param18{
		{Type: param18Forward, Value: flag18(m.Forward)},
		{Type: param18SubscriberPriority, Value: uint64(m.SubscriberPriority)},
	}
	if m.GroupOrder != GroupOrderPublisher {
		lifted = append(lifted, param18{Type: param18GroupOrder, Value: uint64(m.GroupOrder)})
	}
	if m.Filter.Type != 0 {
		f, err := filter18(m.Filter)
		if err != nil {
			e.fail(err)
			return
		}
		lifted = append(lifted, param18{Type: param18SubscriptionFilter, Bytes: f})
	}
	e.params18(m.Params, lifted...)
}

func dec18Subscribe(d *decoder, m *Subscribe) {
	m.RequestID = d.varint()
	m.Namespace, m.TrackName = d.fullTrackName18()
	ps := d.params18()
	m.Forward = ps.forward(d)
	m.SubscriberPriority = ps.priority(defaultSubscriberPriority)
	m.GroupOrder = ps.groupOrder(d, GroupOrderPublisher)
	m.Filter, _ = ps.filter(d)
	m.Params = ps.rest
}

// trackProps builds the Track Properties a reply carries: the
// publisher's group order when it is not the default.
func trackProps(order GroupOrder) Extensions {
	if order == GroupOrderDescending {
		return Extensions{IntPair(PropDefaultPublisherGroupOrder, uint64(order))}
	}
	return nil
}

func groupOrderOf(props Extensions) GroupOrder {
	if kv, ok := props.Get(PropDefaultPublisherGroupOrder); ok && kv.Value == uint64(GroupOrderDescending) {
		return GroupOrderDescending
	}
	return GroupOrderAscending
}

func largestParam(exists bool, l Location) []param18 {
	if !exists {
		return nil
	}
	return []param18{{Type: param18LargestObject, Loc: l}}
}

func enc18SubscribeOK(e *encoder, m *SubscribeOK) {
	e.varint(m.TrackAlias)
	lifted := largestParam(m.ContentExists, m.Largest)
	if m.Expires != 0 {
		lifted = append(lifted, param18{Type: param18Expires, Value: m.Expires})
	}
	e.params18(m.Params, lifted...)
	e.props18(trackProps(m.GroupOrder))
}

func dec18SubscribeOK(d *decoder, m *SubscribeOK) {
	m.TrackAlias = d.varint()
	ps := d.params18()
	m.Expires, _ = ps.get(param18Expires)
	if ps.loc != nil {
		m.ContentExists, m.Largest = true, *ps.loc
	}
	m.Params = ps.rest
	m.GroupOrder = groupOrderOf(d.trackProps18())
}

func enc18RequestUpdate(e *encoder, m *SubscribeUpdate) {
	e.varint(m.RequestID)
	f := Filter{Type: FilterAbsoluteStart, Start: m.Start}
	if m.EndGroup != 0 {
		f = Filter{Type: FilterAbsoluteRange, Start: m.Start, EndGroup: m.EndGroup - 1}
	}
	fb, err := filter18(f)
	if err != nil {
		e.fail(err)
		return
	}
	e.params18(m.Params,
		param18{Type: param18Forward, Value: flag18(m.Forward)},
		param18{Type: param18SubscriberPriority, Value: uint64(m.SubscriberPriority)},
		param18{Type: param18SubscriptionFilter, Bytes: fb})
}

// dec18RequestUpdate leaves SubscriptionRequestID to the session: draft
// 18 sends the update on the stream of the request it changes.
func dec18RequestUpdate(d *decoder, m *SubscribeUpdate) {
	m.RequestID = d.varint()
	ps := d.params18()
	m.Forward = ps.forward(d)
	m.SubscriberPriority = ps.priority(defaultSubscriberPriority)
	if f, ok := ps.filter(d); ok {
		m.Start = f.Start
		if f.Type == FilterAbsoluteRange {
			m.EndGroup = f.EndGroup + 1
		}
	}
	m.Params = ps.rest
}

func enc18Publish(e *encoder, m *Publish) {
	e.varint(m.RequestID)
	e.fullTrackName18(m.Namespace, m.TrackName)
	e.varint(m.TrackAlias)
	lifted := append(largestParam(m.ContentExists, m.Largest), param18{Type: param18Forward, Value: flag18(m.Forward)})
	e.params18(m.Params, lifted...)
	e.props18(trackProps(m.GroupOrder))
}

func dec18Publish(d *decoder, m *Publish) {
	m.RequestID = d.varint()
	m.Namespace, m.TrackName = d.fullTrackName18()
	m.TrackAlias = d.varint()
	ps := d.params18()
	m.Forward = ps.forward(d)
	if ps.loc != nil {
		m.ContentExists, m.Largest = true, *ps.loc
	}
	m.Params = ps.rest
	m.GroupOrder = groupOrderOf(d.trackProps18())
}

func enc18PublishDone(e *encoder, m *PublishDone) {
	e.varint(mapCode(publishDone14To18, m.StatusCode))
	e.varint(m.StreamCount)
	e.reason(m.Reason)
}

// dec18PublishDone leaves RequestID to the session (the stream's).
func dec18PublishDone(d *decoder, m *PublishDone) {
	m.StatusCode = unmapCode(publishDone14To18, d.varint())
	m.StreamCount = d.varint()
	m.Reason = d.reason()
}

func enc18Fetch(e *encoder, m *Fetch) {
	e.varint(m.RequestID)
	e.varint(uint64(m.FetchType))
	switch m.FetchType {
	case FetchStandalone:
		e.fullTrackName18(m.Namespace, m.TrackName)
		e.location(m.Start)
		e.location(m.End)
	case FetchRelativeJoining, FetchAbsoluteJoining:
		e.varint(m.JoiningRequestID)
		e.varint(m.JoiningStart)
	default:
		e.fail(ErrMalformed)
	}
	lifted := []param18{{Type: param18SubscriberPriority, Value: uint64(m.SubscriberPriority)}}
	if m.GroupOrder != GroupOrderPublisher {
		lifted = append(lifted, param18{Type: param18GroupOrder, Value: uint64(m.GroupOrder)})
	}
	e.params18(m.Params, lifted...)
}

func dec18Fetch(d *decoder, m *Fetch) {
	m.RequestID = d.varint()
	m.FetchType = FetchType(d.varint())
	switch m.FetchType {
	case FetchStandalone:
		m.Namespace, m.TrackName = d.fullTrackName18()
		m.Start = d.location()
		m.End = d.location()
	case FetchRelativeJoining, FetchAbsoluteJoining:
		m.JoiningRequestID = d.varint()
		m.JoiningStart = d.varint()
	default:
		d.fail(ErrMalformed)
		return
	}
	ps := d.params18()
	m.SubscriberPriority = ps.priority(defaultSubscriberPriority)
	m.GroupOrder = ps.groupOrder(d, GroupOrderAscending)
	m.Params = ps.rest
}

func enc18FetchOK(e *encoder, m *FetchOK) {
	e.flag(m.EndOfTrack)
	e.location(m.End)
	e.params18(m.Params)
	e.props18(nil)
}

// dec18FetchOK leaves RequestID to the session. Draft 18's FETCH_OK has
// no group order: the fetch's own (or Ascending) applies.
func dec18FetchOK(d *decoder, m *FetchOK) {
	m.EndOfTrack = d.flag()
	m.End = d.location()
	m.Params = d.params18().rest
	m.GroupOrder = GroupOrderAscending
	d.trackProps18()
}

func enc18NamespaceRequest(e *encoder, id uint64, ns Namespace, ps Parameters) {
	e.varint(id)
	e.namespace18(ns)
	e.params18(ps)
}

func dec18NamespaceRequest(d *decoder) (uint64, Namespace, Parameters) {
	id := d.varint()
	ns, _ := d.namespace18()
	return id, ns, d.params18().rest
}

// SubscribeTracks (draft 18) asks for PUBLISH of every track under a
// prefix. Strata does not serve it; the session answers NOT_SUPPORTED.
type SubscribeTracks struct {
	RequestID uint64
	Prefix    Namespace
	Params    Parameters
}

func (*SubscribeTracks) Type() MessageType { return TypeSubscribeTracks }
func (m *SubscribeTracks) AppendPayload(b []byte, v Version) ([]byte, error) {
	return appendFields(v, m, b, nil)
}
func (m *SubscribeTracks) DecodePayload(p []byte, v Version) error {
	*m = SubscribeTracks{}
	return decodeFields(v, m, p, nil)
}

// RequestOK is draft 18's generic success reply. Which request it
// answers follows from its stream; the As* methods read it as that
// request's draft-14 reply.
type RequestOK struct {
	Forward            *bool
	SubscriberPriority *uint8
	GroupOrder         GroupOrder // 0 when absent
	Filter             *Filter
	Expires            uint64
	Largest            *Location
	Params             Parameters // tokens and the like, draft-14 form
	Properties         Extensions // Track Properties (TRACK_STATUS_OK)
}

func (*RequestOK) Type() MessageType { return TypeRequestOK }
func (m *RequestOK) AppendPayload(b []byte, v Version) ([]byte, error) {
	return appendFields(v, m, b, nil)
}
func (m *RequestOK) DecodePayload(p []byte, v Version) error {
	*m = RequestOK{}
	return decodeFields(v, m, p, nil)
}

func enc18RequestOK(e *encoder, m *RequestOK) {
	var lifted []param18
	if m.Forward != nil {
		lifted = append(lifted, param18{Type: param18Forward, Value: flag18(*m.Forward)})
	}
	if m.SubscriberPriority != nil {
		lifted = append(lifted, param18{Type: param18SubscriberPriority, Value: uint64(*m.SubscriberPriority)})
	}
	if m.GroupOrder != GroupOrderPublisher {
		lifted = append(lifted, param18{Type: param18GroupOrder, Value: uint64(m.GroupOrder)})
	}
	if m.Filter != nil && m.Filter.Type != 0 {
		f, err := filter18(*m.Filter)
		if err != nil {
			e.fail(err)
			return
		}
		lifted = append(lifted, param18{Type: param18SubscriptionFilter, Bytes: f})
	}
	if m.Expires != 0 {
		lifted = append(lifted, param18{Type: param18Expires, Value: m.Expires})
	}
	if m.Largest != nil {
		lifted = append(lifted, param18{Type: param18LargestObject, Loc: *m.Largest})
	}
	e.params18(m.Params, lifted...)
	e.props18(m.Properties)
}

func dec18RequestOK(d *decoder, m *RequestOK) {
	ps := d.params18()
	if _, ok := ps.get(param18Forward); ok {
		f := ps.forward(d)
		m.Forward = &f
	}
	if v, ok := ps.get(param18SubscriberPriority); ok {
		p := uint8(v)
		m.SubscriberPriority = &p
	}
	m.GroupOrder = ps.groupOrder(d, GroupOrderPublisher)
	if f, ok := ps.filter(d); ok {
		m.Filter = &f
	}
	m.Expires, _ = ps.get(param18Expires)
	m.Largest = ps.loc
	m.Params = ps.rest
	m.Properties = d.trackProps18()
}

func publishOKAsRequestOK(m *PublishOK) *RequestOK {
	fwd, prio, f := m.Forward, m.SubscriberPriority, m.Filter
	return &RequestOK{Forward: &fwd, SubscriberPriority: &prio, GroupOrder: m.GroupOrder, Filter: &f, Params: m.Params}
}

func trackStatusOKAsRequestOK(m *TrackStatusOK) *RequestOK {
	r := &RequestOK{Expires: m.Expires, Params: m.Params, Properties: trackProps(m.GroupOrder)}
	if m.ContentExists {
		l := m.Largest
		r.Largest = &l
	}
	return r
}

// AsPublishOK reads the reply as PUBLISH_OK for request id, with the
// spec's defaults for omitted parameters.
func (m *RequestOK) AsPublishOK(id uint64) PublishOK {
	ok := PublishOK{RequestID: id, Forward: true, SubscriberPriority: defaultSubscriberPriority,
		GroupOrder: m.GroupOrder, Filter: unfiltered, Params: m.Params}
	if m.Forward != nil {
		ok.Forward = *m.Forward
	}
	if m.SubscriberPriority != nil {
		ok.SubscriberPriority = *m.SubscriberPriority
	}
	if m.Filter != nil {
		ok.Filter = *m.Filter
	}
	return ok
}

// AsTrackStatusOK reads the reply as TRACK_STATUS_OK for request id.
func (m *RequestOK) AsTrackStatusOK(id uint64) TrackStatusOK {
	ok := TrackStatusOK{RequestID: id, Expires: m.Expires, GroupOrder: groupOrderOf(m.Properties), Params: m.Params}
	if m.Largest != nil {
		ok.ContentExists, ok.Largest = true, *m.Largest
	}
	return ok
}

// Redirect (draft 18) points a failed request elsewhere.
type Redirect struct {
	ConnectURI string
	Namespace  Namespace
	TrackName  string
}

// RequestErrorMsg is draft 18's generic failure reply. ErrorCode is in
// draft 18's REQUEST_ERROR space; CodeFor maps it to the draft-14 code
// space of the request it answers.
type RequestErrorMsg struct {
	ErrorCode     uint64
	RetryInterval uint64 // milliseconds plus one; 0: do not retry
	Reason        string
	Redirect      *Redirect // only with RequestErrRedirect18
}

// REQUEST_ERROR codes of draft 18 that have no draft-14 counterpart.
const (
	RequestErrGoingAway18      uint64 = 0x6
	RequestErrExcessiveLoad18  uint64 = 0x9
	RequestErrDuplicateSub18   uint64 = 0x19
	RequestErrUnsupportedExt18 uint64 = 0x33
	RequestErrRedirect18       uint64 = 0x34
)

func (*RequestErrorMsg) Type() MessageType { return TypeRequestError }
func (m *RequestErrorMsg) AppendPayload(b []byte, v Version) ([]byte, error) {
	return appendFields(v, m, b, nil)
}
func (m *RequestErrorMsg) DecodePayload(p []byte, v Version) error {
	*m = RequestErrorMsg{}
	return decodeFields(v, m, p, nil)
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
		e.fullTrackName18(r.Namespace, r.TrackName)
	}
}

func dec18RequestError(d *decoder, m *RequestErrorMsg) {
	m.ErrorCode = d.varint()
	m.RetryInterval = d.varint()
	m.Reason = d.reason()
	if m.ErrorCode == RequestErrRedirect18 && d.err == nil {
		r := &Redirect{ConnectURI: d.lenString(MaxGoAwayURILength)}
		r.Namespace, r.TrackName = d.fullTrackName18()
		m.Redirect = r
	}
}

func enc18ErrorOf(e *encoder, request MessageType, m *RequestError) {
	enc18RequestError(e, &RequestErrorMsg{ErrorCode: mapCode(requestErr14To18[request], m.ErrorCode), Reason: m.Reason})
}

// CodeFor maps the error code into the draft-14 space of the given
// request type's error message (SubscribeErr*, PublishErr*, ...), which
// is what the session layer reports; codes without a counterpart pass
// through unchanged.
func (m *RequestErrorMsg) CodeFor(request MessageType) uint64 {
	return unmapCode(requestErr14To18[request], m.ErrorCode)
}

// codeMap pairs draft-14 codes with draft-18 ones; codes not listed are
// the same in both.
type codeMap [][2]uint64

func mapCode(m codeMap, c uint64) uint64 {
	for _, p := range m {
		if p[0] == c {
			return p[1]
		}
	}
	return c
}

func unmapCode(m codeMap, c uint64) uint64 {
	for _, p := range m {
		if p[1] == c {
			return p[0]
		}
	}
	return c
}

var (
	subscribeErr14To18 = codeMap{
		{SubscribeErrTrackDoesNotExist, 0x10}, {SubscribeErrInvalidRange, 0x11},
		{SubscribeErrMalformedAuthToken, 0x4}, {SubscribeErrExpiredAuthToken, 0x5},
	}
	requestErr14To18 = map[MessageType]codeMap{
		TypeSubscribe:   subscribeErr14To18,
		TypeTrackStatus: subscribeErr14To18,
		TypeFetch: {
			{FetchErrTrackDoesNotExist, 0x10}, {FetchErrInvalidRange, 0x11}, {FetchErrNoObjects, 0x11},
			{FetchErrInvalidJoiningRequestID, 0x32}, {FetchErrMalformedTrack, 0x12},
			{FetchErrMalformedAuthToken, 0x4}, {FetchErrExpiredAuthToken, 0x5},
		},
		TypePublish: {{PublishErrUninterested, 0x20}},
		TypePublishNamespace: {
			{NamespaceErrUninterested, 0x20}, {NamespaceErrMalformedAuthToken, 0x4}, {NamespaceErrExpiredAuthToken, 0x5},
		},
		TypeSubscribeNamespace: {
			{SubscribeNamespaceErrPrefixUnknown, 0x10}, {SubscribeNamespaceErrPrefixOverlap, 0x30},
			{SubscribeNamespaceErrMalformedAuthToken, 0x4}, {SubscribeNamespaceErrExpiredAuthToken, 0x5},
		},
	}
	publishDone14To18 = codeMap{
		{PublishDoneExpired, 0x6}, {PublishDoneTooFarBehind, 0x5}, {PublishDoneMalformedTrack, 0x12},
	}
)

// tokensToFormat rewrites the AUTHORIZATION TOKEN values of ps from one
// integer format to another; other pairs are kept as they are.
func tokensToFormat(ps Parameters, from, to intFormat) (Parameters, error) {
	out := make(Parameters, 0, len(ps))
	for _, kv := range ps {
		if kv.Type == ParamAuthorizationToken {
			tok, err := parseAuthToken(kv.Bytes, from)
			if err != nil {
				return nil, err
			}
			b, err := tok.appendFormat(nil, to)
			if err != nil {
				return nil, err
			}
			kv.Bytes = b
		}
		out = append(out, kv)
	}
	return out, nil
}
