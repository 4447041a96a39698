package wire

import "fmt"

// Version is an MOQT version number as carried in CLIENT_SETUP and
// SERVER_SETUP. Drafts are 0xff000000 plus the draft number.
type Version uint64

// Versions this package knows about. Draft14 and Draft18 have codecs;
// Draft16 is named so negotiation code can refer to it.
const (
	Draft14 Version = 0xff00000e
	Draft16 Version = 0xff000010
	Draft18 Version = 0xff000012
)

// ALPN identifiers. Drafts before 15 share "moq-00" and negotiate the
// version in the setup messages; from draft 15 the ALPN (or the
// WebTransport protocol) names the draft and setup carries no version.
const (
	ALPNDraft14 = "moq-00"
	ALPNDraft16 = "moqt-16"
	ALPNDraft18 = "moqt-18"
)

// VersionForALPN maps an ALPN or WebTransport protocol naming one draft
// to its version; ok is false for "moq-00" (negotiated in SETUP) and for
// anything unknown.
func VersionForALPN(proto string) (Version, bool) {
	for _, v := range SupportedVersions() {
		if v.InBandNegotiation() {
			continue
		}
		if v.ALPN() == proto {
			return v, true
		}
	}
	return 0, false
}

// InBandNegotiation reports whether v is chosen by the CLIENT_SETUP
// version list (drafts before 15) rather than by ALPN.
func (v Version) InBandNegotiation() bool { return v < 0xff00000f }

// ALPN returns the TLS application protocol for v.
func (v Version) ALPN() string {
	if v >= 0xff00000f && v <= 0xff0000ff {
		return fmt.Sprintf("moqt-%d", uint64(v-0xff000000))
	}
	return ALPNDraft14
}

func (v Version) String() string {
	if v > 0xff000000 && v <= 0xff0000ff {
		return fmt.Sprintf("draft-%02d", uint64(v-0xff000000))
	}
	return fmt.Sprintf("0x%x", uint64(v))
}

// Setup parameter types. These live in a namespace shared by all versions.
//
// Draft-14 gives both AUTHORITY and MOQT_IMPLEMENTATION the code 0x05 (a
// clash fixed in draft 16, which moves MOQT_IMPLEMENTATION to 0x07); a
// draft-14 receiver cannot tell them apart, so 0x05 is exempt from the
// duplicate check and interpreting it is left to the session.
const (
	SetupParamPath                  uint64 = 0x01
	SetupParamMaxRequestID          uint64 = 0x02
	SetupParamAuthorizationToken    uint64 = 0x03
	SetupParamMaxAuthTokenCacheSize uint64 = 0x04
	SetupParamAuthority             uint64 = 0x05
	SetupParamMOQTImplementation    uint64 = 0x05
)

// Version-specific (non-setup) parameter types for draft 14.
const (
	ParamDeliveryTimeout    uint64 = 0x02
	ParamAuthorizationToken uint64 = 0x03
	ParamMaxCacheDuration   uint64 = 0x04
)

// Parameters that may appear at most once. AUTHORIZATION TOKEN may repeat.
var (
	uniqueSetupParams   = []uint64{SetupParamPath, SetupParamMaxRequestID, SetupParamMaxAuthTokenCacheSize}
	uniqueVersionParams = []uint64{ParamDeliveryTimeout, ParamMaxCacheDuration}
)

// decodeParams reads version-specific parameters and checks any tokens.
func (d *decoder) versionParams() Parameters {
	ps := d.params(uniqueVersionParams)
	if d.err == nil {
		if err := checkTokens(ps); err != nil {
			d.fail(err)
		}
	}
	return ps
}

// MessageType is a control message type code.
type MessageType uint64

