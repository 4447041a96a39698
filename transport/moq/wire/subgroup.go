package wire

import "fmt"

// SubgroupIDMode says where a subgroup stream's Subgroup ID comes from;
// the header type encodes it so common cases cost no bytes.
type SubgroupIDMode uint8

// Subgroup ID modes.
const (
	SubgroupIDZero        SubgroupIDMode = iota // implicitly 0
	SubgroupIDFirstObject                       // the first object's ID
	SubgroupIDExplicit                          // carried in the header
)

// Data stream type codes (draft 14).
const (
	StreamTypeFetchHeader  uint64 = 0x05
	streamTypeSubgroupBase uint64 = 0x10
	streamTypeSubgroupMax  uint64 = 0x1D

	subgroupBitExtensions = 0x01
	subgroupBitsIDMode    = 0x06
	subgroupBitEndOfGroup = 0x08
)

// SubgroupHeader opens a subgroup stream. Its stream type is derived from
// IDMode, Extensions and EndOfGroup, giving the twelve draft-14 types.
type SubgroupHeader struct {
	TrackAlias        uint64
	GroupID           uint64
	SubgroupID        uint64 // explicit mode only; otherwise derived
	PublisherPriority uint8
	IDMode            SubgroupIDMode
	Extensions        bool // objects carry an Extension Headers Length
	EndOfGroup        bool // the last object before FIN ends the group
	// Draft 18 only: the header omits the priority (the subscription's
	// default applies), and the first object is the subgroup's first.
	DefaultPriority bool
	FirstObject     bool
}

// StreamType returns the SUBGROUP_HEADER type code for h.
func (h *SubgroupHeader) StreamType() (uint64, error) {
	t := streamTypeSubgroupBase
	switch h.IDMode {
	case SubgroupIDZero:
	case SubgroupIDFirstObject:
		t |= 0x02
	case SubgroupIDExplicit:
		t |= 0x04
	default:
		return 0, fmt.Errorf("subgroup id mode %d: %w", h.IDMode, ErrMalformed)
	}
	if h.Extensions {
		t |= subgroupBitExtensions
	}
	if h.EndOfGroup {
		t |= subgroupBitEndOfGroup
	}
	return t, nil
}

// IsSubgroupStreamType reports whether t is one of the twelve defined
// SUBGROUP_HEADER types (0x16, 0x17, 0x1E, 0x1F are not).
func IsSubgroupStreamType(t uint64) bool {
	return t >= streamTypeSubgroupBase && t <= streamTypeSubgroupMax && t&subgroupBitsIDMode != subgroupBitsIDMode
}

func subgroupHeaderFromType(t uint64) (SubgroupHeader, error) {
	if !IsSubgroupStreamType(t) {
		return SubgroupHeader{}, fmt.Errorf("stream type 0x%x: %w", t, ErrUnknownStreamType)
	}
	return SubgroupHeader{
		IDMode:     SubgroupIDMode((t & subgroupBitsIDMode) >> 1),
		Extensions: t&subgroupBitExtensions != 0,
		EndOfGroup: t&subgroupBitEndOfGroup != 0,
	}, nil
}

// Append writes the draft-14 header, type included.
func (h *SubgroupHeader) Append(b []byte) ([]byte, error) {
	return draft14Codec.AppendSubgroupHeader(b, h)
}

// AppendSubgroupHeader writes h in c's version, type included.
func (c *Codec) AppendSubgroupHeader(b []byte, h *SubgroupHeader) ([]byte, error) {
	t, err := h.StreamType()
	if err != nil {
		return b, err
	}
	if c.f.newData() && (c.f == dialect18 || !h.FirstObject) {
		t |= h.bitsNew()
	} else if h.DefaultPriority || h.FirstObject {
		return b, fmt.Errorf("%v subgroup header: %w", c.version, ErrMalformed)
	}
	e := encoder{b: b, f: c.f}
	e.varint(t)
	e.varint(h.TrackAlias)
	e.varint(h.GroupID)
	if h.IDMode == SubgroupIDExplicit {
		e.varint(h.SubgroupID)
	}
	if !h.DefaultPriority {
		e.u8(h.PublisherPriority)
	}
	if e.err != nil {
		return b, e.err
	}
	return e.b, nil
}

