package wire

import "fmt"

// FetchHeader opens the stream that answers a FETCH.
type FetchHeader struct {
	RequestID uint64
}

// Append writes the header, type included.
func (h *FetchHeader) Append(b []byte) ([]byte, error) {
	e := encoder{b: b}
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
}

// NewFetchReader reads objects from r, positioned after h.
func NewFetchReader(r StreamReader, h FetchHeader, lim Limits) *FetchReader {
	return &FetchReader{Header: h, r: r, lim: lim}
}

// ReadObject returns the next object; io.EOF at a clean end.
func (f *FetchReader) ReadObject() (Object, error) {
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
	if err := readObjectTail(f.r, true, f.lim, &o); err != nil {
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
func ReadStreamHeader(r StreamReader) (StreamHeader, error) {
	t, err := ReadVarint(r)
	if err != nil {
		return StreamHeader{}, eofIsTruncated(err)
	}
	if t == StreamTypeFetchHeader {
		id, err := ReadVarint(r)
		if err != nil {
			return StreamHeader{}, eofIsTruncated(err)
		}
		return StreamHeader{Fetch: &FetchHeader{RequestID: id}}, nil
	}
	if !IsSubgroupStreamType(t) {
		return StreamHeader{}, fmt.Errorf("stream type 0x%x: %w", t, ErrUnknownStreamType)
	}
	h, err := readSubgroupHeader(r, t)
	if err != nil {
		return StreamHeader{}, err
	}
	return StreamHeader{Subgroup: &h}, nil
}
