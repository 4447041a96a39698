package wire

// Application error codes carried in *_ERROR, PUBLISH_DONE, and
// PUBLISH_NAMESPACE_CANCEL messages and in data stream resets (draft 14).
// They are plain uint64 constants because each message has its own space.
const (
	SubscribeErrInternal           uint64 = 0x0
	SubscribeErrUnauthorized       uint64 = 0x1
	SubscribeErrTimeout            uint64 = 0x2
	SubscribeErrNotSupported       uint64 = 0x3
	SubscribeErrTrackDoesNotExist  uint64 = 0x4
	SubscribeErrInvalidRange       uint64 = 0x5
	SubscribeErrMalformedAuthToken uint64 = 0x10
	SubscribeErrExpiredAuthToken   uint64 = 0x12
)

const (
	PublishDoneInternal          uint64 = 0x0
	PublishDoneUnauthorized      uint64 = 0x1
	PublishDoneTrackEnded        uint64 = 0x2
	PublishDoneSubscriptionEnded uint64 = 0x3
	PublishDoneGoingAway         uint64 = 0x4
	PublishDoneExpired           uint64 = 0x5
	PublishDoneTooFarBehind      uint64 = 0x6
	PublishDoneMalformedTrack    uint64 = 0x7
)

const (
	PublishErrInternal     uint64 = 0x0
	PublishErrUnauthorized uint64 = 0x1
	PublishErrTimeout      uint64 = 0x2
	PublishErrNotSupported uint64 = 0x3
	PublishErrUninterested uint64 = 0x4
)

const (
	FetchErrInternal                uint64 = 0x0
	FetchErrUnauthorized            uint64 = 0x1
	FetchErrTimeout                 uint64 = 0x2
	FetchErrNotSupported            uint64 = 0x3
	FetchErrTrackDoesNotExist       uint64 = 0x4
	FetchErrInvalidRange            uint64 = 0x5
	FetchErrNoObjects               uint64 = 0x6
	FetchErrInvalidJoiningRequestID uint64 = 0x7
	FetchErrUnknownStatusInRange    uint64 = 0x8
	FetchErrMalformedTrack          uint64 = 0x9
	FetchErrMalformedAuthToken      uint64 = 0x10
	FetchErrExpiredAuthToken        uint64 = 0x12
)

// PUBLISH_NAMESPACE_ERROR and PUBLISH_NAMESPACE_CANCEL codes.
const (
	NamespaceErrInternal           uint64 = 0x0
	NamespaceErrUnauthorized       uint64 = 0x1
	NamespaceErrTimeout            uint64 = 0x2
	NamespaceErrNotSupported       uint64 = 0x3
	NamespaceErrUninterested       uint64 = 0x4
	NamespaceErrMalformedAuthToken uint64 = 0x10
	NamespaceErrExpiredAuthToken   uint64 = 0x12
)

const (
	SubscribeNamespaceErrInternal           uint64 = 0x0
	SubscribeNamespaceErrUnauthorized       uint64 = 0x1
	SubscribeNamespaceErrTimeout            uint64 = 0x2
	SubscribeNamespaceErrNotSupported       uint64 = 0x3
	SubscribeNamespaceErrPrefixUnknown      uint64 = 0x4
	SubscribeNamespaceErrPrefixOverlap      uint64 = 0x5
	SubscribeNamespaceErrMalformedAuthToken uint64 = 0x10
	SubscribeNamespaceErrExpiredAuthToken   uint64 = 0x12
)

// Data stream RESET_STREAM / RESET_STREAM_AT codes.
const (
	StreamErrInternal        uint64 = 0x0
	StreamErrCancelled       uint64 = 0x1
	StreamErrDeliveryTimeout uint64 = 0x2
	StreamErrSessionClosed   uint64 = 0x3
)
