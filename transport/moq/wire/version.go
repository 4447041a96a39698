package wire

import "fmt"

// Version is an MOQT version number as carried in CLIENT_SETUP and
// SERVER_SETUP. Drafts are 0xff000000 plus the draft number.
type Version uint64

// Versions this package knows about. Only Draft14 has a codec today;
// Draft16 is named so negotiation code can refer to it.
const (
	Draft14 Version = 0xff00000e
	Draft16 Version = 0xff000010
)

// ALPN identifiers. Drafts before 15 share "moq-00" and negotiate the
// version in the setup messages; from draft 15 the ALPN names the draft.
const (
	ALPNDraft14 = "moq-00"
	ALPNDraft16 = "moqt-16"
)

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

// Codec frames and parses control messages for one version. It is
// immutable and safe for concurrent use.
type Codec struct {
	version Version
	table   map[MessageType]func() Message
}

var draft14Codec = &Codec{version: Draft14, table: draft14Table()}

// CodecFor returns the codec for v, or ErrUnsupportedVersion.
func CodecFor(v Version) (*Codec, error) {
	if v == Draft14 {
		return draft14Codec, nil
	}
	return nil, fmt.Errorf("%v: %w", v, ErrUnsupportedVersion)
}

// SupportedVersions lists versions with a codec, most preferred first.
func SupportedVersions() []Version { return []Version{Draft14} }

// Version reports the version this codec speaks.
func (c *Codec) Version() Version { return c.version }

// New returns an empty message for type t, or false if this version has
// no such message.
func (c *Codec) New(t MessageType) (Message, bool) {
	f, ok := c.table[t]
	if !ok {
		return nil, false
	}
	return f(), true
}

func draft14Table() map[MessageType]func() Message {
	return map[MessageType]func() Message{
		TypeClientSetup:             func() Message { return new(ClientSetup) },
		TypeServerSetup:             func() Message { return new(ServerSetup) },
		TypeGoAway:                  func() Message { return new(GoAway) },
		TypeMaxRequestID:            func() Message { return new(MaxRequestID) },
		TypeRequestsBlocked:         func() Message { return new(RequestsBlocked) },
		TypeSubscribe:               func() Message { return new(Subscribe) },
		TypeSubscribeOK:             func() Message { return new(SubscribeOK) },
		TypeSubscribeError:          func() Message { return new(SubscribeError) },
		TypeSubscribeUpdate:         func() Message { return new(SubscribeUpdate) },
		TypeUnsubscribe:             func() Message { return new(Unsubscribe) },
		TypePublishDone:             func() Message { return new(PublishDone) },
		TypePublish:                 func() Message { return new(Publish) },
		TypePublishOK:               func() Message { return new(PublishOK) },
		TypePublishError:            func() Message { return new(PublishError) },
		TypeFetch:                   func() Message { return new(Fetch) },
		TypeFetchOK:                 func() Message { return new(FetchOK) },
		TypeFetchError:              func() Message { return new(FetchError) },
		TypeFetchCancel:             func() Message { return new(FetchCancel) },
		TypeTrackStatus:             func() Message { return new(TrackStatus) },
		TypeTrackStatusOK:           func() Message { return new(TrackStatusOK) },
		TypeTrackStatusError:        func() Message { return new(TrackStatusError) },
		TypePublishNamespace:        func() Message { return new(PublishNamespace) },
		TypePublishNamespaceOK:      func() Message { return new(PublishNamespaceOK) },
		TypePublishNamespaceError:   func() Message { return new(PublishNamespaceError) },
		TypePublishNamespaceDone:    func() Message { return new(PublishNamespaceDone) },
		TypePublishNamespaceCancel:  func() Message { return new(PublishNamespaceCancel) },
		TypeSubscribeNamespace:      func() Message { return new(SubscribeNamespace) },
		TypeSubscribeNamespaceOK:    func() Message { return new(SubscribeNamespaceOK) },
		TypeSubscribeNamespaceError: func() Message { return new(SubscribeNamespaceError) },
		TypeUnsubscribeNamespace:    func() Message { return new(UnsubscribeNamespace) },
	}
}
