package wire

// PublishNamespace advertises that the sender has tracks under a namespace
// (draft-14's name for ANNOUNCE).
type PublishNamespace struct {
	RequestID uint64
	Namespace Namespace
	Params    Parameters
}

func (*PublishNamespace) Type() MessageType { return TypePublishNamespace }
func (m *PublishNamespace) AppendPayload(b []byte, v Version) ([]byte, error) {
	return appendFields(v, m, b, m)
}
func (m *PublishNamespace) DecodePayload(p []byte, v Version) error {
	*m = PublishNamespace{}
	return decodeFields(v, m, p, m)
}

func (m *PublishNamespace) enc(e *encoder) {
	e.varint(m.RequestID)
	e.namespace(m.Namespace)
	e.params(m.Params)
}

func (m *PublishNamespace) dec(d *decoder) {
	m.RequestID = d.varint()
	m.Namespace = d.namespace()
	m.Params = d.versionParams()
}

// PublishNamespaceOK accepts a PUBLISH_NAMESPACE.
type PublishNamespaceOK struct {
	RequestID uint64
}

func (*PublishNamespaceOK) Type() MessageType { return TypePublishNamespaceOK }
func (m *PublishNamespaceOK) AppendPayload(b []byte, v Version) ([]byte, error) {
	return appendFields(v, m, b, (*requestOnly)(m))
}
func (m *PublishNamespaceOK) DecodePayload(p []byte, v Version) error {
	*m = PublishNamespaceOK{}
	return decodeFields(v, m, p, (*requestOnly)(m))
}

// PublishNamespaceError rejects a PUBLISH_NAMESPACE; ErrorCode is one of
// the NamespaceErr* codes.
type PublishNamespaceError RequestError

func (*PublishNamespaceError) Type() MessageType { return TypePublishNamespaceError }
func (m *PublishNamespaceError) AppendPayload(b []byte, v Version) ([]byte, error) {
	return appendFields(v, m, b, (*RequestError)(m))
}
func (m *PublishNamespaceError) DecodePayload(p []byte, v Version) error {
	*m = PublishNamespaceError{}
	return decodeFields(v, m, p, (*RequestError)(m))
}

// PublishNamespaceDone withdraws a namespace advertisement. Draft 16
// names it by the PUBLISH_NAMESPACE's RequestID instead of Namespace.
type PublishNamespaceDone struct {
	Namespace Namespace
	RequestID uint64
}

func (*PublishNamespaceDone) Type() MessageType { return TypePublishNamespaceDone }
func (m *PublishNamespaceDone) AppendPayload(b []byte, v Version) ([]byte, error) {
	return appendFields(v, m, b, m)
}
func (m *PublishNamespaceDone) DecodePayload(p []byte, v Version) error {
	*m = PublishNamespaceDone{}
	return decodeFields(v, m, p, m)
}
func (m *PublishNamespaceDone) enc(e *encoder) { e.namespace(m.Namespace) }
func (m *PublishNamespaceDone) dec(d *decoder) { m.Namespace = d.namespace() }

// PublishNamespaceCancel tells the publisher the receiver will stop
// sending subscriptions for a namespace.
//
// Draft 16 names it by the PUBLISH_NAMESPACE's RequestID instead.
type PublishNamespaceCancel struct {
	Namespace Namespace
	RequestID uint64
	ErrorCode uint64
	Reason    string
}

func (*PublishNamespaceCancel) Type() MessageType { return TypePublishNamespaceCancel }
func (m *PublishNamespaceCancel) AppendPayload(b []byte, v Version) ([]byte, error) {
	return appendFields(v, m, b, m)
}
func (m *PublishNamespaceCancel) DecodePayload(p []byte, v Version) error {
	*m = PublishNamespaceCancel{}
	return decodeFields(v, m, p, m)
}

func (m *PublishNamespaceCancel) enc(e *encoder) {
	e.namespace(m.Namespace)
	e.varint(m.ErrorCode)
	e.reason(m.Reason)
}

func (m *PublishNamespaceCancel) dec(d *decoder) {
	m.Namespace = d.namespace()
	m.ErrorCode = d.varint()
	m.Reason = d.reason()
}

// SubscribeNamespace asks for namespaces and tracks under a prefix.
//
// Options (draft 16) asks for PUBLISH (0), NAMESPACE (1) or both (2).
type SubscribeNamespace struct {
	RequestID uint64
	Prefix    Namespace
	Options   uint64
	Params    Parameters
}

func (*SubscribeNamespace) Type() MessageType { return TypeSubscribeNamespace }
func (m *SubscribeNamespace) AppendPayload(b []byte, v Version) ([]byte, error) {
	return appendFields(v, m, b, m)
}
func (m *SubscribeNamespace) DecodePayload(p []byte, v Version) error {
	*m = SubscribeNamespace{}
	return decodeFields(v, m, p, m)
}

func (m *SubscribeNamespace) enc(e *encoder) {
	e.varint(m.RequestID)
	e.namespace(m.Prefix)
	e.params(m.Params)
}

func (m *SubscribeNamespace) dec(d *decoder) {
	m.RequestID = d.varint()
	m.Prefix = d.namespace()
	m.Params = d.versionParams()
}

// SubscribeNamespaceOK accepts a SUBSCRIBE_NAMESPACE.
type SubscribeNamespaceOK struct {
	RequestID uint64
}

func (*SubscribeNamespaceOK) Type() MessageType { return TypeSubscribeNamespaceOK }
func (m *SubscribeNamespaceOK) AppendPayload(b []byte, v Version) ([]byte, error) {
	return appendFields(v, m, b, (*requestOnly)(m))
}
func (m *SubscribeNamespaceOK) DecodePayload(p []byte, v Version) error {
	*m = SubscribeNamespaceOK{}
	return decodeFields(v, m, p, (*requestOnly)(m))
}

// SubscribeNamespaceError rejects a SUBSCRIBE_NAMESPACE; ErrorCode is one
// of the SubscribeNamespaceErr* codes.
type SubscribeNamespaceError RequestError

func (*SubscribeNamespaceError) Type() MessageType { return TypeSubscribeNamespaceError }
func (m *SubscribeNamespaceError) AppendPayload(b []byte, v Version) ([]byte, error) {
	return appendFields(v, m, b, (*RequestError)(m))
}
func (m *SubscribeNamespaceError) DecodePayload(p []byte, v Version) error {
	*m = SubscribeNamespaceError{}
	return decodeFields(v, m, p, (*RequestError)(m))
}

// UnsubscribeNamespace ends a namespace subscription.
type UnsubscribeNamespace struct {
	Prefix Namespace
}

func (*UnsubscribeNamespace) Type() MessageType { return TypeUnsubscribeNamespace }
func (m *UnsubscribeNamespace) AppendPayload(b []byte, v Version) ([]byte, error) {
	return appendFields(v, m, b, m)
}
func (m *UnsubscribeNamespace) DecodePayload(p []byte, v Version) error {
	*m = UnsubscribeNamespace{}
	return decodeFields(v, m, p, m)
}
func (m *UnsubscribeNamespace) enc(e *encoder) { e.namespace(m.Prefix) }
func (m *UnsubscribeNamespace) dec(d *decoder) { m.Prefix = d.namespace() }