// readSubgroupHeader reads the fields after the stream type.
func readSubgroupHeader(r StreamReader, f dialect, t uint64) (SubgroupHeader, error) {
	var h SubgroupHeader
	var err error
	if f.newData() {
		h, err = subgroupHeaderFromTypeNew(f, t)
	} else {
		h, err = subgroupHeaderFromType(t)
	}
	if err != nil {
		return h, err
	}
	if h.TrackAlias, err = f.read(r); err != nil {
		return h, eofIsTruncated(err)
	}
	if h.GroupID, err = f.read(r); err != nil {
		return h, eofIsTruncated(err)
	}
	if h.IDMode == SubgroupIDExplicit {
		if h.SubgroupID, err = f.read(r); err != nil {
			return h, eofIsTruncated(err)
		}
	}
	if h.DefaultPriority {
		h.PublisherPriority = DefaultPublisherPriority
		return h, nil
	}
	p, err := r.ReadByte()
	if err != nil {
		return h, eofIsTruncated(err)
	}
	h.PublisherPriority = p
	return h, nil
}

// SubgroupWriter encodes the objects of one subgroup stream, tracking the
// previous Object ID for delta coding.
type SubgroupWriter struct {
	Header  SubgroupHeader
	c       *Codec
	prev    uint64
	started bool
}

// NewSubgroupWriter starts a draft-14 subgroup stream with h.
func NewSubgroupWriter(h SubgroupHeader) *SubgroupWriter { return draft14Codec.NewSubgroupWriter(h) }

// NewSubgroupWriter starts a subgroup stream of c's version with h.
func (c *Codec) NewSubgroupWriter(h SubgroupHeader) *SubgroupWriter {
	return &SubgroupWriter{Header: h, c: c}
}

// AppendHeader writes the stream's header in the writer's version.
func (w *SubgroupWriter) AppendHeader(b []byte) ([]byte, error) {
	return w.c.AppendSubgroupHeader(b, &w.Header)
}

// Codec is the version the writer encodes.
func (w *SubgroupWriter) Codec() *Codec { return w.c }

// AppendObjectHeader appends o's fields up to, not including, the payload
// bytes, so the payload can be written to the stream without copying.
// Object IDs must strictly increase within a subgroup; in first-object
// mode the first object fixes the Subgroup ID.
func (w *SubgroupWriter) AppendObjectHeader(b []byte, o *Object) ([]byte, error) {
	var delta uint64
	switch {
	case !w.started:
		delta = o.ID
	case o.ID <= w.prev:
		return b, fmt.Errorf("%w: object id %d after %d", ErrInvalidObject, o.ID, w.prev)
	default:
		delta = o.ID - w.prev - 1
	}
	e := encoder{b: b, f: w.c.f}
	e.varint(delta)
	appendObjectTail(&e, w.Header.Extensions, o)
	if e.err != nil {
		return b, e.err
	}
	if !w.started && w.Header.IDMode == SubgroupIDFirstObject {
		w.Header.SubgroupID = o.ID
	}
	w.prev, w.started = o.ID, true
	return e.b, nil
}

// AppendObject appends o's fields and payload.
func (w *SubgroupWriter) AppendObject(b []byte, o *Object) ([]byte, error) {
	out, err := w.AppendObjectHeader(b, o)
	if err != nil {
		return b, err
	}
	return append(out, o.Payload...), nil
}

// SubgroupReader decodes the objects of one subgroup stream after its
// header.
type SubgroupReader struct {
	Header  SubgroupHeader
	f       dialect
	r       StreamReader
	lim     Limits
	prev    uint64
	started bool
}

// NewSubgroupReader reads draft-14 objects from r, which is positioned
// after h.
func NewSubgroupReader(r StreamReader, h SubgroupHeader, lim Limits) *SubgroupReader {
	return draft14Codec.NewSubgroupReader(r, h, lim)
}

// NewSubgroupReader reads objects of c's version from r, positioned
// after h.
func (c *Codec) NewSubgroupReader(r StreamReader, h SubgroupHeader, lim Limits) *SubgroupReader {
	return &SubgroupReader{Header: h, f: c.f, r: r, lim: lim}
}

// ReadObject returns the next object. io.EOF means the stream ended
// cleanly between objects; an end inside an object is ErrTruncated.
func (s *SubgroupReader) ReadObject() (Object, error) {
	delta, err := s.f.read(s.r)
	if err != nil {
		return Object{}, err
	}
	var id uint64
	if s.started {
		if delta >= s.f.max()-s.prev {
			return Object{}, fmt.Errorf("object id delta %d: %w", delta, ErrMalformed)
		}
		id = s.prev + delta + 1
	} else {
		id = delta
	}
	o := Object{GroupID: s.Header.GroupID, ID: id, PublisherPriority: s.Header.PublisherPriority}
	if err := readObjectTail(s.r, s.f, s.Header.Extensions, s.lim, &o); err != nil {
		return Object{}, err
	}
	if !s.started && s.Header.IDMode == SubgroupIDFirstObject {
		s.Header.SubgroupID = id
	}
	o.SubgroupID = s.Header.SubgroupID
	s.prev, s.started = id, true
	return o, nil
}
