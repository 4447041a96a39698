package gossip

import (
	"fmt"
	"math"
)

// MetaMaxSize is memberlist's hard limit on node metadata; memberlist
// panics beyond it, so Pool refuses such metadata up front.
const MetaMaxSize = 512

const metaVersion = 1

// maxStr bounds every decoded string so a hostile peer cannot make a
// decoder allocate more than the metadata itself.
const maxStr = MetaMaxSize

// Role is what a node does in the fabric.
type Role uint8

// Roles. The zero value is invalid so a forgotten role is caught.
const (
	RoleOrigin Role = 1
	RoleEdge   Role = 2
)

func (r Role) String() string {
	switch r {
	case RoleOrigin:
		return "origin"
	case RoleEdge:
		return "edge"
	}
	return fmt.Sprintf("role(%d)", uint8(r))
}

// ParseRole maps "origin" or "edge" to a Role.
func ParseRole(s string) (Role, error) {
	switch s {
	case "origin":
		return RoleOrigin, nil
	case "edge":
		return RoleEdge, nil
	}
	return 0, fmt.Errorf("%w: role %q (want origin or edge)", ErrBadMeta, s)
}

// Addrs are the endpoints a node advertises; empty means "not served".
type Addrs struct {
	API    string // REST API, host:port
	QUIC   string // MoQ over raw QUIC and WebTransport (one UDP port)
	WebRTC string // WebRTC UDP mux
	WHIP   string // WHIP ingest and WHEP egress HTTP endpoint
}

// Meta is a node's gossiped metadata. It changes rarely (drain, capacity
// change); live numbers go in Load.
type Meta struct {
	ID       string // unique node id; also the memberlist node name
	Role     Role
	Region   string
	Zone     string
	Lat, Lon float64 // degrees; encoded with 1e-5 degree (~1 m) precision
	Addrs    Addrs
	NICMbps  uint64 // advertised egress capacity
	GPUCount uint32
	// GPUDigest is a hash of the GPU inventory (see edge/gpu.Digest): it
	// tells observers the list changed without gossiping the list.
	GPUDigest uint64
	Draining  bool
	// Leaving is set by Pool.Close just before memberlist's leave, so
	// observers can tell a graceful leave from a failure: memberlist v0.5.4
	// reports both through the same NotifyLeave without a usable state.
	Leaving bool
}

const (
	flagDraining = 1 << 0
	flagLeaving  = 1 << 1
)

// Validate checks fields whose bad values would mislead placement.
func (m *Meta) Validate() error {
	switch {
	case m.ID == "":
		return fmt.Errorf("%w: empty id", ErrBadMeta)
	case m.Role != RoleOrigin && m.Role != RoleEdge:
		return fmt.Errorf("%w: %v", ErrBadMeta, m.Role)
	case math.IsNaN(m.Lat) || m.Lat < -90 || m.Lat > 90:
		return fmt.Errorf("%w: latitude %v out of range", ErrBadMeta, m.Lat)
	case math.IsNaN(m.Lon) || m.Lon < -180 || m.Lon > 180:
		return fmt.Errorf("%w: longitude %v out of range", ErrBadMeta, m.Lon)
	}
	return nil
}

// MarshalBinary encodes m: version, flags, role, id, region, zone, lat,
// lon, four addresses, NIC Mbit/s, GPU count, GPU digest. It fails with
// ErrMetaTooLarge (naming the size) beyond MetaMaxSize.
func (m *Meta) MarshalBinary() ([]byte, error) {
	if err := m.Validate(); err != nil {
		return nil, err
	}
	e := enc{b: make([]byte, 0, 128)}
	e.u8(metaVersion)
	var flags byte
	if m.Draining {
		flags |= flagDraining
	}
	if m.Leaving {
		flags |= flagLeaving
	}
	e.u8(flags)
	e.u8(byte(m.Role))
	e.str(m.ID)
	e.str(m.Region)
	e.str(m.Zone)
	e.varint(int64(math.Round(m.Lat * 1e5)))
	e.varint(int64(math.Round(m.Lon * 1e5)))
	e.str(m.Addrs.API)
	e.str(m.Addrs.QUIC)
	e.str(m.Addrs.WebRTC)
	e.str(m.Addrs.WHIP)
	e.uvarint(m.NICMbps)
	e.uvarint(uint64(m.GPUCount))
	e.u64(m.GPUDigest)
	if len(e.b) > MetaMaxSize {
		return nil, fmt.Errorf("%w: %d bytes encoded, limit %d (shorten ids, names or addresses)",
			ErrMetaTooLarge, len(e.b), MetaMaxSize)
	}
	return e.b, nil
}

// MarshalBinaryLeaving encodes a copy of m with Leaving set.
func (m Meta) MarshalBinaryLeaving() ([]byte, error) {
	m.Leaving = true
	return m.MarshalBinary()
}

// UnmarshalBinary decodes what MarshalBinary wrote. Bytes after the known
// fields are ignored so a later version can append fields.
func (m *Meta) UnmarshalBinary(b []byte) error {
	if len(b) > MetaMaxSize {
		return fmt.Errorf("%w: %d bytes, limit %d", ErrMetaTooLarge, len(b), MetaMaxSize)
	}
	d := dec{b: b}
	if v := d.u8(); d.err == nil && v != metaVersion {
		return fmt.Errorf("%w: version %d, want %d", ErrBadMeta, v, metaVersion)
	}
	flags := d.u8()
	var out Meta
	out.Role = Role(d.u8())
	out.ID = d.str(maxStr)
	out.Region = d.str(maxStr)
	out.Zone = d.str(maxStr)
	out.Lat = float64(d.varint()) / 1e5
	out.Lon = float64(d.varint()) / 1e5
	out.Addrs.API = d.str(maxStr)
	out.Addrs.QUIC = d.str(maxStr)
	out.Addrs.WebRTC = d.str(maxStr)
	out.Addrs.WHIP = d.str(maxStr)
	out.NICMbps = d.uvarint()
	gpus := d.uvarint()
	out.GPUDigest = d.u64()
	if d.err != nil {
		return fmt.Errorf("%w: %w", ErrBadMeta, d.err)
	}
	if gpus > math.MaxUint32 {
		return fmt.Errorf("%w: gpu count %d", ErrBadMeta, gpus)
	}
	out.GPUCount = uint32(gpus)
	out.Draining = flags&flagDraining != 0
	out.Leaving = flags&flagLeaving != 0
	if err := out.Validate(); err != nil {
		return err
	}
	*m = out
	return nil
}
