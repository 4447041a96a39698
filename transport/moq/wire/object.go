package wire

import (
	"fmt"
	"io"
)

// ObjectStatus says whether an object carries a payload or marks a gap
// or an end.
type ObjectStatus uint64

// Object statuses (draft 14). 0x2 is not defined and is rejected.
const (
	StatusNormal       ObjectStatus = 0x0
	StatusDoesNotExist ObjectStatus = 0x1
	StatusEndOfGroup   ObjectStatus = 0x3
	StatusEndOfTrack   ObjectStatus = 0x4
)

func (s ObjectStatus) valid() bool {
	switch s {
	case StatusNormal, StatusDoesNotExist, StatusEndOfGroup, StatusEndOfTrack:
		return true
	}
	return false
}

// Object is one object as read from or written to a data stream or
// datagram. Stream readers fill GroupID, SubgroupID and PublisherPriority
// from the stream header where the object fields omit them.
type Object struct {
	GroupID           uint64
	SubgroupID        uint64
	ID                uint64
	PublisherPriority uint8
	Status            ObjectStatus
	Extensions        Extensions
	Payload           []byte
}

// Limits bounds what a stream reader accepts beyond the spec's own
// limits. The spec leaves payload size unbounded; a relay must not.
type Limits struct {
	MaxPayload    uint64 // 0 means DefaultMaxPayload
	MaxExtensions uint64 // 0 means DefaultMaxExtensions
}

// Default reader limits: large enough for a 4K keyframe, small enough that
// one stream cannot pin unbounded memory.
const (
	DefaultMaxPayload    = 16 << 20
	DefaultMaxExtensions = 1 << 16
)

func (l Limits) payload() uint64 {
	if l.MaxPayload == 0 {
		return DefaultMaxPayload
	}
	return l.MaxPayload
}

func (l Limits) extensions() uint64 {
	if l.MaxExtensions == 0 {
		return DefaultMaxExtensions
	}
	return l.MaxExtensions
}

// StreamReader is what data stream readers consume: quic-go and
// webtransport-go streams wrapped in bufio.Reader, or bytes.Reader in tests.
type StreamReader interface {
	io.Reader
	io.ByteReader
}

// checkObject enforces the status rules shared by every object encoding:
// non-normal objects carry no payload, and "does not exist" objects carry
// no extensions.
func checkObject(status ObjectStatus, ext Extensions, payloadLen int) error {
	if !status.valid() {
		return fmt.Errorf("object status 0x%x: %w", uint64(status), ErrMalformed)
	}
	if status != StatusNormal && payloadLen != 0 {
		return fmt.Errorf("object status 0x%x with payload: %w", uint64(status), ErrMalformed)
	}
	if status == StatusDoesNotExist && len(ext) != 0 {
		return fmt.Errorf("non-existent object with extensions: %w", ErrMalformed)
	}
	return nil
}

// appendObjectTail writes the fields common to subgroup and fetch
// objects after the IDs: optional extensions, payload length, status when
// the payload is empty. The payload itself is not written so callers can
// hand it to the transport without a copy.
func appendObjectTail(e *encoder, withExt bool, o *Object) {
	if err := checkObjectFormat(e.f, o.Status, o.Extensions, len(o.Payload)); err != nil {
		e.fail(fmt.Errorf("%w: %v", ErrInvalidObject, err))
		return
	}
	if withExt {
		e.extBlockFor(o.Extensions)
	} else if len(o.Extensions) != 0 {
		e.fail(fmt.Errorf("%w: extensions on a stream type without them", ErrInvalidObject))
		return
	}
	e.varint(uint64(len(o.Payload)))
	if len(o.Payload) == 0 {
		e.varint(uint64(o.Status))
	}
}

// readObjectTail reads what appendObjectTail writes, plus the payload.
func readObjectTail(r StreamReader, f dialect, withExt bool, lim Limits, o *Object) error {
	if withExt {
		n, err := f.read(r)
		if err != nil {
			return eofIsTruncated(err)
		}
		if n > lim.extensions() {
			return fmt.Errorf("extension headers length %d: %w", n, ErrTooLong)
		}
		block, err := readBounded(r, n)
		if err != nil {
			return err
		}
		if o.Extensions, err = parseExtensionsFormat(block, f); err != nil {
			return err
		}
	}
	n, err := f.read(r)
	if err != nil {
		return eofIsTruncated(err)
	}
	if n == 0 {
		s, err := f.read(r)
		if err != nil {
			return eofIsTruncated(err)
		}
		o.Status = ObjectStatus(s)
		return checkObjectFormat(f, o.Status, o.Extensions, 0)
	}
	if n > lim.payload() {
		return fmt.Errorf("object payload length %d: %w", n, ErrTooLong)
	}
	o.Payload, err = readBounded(r, n)
	return err
}

// checkObjectFormat adds the rule of draft 16 on to checkObject: status
// 0x1 (does not exist) was removed, and only normal objects carry
// properties.
func checkObjectFormat(f dialect, status ObjectStatus, ext Extensions, payloadLen int) error {
	if f.newData() && (status == StatusDoesNotExist || (status != StatusNormal && len(ext) != 0)) {
		return fmt.Errorf("object status 0x%x: %w", uint64(status), ErrMalformed)
	}
	return checkObject(status, ext, payloadLen)
}
