package wire

import "errors"

// ErrorCode is an MOQT session termination error code. A decoding error
// carries the code the session must close with, so the session layer does
// not need to re-derive protocol semantics from error strings.
type ErrorCode uint64

// Session termination error codes (draft-14, session termination).
const (
	CodeNoError                 ErrorCode = 0x0
	CodeInternalError           ErrorCode = 0x1
	CodeUnauthorized            ErrorCode = 0x2
	CodeProtocolViolation       ErrorCode = 0x3
	CodeInvalidRequestID        ErrorCode = 0x4
	CodeDuplicateTrackAlias     ErrorCode = 0x5
	CodeKeyValueFormattingError ErrorCode = 0x6
	CodeTooManyRequests         ErrorCode = 0x7
	CodeInvalidPath             ErrorCode = 0x8
	CodeMalformedPath           ErrorCode = 0x9
	CodeGoawayTimeout           ErrorCode = 0x10
	CodeControlMessageTimeout   ErrorCode = 0x11
	CodeDataStreamTimeout       ErrorCode = 0x12
	CodeAuthTokenCacheOverflow  ErrorCode = 0x13
	CodeDuplicateAuthTokenAlias ErrorCode = 0x14
	CodeVersionNegotiationFail  ErrorCode = 0x15
	CodeMalformedAuthToken      ErrorCode = 0x16
	CodeUnknownAuthTokenAlias   ErrorCode = 0x17
	CodeExpiredAuthToken        ErrorCode = 0x18
	CodeInvalidAuthority        ErrorCode = 0x19
	CodeMalformedAuthority      ErrorCode = 0x1A
)

// Error is a codec failure tagged with the session error code it implies.
// The package's sentinels are *Error values, so errors.Is matches them
// through any %w wrapping and [CodeOf] recovers the code.
type Error struct {
	Code ErrorCode
	msg  string
}

func (e *Error) Error() string { return e.msg }

func newError(code ErrorCode, msg string) *Error { return &Error{Code: code, msg: msg} }

// Sentinel errors. Each maps to the session termination code the spec
// requires for the condition.
var (
	// ErrTruncated: the input ended inside a field, or a message payload is
	// shorter than its fields.
	ErrTruncated = newError(CodeProtocolViolation, "moq/wire: truncated")
	// ErrTrailingBytes: a message payload is longer than its fields; the
	// spec requires the length to match the payload exactly.
	ErrTrailingBytes = newError(CodeProtocolViolation, "moq/wire: trailing bytes after message")
	// ErrTooLong: a length exceeds a limit (message, reason phrase, track
	// name, key-value value, GOAWAY URI, caller-set payload bound).
	ErrTooLong = newError(CodeProtocolViolation, "moq/wire: length exceeds limit")
	// ErrMalformed: a field holds a value the spec forbids (filter type,
	// forward flag, group order, namespace tuple size, object status...).
	ErrMalformed = newError(CodeProtocolViolation, "moq/wire: malformed field")
	// ErrUnknownMessage: a control message type this codec does not know.
	ErrUnknownMessage = newError(CodeProtocolViolation, "moq/wire: unknown message type")
	// ErrUnknownStreamType: a data stream or datagram type this codec does
	// not know.
	ErrUnknownStreamType = newError(CodeProtocolViolation, "moq/wire: unknown stream or datagram type")
	// ErrDuplicateParameter: a non-repeatable known parameter appeared twice.
	ErrDuplicateParameter = newError(CodeProtocolViolation, "moq/wire: duplicate parameter")
	// ErrKeyValueFormat: a key-value pair, or a structure carried in one
	// (such as an authorization token), does not parse.
	ErrKeyValueFormat = newError(CodeKeyValueFormattingError, "moq/wire: key-value formatting error")
	// ErrVarintRange: a value to encode does not fit in 62 bits.
	ErrVarintRange = newError(CodeInternalError, "moq/wire: value exceeds 2^62-1")
	// ErrUnsupportedVersion: no codec exists for the version.
	ErrUnsupportedVersion = newError(CodeVersionNegotiationFail, "moq/wire: unsupported version")
	// ErrInvalidObject: an object to encode is inconsistent with its stream
	// (status with payload, extensions on a stream without them, object IDs
	// not increasing).
	ErrInvalidObject = newError(CodeInternalError, "moq/wire: invalid object for encoding")
)

// CodeOf returns the session termination code for err: the code of the
// package error it wraps, CodeNoError for nil, and CodeInternalError for
// anything else (an I/O failure is not the peer's protocol error).
func CodeOf(err error) ErrorCode {
	if err == nil {
		return CodeNoError
	}
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return CodeInternalError
}
