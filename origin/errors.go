package origin

import (
	"errors"
	"net/http"

	"github.com/strata-edge/strata/api"
	"github.com/strata-edge/strata/internal/auth"
	"github.com/strata-edge/strata/registry"
)

// API errors are *api.Error: a status and a stable code (api.Code...),
// answered as {"error":{"code":"...","message":"..."}}.

func badRequest(format string, args ...any) *api.Error {
	return api.Errorf(http.StatusBadRequest, api.CodeInvalidArgument, format, args...)
}

func notFound(kind, id string) *api.Error {
	return api.Errorf(http.StatusNotFound, api.CodeNotFound, "%s %q not found", kind, id)
}

// unavailable is a 503 the caller may retry after retryAfter seconds.
func unavailable(code api.Code, retryAfter int, msg string) *api.Error {
	return &api.Error{Status: http.StatusServiceUnavailable, Code: code, Message: msg, RetryAfter: retryAfter}
}

// toAPIError maps registry and other errors to API errors.
func toAPIError(err error) *api.Error {
	var ae *api.Error
	if errors.As(err, &ae) {
		return ae
	}
	msg := err.Error()
	switch {
	case errors.Is(err, registry.ErrNotFound):
		return api.Errorf(http.StatusNotFound, api.CodeNotFound, "%s", msg)
	case errors.Is(err, registry.ErrAlreadyExists):
		return api.Errorf(http.StatusConflict, api.CodeAlreadyExists, "%s", msg)
	case errors.Is(err, registry.ErrInvalidTransition):
		return api.Errorf(http.StatusConflict, api.CodeInvalidState, "%s", msg)
	case errors.Is(err, registry.ErrConflict):
		return api.Errorf(http.StatusConflict, api.CodeConflict, "%s", msg)
	case errors.Is(err, registry.ErrQuotaExceeded):
		return api.Errorf(http.StatusForbidden, api.CodeQuotaExceeded, "%s", msg)
	case errors.Is(err, registry.ErrInvalid):
		return api.Errorf(http.StatusBadRequest, api.CodeInvalidArgument, "%s", msg)
	case errors.Is(err, registry.ErrNoCapacity), errors.Is(err, registry.ErrStaleDecision):
		return unavailable(api.CodeNoCapacity, 5, msg)
	case errors.Is(err, registry.ErrLeadershipLost):
		return unavailable(api.CodeUnknownOutcome, 1, msg)
	case errors.Is(err, registry.ErrNotLeader), errors.Is(err, registry.ErrNoLeader), errors.Is(err, registry.ErrShutdown):
		return unavailable(api.CodeNoLeader, 1, msg)
	case errors.Is(err, registry.ErrTimeout):
		return &api.Error{Status: http.StatusGatewayTimeout, Code: api.CodeTimeout, Message: msg, RetryAfter: 1}
	case errors.Is(err, auth.ErrMalformedToken), errors.Is(err, registry.ErrTokenUnusable):
		return api.Errorf(http.StatusUnauthorized, api.CodeUnauthorized, "%s", msg)
	}
	return api.Errorf(http.StatusInternalServerError, api.CodeInternal, "%s", msg)
}
