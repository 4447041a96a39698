package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
)

// Code is a stable, machine-readable error code. Clients may switch on
// one; a code is never changed once published.
type Code string

// Error codes.
const (
	CodeBadRequest       Code = "bad_request"
	CodeInvalidJSON      Code = "invalid_json"
	CodeDuplicateKey     Code = "duplicate_key" // a JSON object of the body names a key twice
	CodeInvalidArgument  Code = "invalid_argument"
	CodeInvalidID        Code = "invalid_id"
	CodeUnauthorized     Code = "unauthorized"
	CodeForbidden        Code = "forbidden"
	CodeNotFound         Code = "not_found"
	CodeMethodNotAllowed Code = "method_not_allowed"
	CodeConflict         Code = "conflict"
	CodeAlreadyExists    Code = "already_exists"
	CodeInvalidState     Code = "invalid_state_transition"
	CodeTooLarge         Code = "request_too_large"
	CodeURITooLong       Code = "uri_too_long" // path and query over MaxURIBytes
	CodeUnsupportedType  Code = "unsupported_media_type"
	CodeQuotaExceeded    Code = "quota_exceeded"
	CodeRateLimited      Code = "rate_limited"
	CodeNoLeader         Code = "no_leader"
	CodeUnknownOutcome   Code = "unknown_outcome"
	CodeNoCapacity       Code = "no_capacity"
	CodeTimeout          Code = "timeout"
	CodeInternal         Code = "internal"
	// CodePublisherLive is an edge's answer (WHIP 409) to a publisher of
	// a session that already has a live one with a token at least as new.
	CodePublisherLive Code = "publisher_live"
	// CodeTokenExpired is an edge's answer (401) to a viewer or publisher
	// token whose expiry has passed: the client should get a new one, not
	// report a bad token.
	CodeTokenExpired Code = "token_expired"
	// CodeHTTP is what the client reports for an error answer that
	// carries no API error body (a proxy's page, say).
	CodeHTTP Code = "http_error"
)

// Codes lists every code an origin answers with.
var Codes = []Code{
	CodeBadRequest, CodeInvalidJSON, CodeDuplicateKey, CodeInvalidArgument, CodeInvalidID, CodeUnauthorized,
	CodeForbidden, CodeNotFound, CodeMethodNotAllowed, CodeConflict, CodeAlreadyExists,
	CodeInvalidState, CodeTooLarge, CodeURITooLong, CodeUnsupportedType, CodeQuotaExceeded, CodeRateLimited,
	CodeNoLeader, CodeUnknownOutcome, CodeNoCapacity, CodeTimeout, CodeInternal,
}

// Error is an API error: an HTTP status with a stable code. On the wire it
// is the body {"error":{"code":"...","message":"..."}} (see ErrorResponse)
// plus a Retry-After header when RetryAfter is set.
type Error struct {
	Status  int    `json:"-"`
	Code    Code   `json:"code"`
	Message string `json:"message"`
	// RetryAfter, in seconds, is how long to wait before retrying; 0
	// when the answer gave none.
	RetryAfter int `json:"-"`
}

func (e *Error) Error() string {
	return fmt.Sprintf("%d %s: %s", e.Status, e.Code, e.Message)
}

// ErrorResponse is the JSON body of every error answer.
type ErrorResponse struct {
	Error Error `json:"error"`
}

// Errorf returns an API error with a formatted message.
func Errorf(status int, code Code, format string, args ...any) *Error {
	return &Error{Status: status, Code: code, Message: fmt.Sprintf(format, args...)}
}

// Write sends e as an error answer on a net/http server (the edges'
// media listener): the JSON body, its status and any Retry-After.
func (e *Error) Write(w http.ResponseWriter) {
	if e.RetryAfter > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(e.RetryAfter))
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(e.Status)
	_ = json.NewEncoder(w).Encode(ErrorResponse{Error: *e})
}

// ErrUnreachable means no origin answered.
var ErrUnreachable = errors.New("no origin reachable")

// IsCode reports whether err is an API error with the given code.
func IsCode(err error, code Code) bool {
	var e *Error
	return errors.As(err, &e) && e.Code == code
}

// StatusOf returns the HTTP status of an API error, or 0 when err is not
// one.
func StatusOf(err error) int {
	var e *Error
	if errors.As(err, &e) {
		return e.Status
	}
	return 0
}

// Retryable reports whether err is worth retrying: unreachable origins, no
// leader, timeouts.
func Retryable(err error) bool {
	var e *Error
	if errors.As(err, &e) {
		return e.Status == http.StatusServiceUnavailable || e.Status == http.StatusGatewayTimeout || e.Code == CodeNoLeader
	}
	return errors.Is(err, ErrUnreachable)
}

// ErrorFrom reads an answer's status and body as an API error: nil for a
// status below 400, *Error otherwise (code http_error when the body is no
// API error). Tests that send raw requests use it.
func ErrorFrom(status int, body []byte) error {
	if status < 400 {
		return nil
	}
	var r ErrorResponse
	if err := json.Unmarshal(body, &r); err != nil || r.Error.Code == "" {
		r.Error = Error{Code: CodeHTTP, Message: string(bytes.TrimSpace(body))}
	}
	r.Error.Status = status
	return &r.Error
}
