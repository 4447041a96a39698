package origin

import (
	"errors"
	"fmt"
	"net/http"

	"github.com/strata-edge/strata/internal/auth"
	"github.com/strata-edge/strata/registry"
)

// apiError is an error with a stable code and an HTTP status. Its JSON form
// is {"error":{"code":"...","message":"..."}}.
type apiError struct {
	Status  int
	Code    string
	Message string
	// RetryAfter, in seconds, is sent as Retry-After when set.
	RetryAfter int
}

func (e *apiError) Error() string { return e.Code + ": " + e.Message }

// Stable error codes. Clients may switch on them; never change one.
const (
	codeBadRequest       = "bad_request"
	codeInvalidJSON      = "invalid_json"
	codeInvalidArgument  = "invalid_argument"
	codeInvalidID        = "invalid_id"
	codeUnauthorized     = "unauthorized"
	codeForbidden        = "forbidden"
	codeNotFound         = "not_found"
	codeMethodNotAllowed = "method_not_allowed"
	codeConflict         = "conflict"
	codeAlreadyExists    = "already_exists"
	codeInvalidState     = "invalid_state_transition"
	codeTooLarge         = "request_too_large"
	codeUnsupportedType  = "unsupported_media_type"
	codeQuotaExceeded    = "quota_exceeded"
	codeRateLimited      = "rate_limited"
	codeNoLeader         = "no_leader"
	codeUnknownOutcome   = "unknown_outcome"
	codeNoCapacity       = "no_capacity"
	codeTimeout          = "timeout"
	codeInternal         = "internal"
)

func errf(status int, code, format string, args ...any) *apiError {
	return &apiError{Status: status, Code: code, Message: fmt.Sprintf(format, args...)}
}

func badRequest(format string, args ...any) *apiError {
	return errf(http.StatusBadRequest, codeInvalidArgument, format, args...)
}

func notFound(kind, id string) *apiError {
	return errf(http.StatusNotFound, codeNotFound, "%s %q not found", kind, id)
}

// toAPIError maps registry and other errors to API errors.
func toAPIError(err error) *apiError {
	var ae *apiError
	if errors.As(err, &ae) {
		return ae
	}
	msg := err.Error()
	switch {
	case errors.Is(err, registry.ErrNotFound):
		return errf(http.StatusNotFound, codeNotFound, "%s", msg)
	case errors.Is(err, registry.ErrAlreadyExists):
		return errf(http.StatusConflict, codeAlreadyExists, "%s", msg)
	case errors.Is(err, registry.ErrInvalidTransition):
		return errf(http.StatusConflict, codeInvalidState, "%s", msg)
	case errors.Is(err, registry.ErrConflict):
		return errf(http.StatusConflict, codeConflict, "%s", msg)
	case errors.Is(err, registry.ErrQuotaExceeded):
		return errf(http.StatusForbidden, codeQuotaExceeded, "%s", msg)
	case errors.Is(err, registry.ErrInvalid):
		return errf(http.StatusBadRequest, codeInvalidArgument, "%s", msg)
	case errors.Is(err, registry.ErrNoCapacity), errors.Is(err, registry.ErrStaleDecision):
		return &apiError{Status: http.StatusServiceUnavailable, Code: codeNoCapacity, Message: msg, RetryAfter: 5}
	case errors.Is(err, registry.ErrLeadershipLost):
		return &apiError{Status: http.StatusServiceUnavailable, Code: codeUnknownOutcome, Message: msg, RetryAfter: 1}
	case errors.Is(err, registry.ErrNotLeader), errors.Is(err, registry.ErrNoLeader), errors.Is(err, registry.ErrShutdown):
		return &apiError{Status: http.StatusServiceUnavailable, Code: codeNoLeader, Message: msg, RetryAfter: 1}
	case errors.Is(err, registry.ErrTimeout):
		return &apiError{Status: http.StatusGatewayTimeout, Code: codeTimeout, Message: msg, RetryAfter: 1}
	case errors.Is(err, auth.ErrMalformedToken):
		return errf(http.StatusUnauthorized, codeUnauthorized, "%s", msg)
	}
	return errf(http.StatusInternalServerError, codeInternal, "%s", msg)
}
