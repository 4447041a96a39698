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
)