// Control message types (draft 14).
const (
	TypeSubscribeUpdate         MessageType = 0x02
	TypeSubscribe               MessageType = 0x03
	TypeSubscribeOK             MessageType = 0x04
	TypeSubscribeError          MessageType = 0x05
	TypePublishNamespace        MessageType = 0x06
	TypePublishNamespaceOK      MessageType = 0x07
	TypePublishNamespaceError   MessageType = 0x08
	TypePublishNamespaceDone    MessageType = 0x09
	TypeUnsubscribe             MessageType = 0x0A
	TypePublishDone             MessageType = 0x0B
	TypePublishNamespaceCancel  MessageType = 0x0C
	TypeTrackStatus             MessageType = 0x0D
	TypeTrackStatusOK           MessageType = 0x0E
	TypeTrackStatusError        MessageType = 0x0F
	TypeGoAway                  MessageType = 0x10
	TypeSubscribeNamespace      MessageType = 0x11
	TypeSubscribeNamespaceOK    MessageType = 0x12
	TypeSubscribeNamespaceError MessageType = 0x13
	TypeUnsubscribeNamespace    MessageType = 0x14
	TypeMaxRequestID            MessageType = 0x15
	TypeFetch                   MessageType = 0x16
	TypeFetchCancel             MessageType = 0x17
	TypeFetchOK                 MessageType = 0x18
	TypeFetchError              MessageType = 0x19
	TypeRequestsBlocked         MessageType = 0x1A
	TypePublish                 MessageType = 0x1D
	TypePublishOK               MessageType = 0x1E
	TypePublishError            MessageType = 0x1F
	TypeClientSetup             MessageType = 0x20
	TypeServerSetup             MessageType = 0x21
)

// Message is a control message. Payload methods take the negotiated
// version so a later draft can change a message's layout without a new
// Go type; Type is the draft-14 code, and a codec for another draft maps
// codes through its own table.
type Message interface {
	Type() MessageType
	// AppendPayload appends the message payload (no type, no length).
	AppendPayload(b []byte, v Version) ([]byte, error)
	// DecodePayload decodes exactly p. Byte fields may alias p.
	DecodePayload(p []byte, v Version) error
}

// Codec frames and parses control messages and data streams for one
// version. It is immutable and safe for concurrent use.
type Codec struct {
	version Version
	f       dialect
	// table makes an empty message for a type code on the wire; codes
	// maps a message's Go identity (Message.Type) to its wire code.
	table map[uint64]func() Message
	codes map[MessageType]uint64
}

// layout is one message's payload encoding in a version whose layouts
// differ from the draft-14 ones the message types carry themselves; a nil
// function keeps the draft-14 layout.
type layout struct {
	enc func(e *encoder, m Message)
	dec func(d *decoder, m Message)
}

// lay adapts typed encode and decode functions to a layout entry.
func lay[T Message](enc func(*encoder, T), dec func(*decoder, T)) layout {
	var l layout
	if enc != nil {
		l.enc = func(e *encoder, m Message) { enc(e, m.(T)) }
	}
	if dec != nil {
		l.dec = func(d *decoder, m Message) { dec(d, m.(T)) }
	}
	return l
}

var (
	draft14Codec = newCodec(Draft14, dialect14, draft14Table(), nil)
	draft16Codec = newCodec(Draft16, dialect16, draft16Table(), draft16Replies)
	draft18Codec = newCodec(Draft18, dialect18, draft18Table(), draft18Replies)
)

// newCodec builds a codec from its decode table; replies maps the reply
// types that encode to a shared wire code (REQUEST_OK, REQUEST_ERROR) and
// so have no decode entry of their own.
func newCodec(v Version, f dialect, table map[uint64]func() Message, replies map[MessageType]uint64) *Codec {
	c := &Codec{version: v, f: f, table: table, codes: map[MessageType]uint64{}}
	for code, mk := range table {
		c.codes[mk().Type()] = code
	}
	for t, code := range replies {
		c.codes[t] = code
	}
	return c
}

// CodecFor returns the codec for v, or ErrUnsupportedVersion.
func CodecFor(v Version) (*Codec, error) {
	switch v {
	case Draft14:
		return draft14Codec, nil
	case Draft16:
		return draft16Codec, nil
	case Draft18:
		return draft18Codec, nil
	}
	return nil, fmt.Errorf("%v: %w", v, ErrUnsupportedVersion)
}

// SupportedVersions lists versions with a codec, most preferred first.
func SupportedVersions() []Version { return []Version{Draft18, Draft16, Draft14} }

// formatOf is the integer encoding of v.
func formatOf(v Version) dialect {
	switch {
	case v >= Draft18:
		return dialect18
	case v >= Draft16:
		return dialect16
	}
	return dialect14
}

