package wire

// This file is draft 16's control plane: its message codes and what it
// lays out differently from draft 14 (layouts shared with draft 18 are in
// ctl.go; data streams in data16.go).
//
//   - one bidirectional control stream, as in draft 14, and QUIC varints;
//   - CLIENT_SETUP and SERVER_SETUP carry no versions (ALPN chose one);
//     parameters and Setup Parameters are Key-Value-Pairs with delta
//     types; MOQT_IMPLEMENTATION is 0x07;
//   - REQUEST_OK (0x7) answers PUBLISH_NAMESPACE, TRACK_STATUS,
//     SUBSCRIBE_NAMESPACE and REQUEST_UPDATE; REQUEST_ERROR (0x5) with a
//     Retry Interval answers every request; both carry the Request ID;
//   - subscriber priority, group order, forward, filter, largest object
//     and expires moved into Message Parameters (values by parity);
//     SUBSCRIBE_OK, PUBLISH and FETCH_OK end with Track Extensions;
//   - SUBSCRIBE_UPDATE became REQUEST_UPDATE (new ID plus the existing
//     request's ID); PUBLISH_NAMESPACE_DONE and _CANCEL name the request
//     by ID; SUBSCRIBE_NAMESPACE has Subscribe Options and its own stream;
//   - REQUEST_ERROR and PUBLISH_DONE codes renumbered (see ctl.go).

// Draft-16 wire codes of its generic replies; they reuse the codes of
// draft 14's PUBLISH_NAMESPACE_OK and SUBSCRIBE_ERROR.
const (
	code16RequestOK    uint64 = 0x7
	code16RequestError uint64 = 0x5
)

// draft16Table is draft 14's, less the per-request replies folded into
// REQUEST_OK and REQUEST_ERROR and less UNSUBSCRIBE_NAMESPACE (draft 16
// cancels a SUBSCRIBE_NAMESPACE by closing its stream).
func draft16Table() map[uint64]func() Message {
	t := draft14Table()
	for _, gone := range []MessageType{TypeSubscribeError, TypePublishError, TypeFetchError,
		TypeTrackStatusOK, TypeTrackStatusError, TypePublishNamespaceOK, TypePublishNamespaceError,
		TypeSubscribeNamespaceOK, TypeSubscribeNamespaceError, TypeUnsubscribeNamespace} {
		delete(t, uint64(gone))
	}
	t[code16RequestOK] = func() Message { return new(RequestOK) }
	t[code16RequestError] = func() Message { return new(RequestErrorMsg) }
	return t
}

// draft16Replies are the reply types framed as REQUEST_OK or
// REQUEST_ERROR.
var draft16Replies = map[MessageType]uint64{
	TypeSubscribeError: code16RequestError, TypePublishError: code16RequestError,
	TypeFetchError: code16RequestError, TypeTrackStatusError: code16RequestError,
	TypePublishNamespaceError: code16RequestError, TypeSubscribeNamespaceError: code16RequestError,
	TypePublishNamespaceOK: code16RequestOK, TypeTrackStatusOK: code16RequestOK,
	TypeSubscribeNamespaceOK: code16RequestOK,
}

var draft16 = &ctl{replyIDs: true, publishDone: publishDone14To16}

// PUBLISH_DONE codes draft 16 renumbered.
var publishDone14To16 = codeMap{{PublishDoneMalformedTrack, 0x12}}

