package wire

import (
	"cmp"
	"fmt"
	"slices"
)

// This file holds what drafts 16 and 18 share in their control messages:
// Message Parameters that replaced fixed fields (subscriber priority,
// group order, forward, filter, largest object, expires), Track
// Properties at the end of messages, and the generic REQUEST_OK and
// REQUEST_ERROR replies. The Go message types stay those of draft 14
// (the session layer speaks them); ctl lifts fields into parameters and
// back. What a draft does differently is a field of its ctl, set in
// draft16.go or draft18.go.

// ctl is how one draft after 14 lays out its control messages.
type ctl struct {
	// replyIDs: replies carry the Request ID of the request they answer
	// (draft 16); in draft 18 the request's stream says it.
	replyIDs bool
	// emptyNamespace: a Track Namespace may have zero fields (draft 18).
	emptyNamespace bool
	// typedParams: Message Parameter values are encoded by type, not by
	// the parity of a Key-Value-Pair (draft 18).
	typedParams bool
	// endGroupDelta: an AbsoluteRange filter's End Group is a delta from
	// its start group (draft 18).
	endGroupDelta bool
	// publishDone maps draft-14 PUBLISH_DONE codes to the draft's.
	publishDone codeMap
}

// Message Parameter types of drafts 16 and 18. DELIVERY_TIMEOUT (16) is
// OBJECT_DELIVERY_TIMEOUT in 18.
const (
	paramObjectDeliveryTimeout   uint64 = 0x02
	paramAuthorizationToken      uint64 = 0x03
	paramRendezvousTimeout       uint64 = 0x04
	paramSubgroupDeliveryTimeout uint64 = 0x06
	paramExpires                 uint64 = 0x08
	paramLargestObject           uint64 = 0x09
	paramFillTimeout             uint64 = 0x0A
	paramForward                 uint64 = 0x10
	paramSubscriberPriority      uint64 = 0x20
	paramSubscriptionFilter      uint64 = 0x21
	paramGroupOrder              uint64 = 0x22
	paramNewGroupRequest         uint64 = 0x32
	paramNamespacePrefix         uint64 = 0x34
)

// Property (extension header) types the layouts use.
const (
	PropDefaultPublisherPriority   uint64 = 0x0E
	PropDefaultPublisherGroupOrder uint64 = 0x22
)

// paramKind is a Message Parameter's value encoding in draft 18, where
// the type's parity no longer decides it. Draft 16 knows the same types
// (except those only 18 defines) with parity-decided values.
type paramKind uint8

const (
	kindVarint paramKind = iota
	kindUint8
	kindLocation
	kindBytes
)

var paramKinds = map[uint64]paramKind{
	paramObjectDeliveryTimeout: kindVarint, paramAuthorizationToken: kindBytes,
	paramRendezvousTimeout: kindVarint, paramSubgroupDeliveryTimeout: kindVarint,
	paramExpires: kindVarint, paramLargestObject: kindLocation, paramFillTimeout: kindVarint,
	paramForward: kindUint8, paramSubscriberPriority: kindUint8, paramSubscriptionFilter: kindBytes,
	paramGroupOrder: kindUint8, paramNewGroupRequest: kindVarint, paramNamespacePrefix: kindBytes,
}

// params16 are the Message Parameters draft 16 defines.
var params16 = []uint64{paramObjectDeliveryTimeout, paramAuthorizationToken, paramExpires, paramLargestObject,
	paramForward, paramSubscriberPriority, paramSubscriptionFilter, paramGroupOrder, paramNewGroupRequest}

// msgParam is one parameter to encode: Value for integer kinds, Bytes
// for length-prefixed ones, Loc for LARGEST_OBJECT.
type msgParam struct {
	Type  uint64
	Value uint64
	Bytes []byte
	Loc   Location
}

