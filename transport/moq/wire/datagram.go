package wire

import "fmt"

// Datagram type bits (draft 14 OBJECT_DATAGRAM): 0x00-0x07 carry a
// payload, 0x20-0x21 a status.
const (
	dgBitExtensions = 0x01
	dgBitEndOfGroup = 0x02
	dgBitNoObjectID = 0x04
	dgStatusBase    = 0x20
)

// Datagram is one object sent as a QUIC datagram. Status datagrams are
// used when Status is not StatusNormal; they cannot mark End of Group.
type Datagram struct {
	TrackAlias uint64
	Object     Object // SubgroupID is unused for datagrams
	EndOfGroup bool
}

// datagramType picks the type code. Object ID 0 uses the types that omit
// the field, and extensions are flagged only when present: the spec
// forbids a present-but-empty extension block in datagrams.
func (d *Datagram) datagramType() (uint64, error) {
	o := &d.Object
	if err := checkObject(o.Status, o.Extensions, len(o.Payload)); err != nil {
		return 0, fmt.Errorf("%w: %v", ErrInvalidObject, err)
	}
	var t uint64
	if len(o.Extensions) != 0 {
		t |= dgBitExtensions
	}
	if o.Status != StatusNormal {
		if d.EndOfGroup {
			return 0, fmt.Errorf("%w: status datagram cannot mark end of group", ErrInvalidObject)
		}
		return dgStatusBase | t, nil
	}
	if d.EndOfGroup {
		t |= dgBitEndOfGroup
	}
	if o.ID == 0 {
		t |= dgBitNoObjectID
	}
	return t, nil
}

// AppendDatagram encodes d as a draft-14 datagram, payload included.
func AppendDatagram(b []byte, d *Datagram) ([]byte, error) { return draft14Codec.AppendDatagram(b, d) }

// AppendDatagram encodes d in c's version, payload included. Draft 18
// status datagrams omit Object ID 0 too; the priority is always sent.
func (c *Codec) AppendDatagram(b []byte, d *Datagram) ([]byte, error) {
	t, err := d.datagramType()
	if err != nil {
		return b, err
	}
	o := &d.Object
	if c.f.newData() {
		if err := checkObjectFormat(c.f, o.Status, o.Extensions, len(o.Payload)); err != nil {
			return b, fmt.Errorf("%w: %v", ErrInvalidObject, err)
		}
		if t >= dgStatusBase && o.ID == 0 {
			t |= dgBitNoObjectID
		}
	}
	e := encoder{b: b, f: c.f}
	e.varint(t)
	e.varint(d.TrackAlias)
	e.varint(o.GroupID)
	if t&dgBitNoObjectID == 0 {
		e.varint(o.ID)
	}
	e.u8(o.PublisherPriority)
	if t&dgBitExtensions != 0 {
		e.extBlockFor(o.Extensions)
	}
	if t >= dgStatusBase {
		e.varint(uint64(o.Status))
	} else if e.err == nil {
		e.b = append(e.b, o.Payload...)
	}
	if e.err != nil {
		return b, e.err
	}
	return e.b, nil
}

// ParseDatagram decodes a whole draft-14 datagram. The payload aliases p.
func ParseDatagram(p []byte) (Datagram, error) { return draft14Codec.ParseDatagram(p) }

// ParseDatagram decodes a whole datagram of c's version.
func (c *Codec) ParseDatagram(p []byte) (Datagram, error) {
	d := decoder{p: p, f: c.f}
	t := d.varint()
	if d.err != nil {
		return Datagram{}, d.err
	}
	status := false
	v18 := c.f.newData() // draft 16's types, kept by 18
	switch {
	case t <= 0x07, v18 && t <= 0x0F:
	case t == dgStatusBase || t == dgStatusBase|dgBitExtensions:
		status = true
	case v18 && t >= dgStatusBase && t <= 0x2F && t&dgBitEndOfGroup == 0:
		status = true
	default:
		return Datagram{}, fmt.Errorf("datagram type 0x%x: %w", t, ErrUnknownStreamType)
	}
	var dg Datagram
	o := &dg.Object
	dg.TrackAlias = d.varint()
	o.GroupID = d.varint()
	if (status && !v18) || t&dgBitNoObjectID == 0 {
		o.ID = d.varint()
	}
	if v18 && t&dgBitDefaultPriority18 != 0 {
		o.PublisherPriority = DefaultPublisherPriority
	} else {
		o.PublisherPriority = d.u8()
	}
	if t&dgBitExtensions != 0 {
		n := d.varint()
		if d.err == nil && n == 0 {
			return Datagram{}, fmt.Errorf("datagram with empty extension block: %w", ErrMalformed)
		}
		block := d.take(n)
		if d.err != nil {
			return Datagram{}, d.err
		}
		ext, err := parseExtensionsFormat(block, c.f)
		if err != nil {
			return Datagram{}, err
		}
		o.Extensions = ext
	}
	if status {
		o.Status = ObjectStatus(d.varint())
		if err := d.finish(); err != nil {
			return Datagram{}, err
		}
	} else {
		dg.EndOfGroup = t&dgBitEndOfGroup != 0
		o.Payload = d.rest()
		if d.err != nil {
			return Datagram{}, d.err
		}
	}
	if err := checkObjectFormat(c.f, o.Status, o.Extensions, len(o.Payload)); err != nil {
		return Datagram{}, err
	}
	return dg, nil
}
