package testsrc

import "errors"

// Errors returned by the parsers and the publisher.
var (
	// ErrMalformed reports input that is not a well-formed Annex B or Ogg
	// Opus stream.
	ErrMalformed = errors.New("testsrc: malformed media")
	// ErrTooLarge reports input beyond the parsers' bounds.
	ErrTooLarge = errors.New("testsrc: media too large")
	// ErrConfig reports an unusable publisher configuration.
	ErrConfig = errors.New("testsrc: bad configuration")
	// ErrWHIPUnauthorized reports a WHIP endpoint refusing the token.
	ErrWHIPUnauthorized = errors.New("testsrc: whip: unauthorized")
	// ErrWHIPRejected reports a WHIP endpoint refusing the offer for good.
	ErrWHIPRejected = errors.New("testsrc: whip: offer rejected")
	// ErrWHIPUnavailable reports an unreachable or busy WHIP endpoint, or
	// a peer connection that failed.
	ErrWHIPUnavailable = errors.New("testsrc: whip: unavailable")
)