var draft16Layouts = func() map[MessageType]layout {
	c := draft16
	ls := map[MessageType]layout{
		// Unchanged from draft 14.
		TypeGoAway: {}, TypeMaxRequestID: {}, TypeRequestsBlocked: {}, TypeUnsubscribe: {}, TypeFetchCancel: {},

		TypeClientSetup:      lay(func(e *encoder, m *ClientSetup) { enc16Setup(e, m.Params) }, func(d *decoder, m *ClientSetup) { m.Params = dec16Setup(d) }),
		TypeServerSetup:      lay(func(e *encoder, m *ServerSetup) { enc16Setup(e, m.Params) }, func(d *decoder, m *ServerSetup) { m.Params = dec16Setup(d) }),
		TypeSubscribe:        lay(c.encSubscribe, c.decSubscribe),
		TypeTrackStatus:      lay(func(e *encoder, m *TrackStatus) { c.encSubscribe(e, (*Subscribe)(m)) }, func(d *decoder, m *TrackStatus) { c.decSubscribe(d, (*Subscribe)(m)) }),
		TypeSubscribeOK:      lay(c.encSubscribeOK, c.decSubscribeOK),
		TypeSubscribeUpdate:  lay(enc16RequestUpdate, dec16RequestUpdate),
		TypePublish:          lay(c.encPublish, c.decPublish),
		TypePublishOK:        lay(enc16PublishOK, dec16PublishOK),
		TypePublishDone:      lay(c.encPublishDone, c.decPublishDone),
		TypeFetch:            lay(c.encFetch, c.decFetch),
		TypeFetchOK:          lay(c.encFetchOK, c.decFetchOK),
		TypePublishNamespace: lay(c.encPublishNamespace, c.decPublishNamespace),
		TypePublishNamespaceDone: lay(
			func(e *encoder, m *PublishNamespaceDone) { e.varint(m.RequestID) },
			func(d *decoder, m *PublishNamespaceDone) { m.RequestID = d.varint() }),
		TypePublishNamespaceCancel: lay(
			func(e *encoder, m *PublishNamespaceCancel) {
				e.varint(m.RequestID)
				e.varint(m.ErrorCode)
				e.reason(m.Reason)
			},
			func(d *decoder, m *PublishNamespaceCancel) {
				m.RequestID, m.ErrorCode, m.Reason = d.varint(), d.varint(), d.reason()
			}),
		TypeSubscribeNamespace: lay(enc16SubscribeNamespace, dec16SubscribeNamespace),
		TypeRequestOK:          lay(c.encRequestOK, c.decRequestOK),
		TypeRequestError:       lay(enc16RequestError, dec16RequestError),
	}
	c.replyLayouts(ls, enc16RequestError, TypeTrackStatusOK, TypePublishNamespaceOK, TypeSubscribeNamespaceOK)
	return ls
}()

// enc16Setup writes CLIENT_SETUP's or SERVER_SETUP's parameters: a count
// then delta-typed pairs. There is no version: ALPN chose it.
func enc16Setup(e *encoder, ps Parameters) {
	sorted := sortedKVP(ps)
	e.varint(uint64(len(sorted)))
	e.kvps(sorted)
}

func dec16Setup(d *decoder) Parameters {
	n := d.varint()
	if d.err != nil || n == 0 {
		return nil
	}
	if n > uint64(len(d.p))/2 {
		d.fail(ErrTruncated)
		return nil
	}
	ps := make(Parameters, 0, n)
	prev := uint64(0)
	for range n {
		kv := d.deltaKVP(&prev)
		if d.err != nil {
			return nil
		}
		ps = append(ps, kv)
	}
	return checkSetupParams(d, ps)
}

func enc16RequestUpdate(e *encoder, m *SubscribeUpdate) {
	e.varint(m.RequestID)
	e.varint(m.SubscriptionRequestID)
	draft16.updateParams(e, m)
}

func dec16RequestUpdate(d *decoder, m *SubscribeUpdate) {
	m.RequestID = d.varint()
	m.SubscriptionRequestID = d.varint()
	draft16.readUpdateParams(d, m)
}

func enc16PublishOK(e *encoder, m *PublishOK) {
	r := publishOKAsRequestOK(m)
	draft16.encRequestOK(e, r)
}

func dec16PublishOK(d *decoder, m *PublishOK) {
	var r RequestOK
	draft16.decRequestOK(d, &r)
	*m = r.AsPublishOK(r.RequestID)
}

func enc16SubscribeNamespace(e *encoder, m *SubscribeNamespace) {
	e.varint(m.RequestID)
	draft18.namespace(e, m.Prefix) // 0 to 32 fields, as in draft 18
	e.varint(m.Options)
	draft16.params(e, m.Params)
}

func dec16SubscribeNamespace(d *decoder, m *SubscribeNamespace) {
	m.RequestID = d.varint()
	m.Prefix, _ = draft18.readNamespace(d)
	m.Options = d.varint()
	m.Params = draft16.readParams(d).rest
}

func enc16RequestError(e *encoder, m *RequestErrorMsg) {
	e.varint(m.RequestID)
	e.varint(m.ErrorCode)
	e.varint(m.RetryInterval)
	e.reason(m.Reason)
}

func dec16RequestError(d *decoder, m *RequestErrorMsg) {
	m.RequestID = d.varint()
	m.ErrorCode = d.varint()
	m.RetryInterval = d.varint()
	m.Reason = d.reason()
}
