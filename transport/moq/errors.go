package moq

import (
	"errors"
	"fmt"

	"github.com/strata-edge/strata/transport/moq/wire"
)

// Sentinel errors for the session layer. Protocol failures from the codec
// are wire.* errors and carry their session error code (see wire.CodeOf).
var (
	// ErrSessionClosed: the session has ended; errors.Is also matches a
	// *SessionError.
	ErrSessionClosed = errors.New("moq: session closed")
	// ErrSubscribeRejected: the peer answered SUBSCRIBE with SUBSCRIBE_ERROR.
	ErrSubscribeRejected = errors.New("moq: subscribe rejected")
	// ErrSubscriptionDone: the publisher ended the subscription.
	ErrSubscriptionDone = errors.New("moq: subscription done")
	// ErrNamespaceRejected: the peer answered PUBLISH_NAMESPACE with
	// PUBLISH_NAMESPACE_ERROR.
	ErrNamespaceRejected = errors.New("moq: namespace rejected")
	// ErrPublishRejected: the peer answered PUBLISH with PUBLISH_ERROR.
	ErrPublishRejected = errors.New("moq: publish rejected")
	// ErrAlreadyAnswered: Accept or Reject was called twice.
	ErrAlreadyAnswered = errors.New("moq: request already answered")
)

// SessionError records why a session ended: the MOQT termination code and
// reason, and whether the peer (rather than this endpoint) closed it.
type SessionError struct {
	Code   wire.ErrorCode
	Reason string
	Remote bool
	cause  error // the transport error that carried a remote close
}

func (e *SessionError) Error() string {
	who := "local"
	if e.Remote {
		who = "remote"
	}
	return fmt.Sprintf("moq: session closed by %s: code 0x%x: %s", who, uint64(e.Code), e.Reason)
}

// Is makes errors.Is(err, ErrSessionClosed) true for any session end.
func (e *SessionError) Is(target error) bool { return target == ErrSessionClosed }

// Unwrap exposes the transport error a remote close arrived in.
func (e *SessionError) Unwrap() error { return e.cause }

// RequestError is a rejection by the peer: the *_ERROR code and reason.
type RequestError struct {
	Code   uint64
	Reason string
	kind   error
}

func (e *RequestError) Error() string {
	return fmt.Sprintf("%v: code 0x%x: %s", e.kind, e.Code, e.Reason)
}

func (e *RequestError) Unwrap() error { return e.kind }
