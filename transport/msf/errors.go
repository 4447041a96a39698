package msf

import (
	"errors"
	"fmt"
)

var (
	// ErrMalformed means the input is not syntactically valid (bad JSON,
	// truncated key-value pairs).
	ErrMalformed = errors.New("msf: malformed")
	// ErrTooLarge means an input or a field exceeds its length bound.
	ErrTooLarge = errors.New("msf: too large")
	// ErrMissingField means a required field is absent.
	ErrMissingField = errors.New("msf: missing required field")
	// ErrInvalidField means a field is present but its value is not allowed.
	ErrInvalidField = errors.New("msf: invalid field value")
	// ErrUnsupportedVersion means the catalog declares a version this
	// parser does not understand, which MSF forbids parsing.
	ErrUnsupportedVersion = errors.New("msf: unsupported catalog version")
	// ErrDuplicateTrack means two tracks share a namespace and name.
	ErrDuplicateTrack = errors.New("msf: duplicate track")
	// ErrUnknownTrack means a delta update refers to a track that does not
	// exist in the catalog it is applied to.
	ErrUnknownTrack = errors.New("msf: unknown track")
	// ErrNotDelta is returned when applying a catalog that is not a delta
	// update, or applying to one that is.
	ErrNotDelta = errors.New("msf: not a delta update")
)

// FieldError names the field a validation error is about, as a JSON path
// such as "tracks[1].codec". It unwraps to one of the sentinels above.
type FieldError struct {
	Field string
	Err   error
	// Detail is optional context, e.g. the offending value.
	Detail string
}

func (e *FieldError) Error() string {
	if e.Detail != "" {
		return fmt.Sprintf("%v: %s: %s", e.Err, e.Field, e.Detail)
	}
	return fmt.Sprintf("%v: %s", e.Err, e.Field)
}

func (e *FieldError) Unwrap() error { return e.Err }

func fieldErr(field string, err error, detail string) error {
	return &FieldError{Field: field, Err: err, Detail: detail}
}
