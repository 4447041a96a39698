package wire

// FetchHeader opens the stream that answers a FETCH.
type FetchHeader struct {
	RequestID uint64
}

// Append writes the draft-14 header, type included.
func (h *FetchHeader) Append(b []byte) ([]byte, error) { return draft14Codec.AppendFetchHeader(b, h) }

// AppendFetchHeader writes h in c's version, type included.
func (c *Codec) AppendFetchHeader(b []byte, h *FetchHeader) ([]byte, error) {
	e := encoder{b: b, f: c.f}
	e.varint(StreamTypeFetchHeader)
	e.varint(h.RequestID)
	if e.err != nil {
		return b, e.err
	}
	return e.b, nil
}

// AppendFetchObjectHeader appends a fetch-stream object up to, not
// including, its payload bytes. Fetch objects always carry the extension
// length and full IDs; a datagram-preference object uses its Object ID
// as Subgroup ID.
func AppendFetchObjectHeader(b []byte, o *Object) ([]byte, error) {
	e := encoder{b: b}
	e.varint(o.GroupID)
	e.varint(o.SubgroupID)
	e.varint(o.ID)
	e.u8(o.PublisherPriority)
	appendObjectTail(&e, true, o)
	if e.err != nil {
		return b, e.err
	}
	return e.b, nil
}

// AppendFetchObject appends a fetch-stream object with its payload.
func AppendFetchObject(b []byte, o *Object) ([]byte, error) {
	out, err := AppendFetchObjectHeader(b, o)
	if err != nil {
		return b, err
	}
	return append(out, o.Payload...), nil
}

// FetchReader decodes the objects of a fetch stream after its header.
type FetchReader struct {
	Header FetchHeader
	r      StreamReader
	lim    Limits
	f      dialect
	// Draft 18 codes objects against the previous one; Descending says
	// group deltas count down (the fetch's group order).
	Descending bool
	prior      fetchPrior
}

// NewFetchReader reads draft-14 objects from r, positioned after h.
func NewFetchReader(r StreamReader, h FetchHeader, lim Limits) *FetchReader {
	return draft14Codec.NewFetchReader(r, h, lim)
}

// NewFetchReader reads objects of c's version from r, positioned after h.
func (c *Codec) NewFetchReader(r StreamReader, h FetchHeader, lim Limits) *FetchReader {
	return &FetchReader{Header: h, r: r, lim: lim, f: c.f}
}

// ReadObject returns the next object; io.EOF at a clean end.
func (f *FetchReader) ReadObject() (Object, error) {
	if f.f.newData() {
		return f.readObjectNew()
	}
	var o Object
	var err error
	if o.GroupID, err = ReadVarint(f.r); err != nil {
		return Object{}, err
	}
	if o.SubgroupID, err = ReadVarint(f.r); err != nil {
		return Object{}, eofIsTruncated(err)
	}
	if o.ID, err = ReadVarint(f.r); err != nil {
		return Object{}, eofIsTruncated(err)
	}
	if o.PublisherPriority, err = f.r.ReadByte(); err != nil {
		return Object{}, eofIsTruncated(err)
	}
	if err := readObjectTail(f.r, f.f, true, f.lim, &o); err != nil {
		return Object{}, err
	}
	return o, nil
}

// StreamHeader is the decoded header of a unidirectional data stream:
// exactly one of Subgroup and Fetch is set.
type StreamHeader struct {
	Subgroup *SubgroupHeader
	Fetch    *FetchHeader
}

// ReadStreamHeader reads the stream type and header that begin every
// unidirectional MOQT stream. Unknown types are ErrUnknownStreamType,
// which closes the session.
func ReadStreamHeader(r StreamReader) (StreamHeader, error) { return draft14Codec.ReadStreamHeader(r) }

// ReadStreamHeader reads a stream header of c's version.
func (c *Codec) ReadStreamHeader(r StreamReader) (StreamHeader, error) {
	t, err := c.f.read(r)
	if err != nil {
		return StreamHeader{}, eofIsTruncated(err)
	}
	return c.ReadStreamHeaderAfterType(r, t)
}

// ReadStreamHeaderAfterType reads the header of a stream whose type t
// the caller has already read (draft 18 control streams share the
// unidirectional stream type space).
func (c *Codec) ReadStreamHeaderAfterType(r StreamReader, t uint64) (StreamHeader, error) {
	if t == StreamTypeFetchHeader {
		id, err := c.f.read(r)
		if err != nil {
			return StreamHeader{}, eofIsTruncated(err)
		}
		return StreamHeader{Fetch: &FetchHeader{RequestID: id}}, nil
	}
	h, err := readSubgroupHeader(r, c.f, t)
	if err != nil {
		return StreamHeader{}, err
	}
	return StreamHeader{Subgroup: &h}, nil
}
