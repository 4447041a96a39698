package wire

import "fmt"

// Data stream and datagram type bits of drafts 16 and 18 beyond draft 14's
// (FIRST_OBJECT is draft 18's).
const (
	subgroupBitDefaultPriority18 = 0x20
	subgroupBitFirstObject18     = 0x40

	dgBitDefaultPriority18 = 0x08
)

// DefaultPublisherPriority applies to subgroups and datagrams (draft 16 on)
// that omit their priority (no DEFAULT_PUBLISHER_PRIORITY property seen).
const DefaultPublisherPriority = 128

func (h *SubgroupHeader) bitsNew() uint64 {
	var t uint64
	if h.DefaultPriority {
		t |= subgroupBitDefaultPriority18
	}
	if h.FirstObject {
		t |= subgroupBitFirstObject18
	}
	return t
}

// isSubgroupStreamTypeNew reports whether t is a SUBGROUP_HEADER type of
// draft 16 (0b00X1XXXX) or 18 (0b0XX1XXXX), subgroup ID mode not 0b11.
func isSubgroupStreamTypeNew(f dialect, t uint64) bool {
	limit := uint64(0x40)
	if f == dialect18 {
		limit = 0x80
	}
	return t < limit && t&0x10 != 0 && t&subgroupBitsIDMode != subgroupBitsIDMode
}

func subgroupHeaderFromTypeNew(f dialect, t uint64) (SubgroupHeader, error) {
	if !isSubgroupStreamTypeNew(f, t) {
		return SubgroupHeader{}, fmt.Errorf("stream type 0x%x: %w", t, ErrUnknownStreamType)
	}
	h, err := subgroupHeaderFromType(t &^ (subgroupBitDefaultPriority18 | subgroupBitFirstObject18))
	h.DefaultPriority = t&subgroupBitDefaultPriority18 != 0
	h.FirstObject = t&subgroupBitFirstObject18 != 0
	return h, err
}

// Draft-18 fetch object Serialization Flags.
const (
	fetchSubgroupMask18   = 0x03
	fetchSubgroupZero18   = 0x00
	fetchSubgroupPrior18  = 0x01
	fetchSubgroupNext18   = 0x02
	fetchSubgroupField18  = 0x03
	fetchObjectDelta18    = 0x04
	fetchGroupDelta18     = 0x08
	fetchPriority18       = 0x10
	fetchProperties18     = 0x20
	fetchDatagram18       = 0x40
	fetchEndNonExistent18 = 0x8C
	fetchEndUnknown18     = 0x10C
)

// fetchPrior is the previous object of a draft-18 fetch stream, against
// which the next one is coded.
type fetchPrior struct {
	set, objSet       bool
	group, object, sg uint64
	prio              uint8
}

// FetchWriter encodes the objects of one fetch stream. Draft 18 codes
// each object against the previous one, so the writer keeps state;
// draft 14 objects are self-contained.
type FetchWriter struct {
	c          *Codec
	Descending bool // the fetch's group order
	prior      fetchPrior
}

// NewFetchWriter starts encoding objects of c's version.
func (c *Codec) NewFetchWriter() *FetchWriter { return &FetchWriter{c: c} }

// AppendObjectHeader appends o up to, not including, its payload. From
// draft 16, fetch objects carry no status: StatusEndOfGroup and
// StatusEndOfTrack objects are written as End of Non-Existent Range and
// End of Unknown Range markers at o's location (see readObjectNew).
func (w *FetchWriter) AppendObjectHeader(b []byte, o *Object) ([]byte, error) {
	if !w.c.f.newData() {
		return AppendFetchObjectHeader(b, o)
	}
	switch o.Status {
	case StatusNormal:
	case StatusEndOfGroup, StatusEndOfTrack:
		if len(o.Payload) != 0 || len(o.Extensions) != 0 {
			return b, fmt.Errorf("%w: end of range with content", ErrInvalidObject)
		}
		flags := uint64(fetchEndNonExistent18)
		if o.Status == StatusEndOfTrack {
			flags = fetchEndUnknown18
		}
		e := encoder{b: b, f: w.c.f}
		e.varint(flags)
		e.varint(o.GroupID)
		e.varint(o.ID)
		if e.err != nil {
			return b, e.err
		}
		w.prior.set, w.prior.group, w.prior.object = true, o.GroupID, o.ID
		return e.b, nil
	default:
		return b, fmt.Errorf("%w: %v fetch objects carry no status", ErrInvalidObject, w.c.version)
	}
	deltas := w.c.f == dialect18 // draft 16 sends absolute IDs
	p := &w.prior
	flags := uint64(fetchGroupDelta18 | fetchObjectDelta18 | fetchPriority18 | fetchSubgroupField18)
	if len(o.Extensions) > 0 {
		flags |= fetchProperties18
	}
	gdelta, odelta := o.GroupID, o.ID
	if p.set {
		switch {
		case o.GroupID == p.group:
			flags &^= fetchGroupDelta18
			if deltas && o.ID < p.object {
				return b, fmt.Errorf("%w: fetch object id %d after %d", ErrInvalidObject, o.ID, p.object)
			}
			if deltas {
				odelta = o.ID - p.object
			}
			if o.ID == p.object+1 {
				flags &^= fetchObjectDelta18
			}
		case !deltas:
		case !w.Descending && o.GroupID > p.group:
			gdelta = o.GroupID - p.group - 1
		case w.Descending && o.GroupID < p.group:
			gdelta = p.group - o.GroupID - 1
		default:
			return b, fmt.Errorf("%w: fetch group %d out of order", ErrInvalidObject, o.GroupID)
		}
		if p.objSet && o.PublisherPriority == p.prio {
			flags &^= fetchPriority18
		}
		if p.objSet && o.SubgroupID == p.sg {
			flags = flags&^fetchSubgroupMask18 | fetchSubgroupPrior18
		}
	}
	if flags&fetchSubgroupMask18 == fetchSubgroupField18 && o.SubgroupID == 0 {
		flags &^= fetchSubgroupMask18
	}
	e := encoder{b: b, f: w.c.f}
	e.varint(flags)
	if flags&fetchGroupDelta18 != 0 {
		e.varint(gdelta)
	}
	if flags&fetchSubgroupMask18 == fetchSubgroupField18 {
		e.varint(o.SubgroupID)
	}
	if flags&fetchObjectDelta18 != 0 {
		e.varint(odelta)
	}
	if flags&fetchPriority18 != 0 {
		e.u8(o.PublisherPriority)
	}
	if flags&fetchProperties18 != 0 {
		e.extBlockFor(o.Extensions)
	}
	e.varint(uint64(len(o.Payload)))
	if e.err != nil {
		return b, e.err
	}
	*p = fetchPrior{set: true, objSet: true, group: o.GroupID, object: o.ID, sg: o.SubgroupID, prio: o.PublisherPriority}
	return e.b, nil
}