// collectParams merges the parameters lifted from message fields with
// the pass-through ones in ps (tokens, delivery timeout), sorted by type
// as delta coding needs. A draft-14 parameter these drafts do not define
// is dropped: the peer would have to close the session over it.
func collectParams(ps Parameters, lifted []msgParam) []msgParam {
	out := slices.Clone(lifted)
	for _, kv := range ps {
		switch kv.Type {
		case ParamAuthorizationToken:
			out = append(out, msgParam{Type: paramAuthorizationToken, Bytes: kv.Bytes})
		case ParamDeliveryTimeout:
			out = append(out, msgParam{Type: paramObjectDeliveryTimeout, Value: kv.Value})
		}
	}
	slices.SortStableFunc(out, func(a, b msgParam) int { return cmp.Compare(a.Type, b.Type) })
	return out
}

// params writes a Message Parameter block: a count, then each parameter
// as a type delta and a value.
func (c *ctl) params(e *encoder, ps Parameters, lifted ...msgParam) {
	list := collectParams(ps, lifted)
	e.varint(uint64(len(list)))
	prev := uint64(0)
	for _, p := range list {
		e.varint(p.Type - prev)
		prev = p.Type
		kind := paramKinds[p.Type]
		if p.Type == paramAuthorizationToken {
			var err error
			if p.Bytes, err = reencodeToken(p.Bytes, dialect14, e.f); err != nil {
				e.fail(err)
				return
			}
		}
		switch {
		case kind == kindLocation:
			loc := encoder{f: e.f}
			loc.location(p.Loc)
			if c.typedParams {
				e.b = append(e.b, loc.b...)
			} else {
				e.lenBytes(loc.b, MaxKeyValueLength)
			}
		case kind == kindBytes:
			e.lenBytes(p.Bytes, MaxKeyValueLength)
		case kind == kindUint8 && c.typedParams:
			if p.Value > 0xff {
				e.fail(ErrMalformed)
				return
			}
			e.u8(uint8(p.Value))
		default:
			e.varint(p.Value)
		}
	}
}

// msgParams is a parsed parameter block: values by type, and the
// pass-through parameters in draft-14 form (tokens re-encoded) so the
// session layer reads them the same way for every version.
type msgParams struct {
	ints map[uint64]uint64
	loc  *Location
	raw  map[uint64][]byte
	rest Parameters
}

func (p *msgParams) get(t uint64) (uint64, bool) {
	v, ok := p.ints[t]
	return v, ok
}

// readParams reads a Message Parameter block. Unknown parameters, and
// known ones repeated (other than AUTHORIZATION TOKEN), are protocol
// violations.
func (c *ctl) readParams(d *decoder) msgParams {
	var out msgParams
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
		if i > 0 && delta == 0 && t != paramAuthorizationToken {
			d.fail(ErrDuplicateParameter)
			return out
		}
		prev = t
		kind, known := paramKinds[t]
		if known && !c.typedParams {
			known = slices.Contains(params16, t)
		}
		if !known {
			d.fail(fmt.Errorf("message parameter 0x%x: %w", t, ErrMalformed))
			return out
		}
		var value []byte
		switch {
		case kind == kindLocation && c.typedParams:
			l := d.location()
			out.loc = &l
			continue
		case kind == kindLocation, kind == kindBytes:
			value = d.lenBytes(MaxKeyValueLength)
		case kind == kindUint8 && c.typedParams:
			out.ints[t] = uint64(d.u8())
			continue
		default:
			out.ints[t] = d.varint()
			if t == paramObjectDeliveryTimeout {
				out.rest = append(out.rest, IntPair(ParamDeliveryTimeout, out.ints[t]))
			}
			continue
		}
		if d.err != nil {
			return out
		}
		switch t {
		case paramLargestObject:
			ld := decoder{p: value, f: d.f}
			l := ld.location()
			if err := ld.finish(); err != nil {
				d.fail(ErrKeyValueFormat)
				return out
			}
			out.loc = &l
		case paramAuthorizationToken:
			if _, err := parseAuthToken(value, d.f); err != nil {
				d.fail(err)
				return out
			}
			canon, err := reencodeToken(value, d.f, dialect14)
			if err != nil {
				d.fail(err)
				return out
			}
			out.rest = append(out.rest, BytesPair(ParamAuthorizationToken, canon))
		default:
			out.raw[t] = value
		}
	}
	return out
}