// layoutOf returns v's layout for message type t: ok is false if v has
// no such message. Draft 14 uses the message types' own layouts.
func layoutOf(v Version, t MessageType) (layout, bool) {
	var ls map[MessageType]layout
	switch v {
	case Draft14:
		return layout{}, true
	case Draft16:
		ls = draft16Layouts
	case Draft18:
		ls = draft18Layouts
	default:
		return layout{}, false
	}
	l, ok := ls[t]
	return l, ok
}

// Version reports the version this codec speaks.
func (c *Codec) Version() Version { return c.version }

// New returns an empty message for wire type code t, or false if this
// version has no such message.
func (c *Codec) New(t MessageType) (Message, bool) {
	f, ok := c.table[uint64(t)]
	if !ok {
		return nil, false
	}
	return f(), true
}

// WireType returns the code m is framed with in this version, or false
// if the version has no such message (its semantics then live in the
// session layer, e.g. UNSUBSCRIBE as a stream reset in draft 18).
func (c *Codec) WireType(t MessageType) (uint64, bool) {
	code, ok := c.codes[t]
	return code, ok
}

// Has reports whether the version has message t, e.g. REQUEST_OK (from
// draft 16) or SETUP (draft 18).
func (c *Codec) Has(t MessageType) bool {
	_, ok := c.codes[t]
	return ok
}

func draft14Table() map[uint64]func() Message {
	return map[uint64]func() Message{
		uint64(TypeClientSetup):             func() Message { return new(ClientSetup) },
		uint64(TypeServerSetup):             func() Message { return new(ServerSetup) },
		uint64(TypeGoAway):                  func() Message { return new(GoAway) },
		uint64(TypeMaxRequestID):            func() Message { return new(MaxRequestID) },
		uint64(TypeRequestsBlocked):         func() Message { return new(RequestsBlocked) },
		uint64(TypeSubscribe):               func() Message { return new(Subscribe) },
		uint64(TypeSubscribeOK):             func() Message { return new(SubscribeOK) },
		uint64(TypeSubscribeError):          func() Message { return new(SubscribeError) },
		uint64(TypeSubscribeUpdate):         func() Message { return new(SubscribeUpdate) },
		uint64(TypeUnsubscribe):             func() Message { return new(Unsubscribe) },
		uint64(TypePublishDone):             func() Message { return new(PublishDone) },
		uint64(TypePublish):                 func() Message { return new(Publish) },
		uint64(TypePublishOK):               func() Message { return new(PublishOK) },
		uint64(TypePublishError):            func() Message { return new(PublishError) },
		uint64(TypeFetch):                   func() Message { return new(Fetch) },
		uint64(TypeFetchOK):                 func() Message { return new(FetchOK) },
		uint64(TypeFetchError):              func() Message { return new(FetchError) },
		uint64(TypeFetchCancel):             func() Message { return new(FetchCancel) },
		uint64(TypeTrackStatus):             func() Message { return new(TrackStatus) },
		uint64(TypeTrackStatusOK):           func() Message { return new(TrackStatusOK) },
		uint64(TypeTrackStatusError):        func() Message { return new(TrackStatusError) },
		uint64(TypePublishNamespace):        func() Message { return new(PublishNamespace) },
		uint64(TypePublishNamespaceOK):      func() Message { return new(PublishNamespaceOK) },
		uint64(TypePublishNamespaceError):   func() Message { return new(PublishNamespaceError) },
		uint64(TypePublishNamespaceDone):    func() Message { return new(PublishNamespaceDone) },
		uint64(TypePublishNamespaceCancel):  func() Message { return new(PublishNamespaceCancel) },
		uint64(TypeSubscribeNamespace):      func() Message { return new(SubscribeNamespace) },
		uint64(TypeSubscribeNamespaceOK):    func() Message { return new(SubscribeNamespaceOK) },
		uint64(TypeSubscribeNamespaceError): func() Message { return new(SubscribeNamespaceError) },
		uint64(TypeUnsubscribeNamespace):    func() Message { return new(UnsubscribeNamespace) },
	}
}