// readObjectNew reads one fetch object of draft 16 (absolute IDs) or 18
// (IDs coded as deltas from the previous object). End of Range markers are
// returned as objects with status StatusEndOfGroup (non-existent range)
// or StatusEndOfTrack (unknown range) at the range's last location and
// no payload; the caller tells them apart from real objects by Status,
// which a draft-18 fetch object never carries otherwise.
func (f *FetchReader) readObjectNew() (Object, error) {
	deltas := f.f == dialect18
	flags, err := f.f.read(f.r)
	if err != nil {
		return Object{}, err
	}
	p := &f.prior
	rd := func() uint64 {
		if err != nil {
			return 0
		}
		var v uint64
		v, err = f.f.read(f.r)
		err = eofIsTruncated(err)
		return v
	}
	if flags == fetchEndNonExistent18 || flags == fetchEndUnknown18 {
		o := Object{GroupID: rd(), ID: rd(), Status: StatusEndOfGroup}
		if flags == fetchEndUnknown18 {
			o.Status = StatusEndOfTrack
		}
		if err != nil {
			return Object{}, err
		}
		p.set, p.group, p.object = true, o.GroupID, o.ID
		return o, nil
	}
	if flags >= 0x80 {
		return Object{}, fmt.Errorf("fetch serialization flags 0x%x: %w", flags, ErrMalformed)
	}
	if !p.set && (flags&fetchGroupDelta18 == 0 || flags&fetchObjectDelta18 == 0) {
		return Object{}, fmt.Errorf("first fetch object refers to a prior one: %w", ErrMalformed)
	}
	var o Object
	switch {
	case flags&fetchGroupDelta18 == 0:
		o.GroupID = p.group
	case !p.set || !deltas:
		o.GroupID = rd()
	default:
		d := rd()
		if f.Descending {
			if d >= p.group {
				return Object{}, fmt.Errorf("fetch group delta: %w", ErrMalformed)
			}
			o.GroupID = p.group - d - 1
		} else {
			if d >= ^uint64(0)-p.group {
				return Object{}, fmt.Errorf("fetch group delta: %w", ErrMalformed)
			}
			o.GroupID = p.group + d + 1
		}
	}
	if flags&fetchDatagram18 == 0 {
		switch flags & fetchSubgroupMask18 {
		case fetchSubgroupZero18:
		case fetchSubgroupField18:
			o.SubgroupID = rd()
		default:
			if !p.objSet {
				return Object{}, fmt.Errorf("fetch subgroup refers to no prior object: %w", ErrMalformed)
			}
			o.SubgroupID = p.sg
			if flags&fetchSubgroupMask18 == fetchSubgroupNext18 {
				o.SubgroupID++
			}
		}
	}
	switch {
	case flags&fetchObjectDelta18 == 0:
		o.ID = p.object + 1
	case flags&fetchGroupDelta18 != 0 || !p.set || !deltas:
		o.ID = rd()
	default:
		o.ID = p.object + rd()
	}
	if flags&fetchPriority18 != 0 {
		if err == nil {
			o.PublisherPriority, err = f.r.ReadByte()
			err = eofIsTruncated(err)
		}
	} else if !p.objSet {
		return Object{}, fmt.Errorf("fetch priority refers to no prior object: %w", ErrMalformed)
	} else {
		o.PublisherPriority = p.prio
	}
	if err != nil {
		return Object{}, err
	}
	if flags&fetchProperties18 != 0 {
		n, err := f.f.read(f.r)
		if err != nil {
			return Object{}, eofIsTruncated(err)
		}
		if n > f.lim.extensions() {
			return Object{}, fmt.Errorf("properties length %d: %w", n, ErrTooLong)
		}
		block, err := readBounded(f.r, n)
		if err != nil {
			return Object{}, err
		}
		if o.Extensions, err = parseExtensionsFormat(block, f.f); err != nil {
			return Object{}, err
		}
	}
	n, err := f.f.read(f.r)
	if err != nil {
		return Object{}, eofIsTruncated(err)
	}
	if n > f.lim.payload() {
		return Object{}, fmt.Errorf("object payload length %d: %w", n, ErrTooLong)
	}
	if o.Payload, err = readBounded(f.r, n); err != nil {
		return Object{}, err
	}
	*p = fetchPrior{set: true, objSet: true, group: o.GroupID, object: o.ID, sg: o.SubgroupID, prio: o.PublisherPriority}
	return o, nil
}