// namespace writes a Track Namespace under the draft's field-count rule.
func (c *ctl) namespace(e *encoder, ns Namespace) int {
	if len(ns) > MaxNamespaceFields || (len(ns) == 0 && !c.emptyNamespace) {
		e.fail(ErrMalformed)
		return 0
	}
	e.varint(uint64(len(ns)))
	total := 0
	for _, f := range ns {
		if f == "" && c.emptyNamespace {
			e.fail(ErrMalformed) // draft 18: fields are non-empty
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

func (c *ctl) readNamespace(d *decoder) (Namespace, int) {
	n := d.varint()
	if d.err != nil {
		return nil, 0
	}
	if n > MaxNamespaceFields || (n == 0 && !c.emptyNamespace) {
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
		if len(f) == 0 && c.emptyNamespace {
			d.fail(ErrMalformed)
			return nil, 0
		}
		used += len(f)
		ns = append(ns, string(f))
	}
	return ns, used
}

func (c *ctl) fullTrackName(e *encoder, ns Namespace, name string) {
	used := c.namespace(e, ns)
	if used+len(name) > MaxFullTrackNameLength {
		e.fail(ErrTooLong)
		return
	}
	e.lenString(name, MaxFullTrackNameLength)
}

func (c *ctl) readFullTrackName(d *decoder) (Namespace, string) {
	ns, used := c.readNamespace(d)
	return ns, d.lenString(MaxFullTrackNameLength - used)
}

// filterBytes encodes a Subscription Filter as a parameter value.
func (c *ctl) filterBytes(f dialect, flt Filter) ([]byte, error) {
	e := encoder{f: f}
	e.varint(uint64(flt.Type))
	switch flt.Type {
	case FilterNextGroupStart, FilterLargestObject:
	case FilterAbsoluteStart:
		e.location(flt.Start)
	case FilterAbsoluteRange:
		e.location(flt.Start)
		if !c.endGroupDelta {
			e.varint(flt.EndGroup)
			break
		}
		if flt.EndGroup < flt.Start.Group {
			return nil, ErrMalformed
		}
		e.varint(flt.EndGroup - flt.Start.Group)
	default:
		return nil, ErrMalformed
	}
	return e.b, e.err
}

func (c *ctl) parseFilter(f dialect, p []byte) (Filter, error) {
	d := decoder{p: p, f: f}
	flt := Filter{Type: FilterType(d.varint())}
	switch flt.Type {
	case FilterNextGroupStart, FilterLargestObject:
	case FilterAbsoluteStart:
		flt.Start = d.location()
	case FilterAbsoluteRange:
		flt.Start = d.location()
		end := d.varint()
		if c.endGroupDelta {
			if d.err == nil && end > ^uint64(0)-flt.Start.Group {
				d.fail(ErrMalformed)
			}
			end += flt.Start.Group
		}
		flt.EndGroup = end
	default:
		d.fail(ErrMalformed)
	}
	return flt, d.finish()
}

// unfiltered is how a request without SUBSCRIPTION_FILTER reads: the
// spec makes it equal to AbsoluteStart at {0, 0}.
var unfiltered = Filter{Type: FilterAbsoluteStart}

func (c *ctl) filter(d *decoder, p *msgParams) (Filter, bool) {
	raw, ok := p.raw[paramSubscriptionFilter]
	if !ok {
		return unfiltered, false
	}
	f, err := c.parseFilter(d.f, raw)
	if err != nil {
		d.fail(err)
	}
	return f, true
}

func (p *msgParams) groupOrder(d *decoder, def GroupOrder) GroupOrder {
	v, ok := p.get(paramGroupOrder)
	if !ok {
		return def
	}
	if v != uint64(GroupOrderAscending) && v != uint64(GroupOrderDescending) {
		d.fail(ErrMalformed)
	}
	return GroupOrder(v)
}

func (p *msgParams) forward(d *decoder) bool {
	v, ok := p.get(paramForward)
	if !ok {
		return true
	}
	if v > 1 {
		d.fail(ErrMalformed)
	}
	return v == 1
}

func (p *msgParams) priority(d *decoder) uint8 {
	v, ok := p.get(paramSubscriberPriority)
	if !ok {
		return defaultSubscriberPriority
	}
	if v > 0xff {
		d.fail(ErrMalformed)
	}
	return uint8(v)
}

// defaultSubscriberPriority applies when SUBSCRIBER_PRIORITY is omitted.
const defaultSubscriberPriority = 128

func flagValue(b bool) uint64 {
	if b {
		return 1
	}
	return 0
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

func largestParam(exists bool, l Location) []msgParam {
	if !exists {
		return nil
	}
	return []msgParam{{Type: paramLargestObject, Loc: l}}
}

// replyID writes a reply's Request ID where the draft carries it.
func (c *ctl) replyID(e *encoder, id uint64) {
	if c.replyIDs {
		e.varint(id)
	}
}

func (c *ctl) readReplyID(d *decoder) uint64 {
	if c.replyIDs {
		return d.varint()
	}
	return 0
}

func (c *ctl) encSubscribe(e *encoder, m *Subscribe) {
	e.varint(m.RequestID)
	c.fullTrackName(e, m.Namespace, m.TrackName)
	lifted := []msgParam{
		{Type: paramForward, Value: flagValue(m.Forward)},
		{Type: paramSubscriberPriority, Value: uint64(m.SubscriberPriority)},
	}
	if m.GroupOrder != GroupOrderPublisher {
		lifted = append(lifted, msgParam{Type: paramGroupOrder, Value: uint64(m.GroupOrder)})
	}
	if m.Filter.Type != 0 {
		f, err := c.filterBytes(e.f, m.Filter)
		if err != nil {
			e.fail(err)
			return
		}
		lifted = append(lifted, msgParam{Type: paramSubscriptionFilter, Bytes: f})
	}
	c.params(e, m.Params, lifted...)
}

func (c *ctl) decSubscribe(d *decoder, m *Subscribe) {
	m.RequestID = d.varint()
	m.Namespace, m.TrackName = c.readFullTrackName(d)
	ps := c.readParams(d)
	m.Forward = ps.forward(d)
	m.SubscriberPriority = ps.priority(d)
	m.GroupOrder = ps.groupOrder(d, GroupOrderPublisher)
	m.Filter, _ = c.filter(d, &ps)
	m.Params = ps.rest
}

func (c *ctl) encSubscribeOK(e *encoder, m *SubscribeOK) {
	c.replyID(e, m.RequestID)
	e.varint(m.TrackAlias)
	lifted := largestParam(m.ContentExists, m.Largest)
	if m.Expires != 0 {
		lifted = append(lifted, msgParam{Type: paramExpires, Value: m.Expires})
	}
	c.params(e, m.Params, lifted...)
	e.props(trackProps(m.GroupOrder))
}

func (c *ctl) decSubscribeOK(d *decoder, m *SubscribeOK) {
	m.RequestID = c.readReplyID(d)
	m.TrackAlias = d.varint()
	ps := c.readParams(d)
	m.Expires, _ = ps.get(paramExpires)
	if ps.loc != nil {
		m.ContentExists, m.Largest = true, *ps.loc
	}
	m.Params = ps.rest
	m.GroupOrder = groupOrderOf(d.trackProps())
}

// updateParams lifts a SUBSCRIBE_UPDATE's fields into REQUEST_UPDATE
// parameters: its range becomes an AbsoluteStart or AbsoluteRange filter.
func (c *ctl) updateParams(e *encoder, m *SubscribeUpdate) {
	f := Filter{Type: FilterAbsoluteStart, Start: m.Start}
	if m.EndGroup != 0 {
		f = Filter{Type: FilterAbsoluteRange, Start: m.Start, EndGroup: m.EndGroup - 1}
	}
	fb, err := c.filterBytes(e.f, f)
	if err != nil {
		e.fail(err)
		return
	}
	c.params(e, m.Params,
		msgParam{Type: paramForward, Value: flagValue(m.Forward)},
		msgParam{Type: paramSubscriberPriority, Value: uint64(m.SubscriberPriority)},
		msgParam{Type: paramSubscriptionFilter, Bytes: fb})
}

func (c *ctl) readUpdateParams(d *decoder, m *SubscribeUpdate) {
	ps := c.readParams(d)
	m.Forward = ps.forward(d)
	m.SubscriberPriority = ps.priority(d)
	if f, ok := c.filter(d, &ps); ok {
		m.Start = f.Start
		if f.Type == FilterAbsoluteRange {
			m.EndGroup = f.EndGroup + 1
		}
	}
	m.Params = ps.rest
}

func (c *ctl) encPublish(e *encoder, m *Publish) {
	e.varint(m.RequestID)
	c.fullTrackName(e, m.Namespace, m.TrackName)
	e.varint(m.TrackAlias)
	lifted := append(largestParam(m.ContentExists, m.Largest), msgParam{Type: paramForward, Value: flagValue(m.Forward)})
	c.params(e, m.Params, lifted...)
	e.props(trackProps(m.GroupOrder))
}

func (c *ctl) decPublish(d *decoder, m *Publish) {
	m.RequestID = d.varint()
	m.Namespace, m.TrackName = c.readFullTrackName(d)
	m.TrackAlias = d.varint()
	ps := c.readParams(d)
	m.Forward = ps.forward(d)
	if ps.loc != nil {
		m.ContentExists, m.Largest = true, *ps.loc
	}
	m.Params = ps.rest
	m.GroupOrder = groupOrderOf(d.trackProps())
}

func (c *ctl) encPublishDone(e *encoder, m *PublishDone) {
	c.replyID(e, m.RequestID)
	e.varint(mapCode(c.publishDone, m.StatusCode))
	e.varint(m.StreamCount)
	e.reason(m.Reason)
}

func (c *ctl) decPublishDone(d *decoder, m *PublishDone) {
	m.RequestID = c.readReplyID(d)
	m.StatusCode = unmapCode(c.publishDone, d.varint())
	m.StreamCount = d.varint()
	m.Reason = d.reason()
}

func (c *ctl) encFetch(e *encoder, m *Fetch) {
	e.varint(m.RequestID)
	e.varint(uint64(m.FetchType))
	switch m.FetchType {
	case FetchStandalone:
		c.fullTrackName(e, m.Namespace, m.TrackName)
		e.location(m.Start)
		e.location(m.End)
	case FetchRelativeJoining, FetchAbsoluteJoining:
		e.varint(m.JoiningRequestID)
		e.varint(m.JoiningStart)
	default:
		e.fail(ErrMalformed)
	}
	lifted := []msgParam{{Type: paramSubscriberPriority, Value: uint64(m.SubscriberPriority)}}
	if m.GroupOrder != GroupOrderPublisher {
		lifted = append(lifted, msgParam{Type: paramGroupOrder, Value: uint64(m.GroupOrder)})
	}
	c.params(e, m.Params, lifted...)
}

func (c *ctl) decFetch(d *decoder, m *Fetch) {
	m.RequestID = d.varint()
	m.FetchType = FetchType(d.varint())
	switch m.FetchType {
	case FetchStandalone:
		m.Namespace, m.TrackName = c.readFullTrackName(d)
		m.Start = d.location()
		m.End = d.location()
	case FetchRelativeJoining, FetchAbsoluteJoining:
		m.JoiningRequestID = d.varint()
		m.JoiningStart = d.varint()
	default:
		d.fail(ErrMalformed)
		return
	}
	ps := c.readParams(d)
	m.SubscriberPriority = ps.priority(d)
	m.GroupOrder = ps.groupOrder(d, GroupOrderAscending)
	m.Params = ps.rest
}

func (c *ctl) encFetchOK(e *encoder, m *FetchOK) {
	c.replyID(e, m.RequestID)
	e.flag(m.EndOfTrack)
	e.location(m.End)
	c.params(e, m.Params)
	e.props(nil)
}

// decFetchOK: FETCH_OK has no group order from draft 16 on; the fetch's
// own (or Ascending) applies.
func (c *ctl) decFetchOK(d *decoder, m *FetchOK) {
	m.RequestID = c.readReplyID(d)
	m.EndOfTrack = d.flag()
	m.End = d.location()
	m.Params = c.readParams(d).rest
	m.GroupOrder = GroupOrderAscending
	d.trackProps()
}

func (c *ctl) encPublishNamespace(e *encoder, m *PublishNamespace) {
	e.varint(m.RequestID)
	c.namespace(e, m.Namespace)
	c.params(e, m.Params)
}

func (c *ctl) decPublishNamespace(d *decoder, m *PublishNamespace) {
	m.RequestID = d.varint()
	m.Namespace, _ = c.readNamespace(d)
	m.Params = c.readParams(d).rest
}

// RequestOK is the generic success reply of drafts 16 and 18. Which
// request it answers follows from its Request ID (16) or stream (18); the
// As* methods read it as that request's draft-14 reply.
type RequestOK struct {
	RequestID          uint64 // draft 16 only
	Forward            *bool
	SubscriberPriority *uint8
	GroupOrder         GroupOrder // 0 when absent
	Filter             *Filter
	Expires            uint64
	Largest            *Location
	Params             Parameters // tokens and the like, draft-14 form
	Properties         Extensions // Track Properties (draft 18)
}

func (*RequestOK) Type() MessageType { return TypeRequestOK }
func (m *RequestOK) AppendPayload(b []byte, v Version) ([]byte, error) {
	return appendFields(v, m, b, nil)
}
func (m *RequestOK) DecodePayload(p []byte, v Version) error {
	*m = RequestOK{}
	return decodeFields(v, m, p, nil)
}

func (c *ctl) encRequestOK(e *encoder, m *RequestOK) {
	c.replyID(e, m.RequestID)
	var lifted []msgParam
	if m.Forward != nil {
		lifted = append(lifted, msgParam{Type: paramForward, Value: flagValue(*m.Forward)})
	}
	if m.SubscriberPriority != nil {
		lifted = append(lifted, msgParam{Type: paramSubscriberPriority, Value: uint64(*m.SubscriberPriority)})
	}
	if m.GroupOrder != GroupOrderPublisher {
		lifted = append(lifted, msgParam{Type: paramGroupOrder, Value: uint64(m.GroupOrder)})
	}
	if m.Filter != nil && m.Filter.Type != 0 {
		f, err := c.filterBytes(e.f, *m.Filter)
		if err != nil {
			e.fail(err)
			return
		}
		lifted = append(lifted, msgParam{Type: paramSubscriptionFilter, Bytes: f})
	}
	if m.Expires != 0 {
		lifted = append(lifted, msgParam{Type: paramExpires, Value: m.Expires})
	}
	if m.Largest != nil {
		lifted = append(lifted, msgParam{Type: paramLargestObject, Loc: *m.Largest})
	}
	c.params(e, m.Params, lifted...)
	if !c.replyIDs {
		e.props(m.Properties)
	}
}

func (c *ctl) decRequestOK(d *decoder, m *RequestOK) {
	m.RequestID = c.readReplyID(d)
	ps := c.readParams(d)
	if _, ok := ps.get(paramForward); ok {
		f := ps.forward(d)
		m.Forward = &f
	}
	if _, ok := ps.get(paramSubscriberPriority); ok {
		p := ps.priority(d)
		m.SubscriberPriority = &p
	}
	m.GroupOrder = ps.groupOrder(d, GroupOrderPublisher)
	if f, ok := c.filter(d, &ps); ok {
		m.Filter = &f
	}
	m.Expires, _ = ps.get(paramExpires)
	m.Largest = ps.loc
	m.Params = ps.rest
	if !c.replyIDs {
		m.Properties = d.trackProps()
	}
}

func publishOKAsRequestOK(m *PublishOK) *RequestOK {
	fwd, prio, f := m.Forward, m.SubscriberPriority, m.Filter
	return &RequestOK{RequestID: m.RequestID, Forward: &fwd, SubscriberPriority: &prio, GroupOrder: m.GroupOrder,
		Filter: &f, Params: m.Params}
}

func trackStatusOKAsRequestOK(m *TrackStatusOK) *RequestOK {
	r := &RequestOK{RequestID: m.RequestID, Expires: m.Expires, Params: m.Params, Properties: trackProps(m.GroupOrder)}
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

// RequestErrorMsg is the generic failure reply of drafts 16 and 18.
// ErrorCode is in their REQUEST_ERROR space; CodeFor maps it to the
// draft-14 code space of the request it answers.
type RequestErrorMsg struct {
	RequestID     uint64 // draft 16 only
	ErrorCode     uint64
	RetryInterval uint64 // milliseconds plus one; 0: do not retry
	Reason        string
	Redirect      *Redirect // draft 18, with RequestErrRedirect18 only
}

// REQUEST_ERROR codes of drafts 16 and 18 without a draft-14 counterpart.
const (
	RequestErrGoingAway18      uint64 = 0x6
	RequestErrExcessiveLoad18  uint64 = 0x9
	RequestErrDuplicateSub     uint64 = 0x19
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

// errorOf encodes a draft-14 *_ERROR reply as REQUEST_ERROR.
func (c *ctl) errorOf(request MessageType, enc func(*encoder, *RequestErrorMsg)) func(*encoder, *RequestError) {
	return func(e *encoder, m *RequestError) {
		enc(e, &RequestErrorMsg{RequestID: m.RequestID, ErrorCode: mapCode(requestErr14ToNew[request], m.ErrorCode),
			Reason: m.Reason})
	}
}

// CodeFor maps the error code into the draft-14 space of the given
// request type's error message (SubscribeErr*, PublishErr*, ...), which
// is what the session layer reports; codes without a counterpart pass
// through unchanged.
func (m *RequestErrorMsg) CodeFor(request MessageType) uint64 {
	return unmapCode(requestErr14ToNew[request], m.ErrorCode)
}

// codeMap pairs draft-14 codes with a later draft's; codes not listed
// are the same in both.
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

// REQUEST_ERROR codes (drafts 16 and 18 agree) for each draft-14 error
// message's codes.
var (
	subscribeErr14ToNew = codeMap{
		{SubscribeErrTrackDoesNotExist, 0x10}, {SubscribeErrInvalidRange, 0x11},
		{SubscribeErrMalformedAuthToken, 0x4}, {SubscribeErrExpiredAuthToken, 0x5},
	}
	requestErr14ToNew = map[MessageType]codeMap{
		TypeSubscribe:   subscribeErr14ToNew,
		TypeTrackStatus: subscribeErr14ToNew,
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
)

// replyLayouts are the entries for the draft-14 reply types that encode
// as REQUEST_OK or REQUEST_ERROR (encode only: decoding gives the generic
// message, which the session turns back).
func (c *ctl) replyLayouts(ls map[MessageType]layout, enc func(*encoder, *RequestErrorMsg), okTypes ...MessageType) {
	errs := map[MessageType]MessageType{
		TypeSubscribeError: TypeSubscribe, TypeTrackStatusError: TypeTrackStatus, TypePublishError: TypePublish,
		TypeFetchError: TypeFetch, TypePublishNamespaceError: TypePublishNamespace,
		TypeSubscribeNamespaceError: TypeSubscribeNamespace,
	}
	for errType, request := range errs {
		e := c.errorOf(request, enc)
		ls[errType] = layout{enc: func(en *encoder, m Message) { e(en, requestErrorOf(m)) }}
	}
	oks := map[MessageType]func(Message) *RequestOK{
		TypePublishOK:            func(m Message) *RequestOK { return publishOKAsRequestOK(m.(*PublishOK)) },
		TypeTrackStatusOK:        func(m Message) *RequestOK { return trackStatusOKAsRequestOK(m.(*TrackStatusOK)) },
		TypePublishNamespaceOK:   func(m Message) *RequestOK { return &RequestOK{RequestID: m.(*PublishNamespaceOK).RequestID} },
		TypeSubscribeNamespaceOK: func(m Message) *RequestOK { return &RequestOK{RequestID: m.(*SubscribeNamespaceOK).RequestID} },
	}
	for _, t := range okTypes {
		conv := oks[t]
		ls[t] = layout{enc: func(e *encoder, m Message) { c.encRequestOK(e, conv(m)) }}
	}
}

// requestErrorOf reads any draft-14 *_ERROR message as its shared shape.
func requestErrorOf(m Message) *RequestError {
	switch m := m.(type) {
	case *SubscribeError:
		return (*RequestError)(m)
	case *TrackStatusError:
		return (*RequestError)(m)
	case *PublishError:
		return (*RequestError)(m)
	case *FetchError:
		return (*RequestError)(m)
	case *PublishNamespaceError:
		return (*RequestError)(m)
	case *SubscribeNamespaceError:
		return (*RequestError)(m)
	}
	return &RequestError{}
}
