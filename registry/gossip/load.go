package gossip

import (
	"fmt"
	"math"
	"time"

	"github.com/hashicorp/serf/coordinate"
)

// LoadStaleAfter is how old a received load may be before placement should
// treat it as unknown: five missed one-second broadcasts.
const LoadStaleAfter = 5 * time.Second

// Load is a node's live load, gossiped every LoadInterval. It is advisory:
// reservations in the registry are authoritative.
type Load struct {
	EgressBps    uint64
	Viewers      uint32
	Sessions     uint32
	GPUUtilPct   int    // mean over GPUs, -1 when unknown or no GPUs
	GPUMemUsedMB uint64 // sum over GPUs
	CPUPct       int    // whole-node CPU 0..100, -1 when unknown
}

const (
	msgLoad      = 'L' // user message: one node's load
	msgState     = 'S' // push/pull state: a list of load messages
	loadHasCoord = 1 << 0
	maxLoadMsg   = 512
)

// loadMsg is the wire form of a load: who, which sequence, the numbers, and
// optionally the sender's Vivaldi coordinate (carried every few seconds so
// every node learns every coordinate, not only those it pinged).
type loadMsg struct {
	node  string
	seq   uint64
	load  Load
	coord *coordinate.Coordinate
}

func (m *loadMsg) marshal() []byte {
	e := enc{b: make([]byte, 0, 64)}
	e.u8(msgLoad)
	e.str(m.node)
	e.uvarint(m.seq)
	e.uvarint(m.load.EgressBps)
	e.uvarint(uint64(m.load.Viewers))
	e.uvarint(uint64(m.load.Sessions))
	e.varint(int64(m.load.GPUUtilPct))
	e.uvarint(m.load.GPUMemUsedMB)
	e.varint(int64(m.load.CPUPct))
	if m.coord != nil {
		e.u8(loadHasCoord)
		encodeCoord(&e, m.coord)
	} else {
		e.u8(0)
	}
	return e.b
}

func (m *loadMsg) unmarshal(b []byte) error {
	if len(b) > maxLoadMsg {
		return fmt.Errorf("%w: load message of %d bytes", ErrBadMessage, len(b))
	}
	d := dec{b: b}
	if t := d.u8(); d.err == nil && t != msgLoad {
		return fmt.Errorf("%w: type %#x is not a load", ErrBadMessage, t)
	}
	var out loadMsg
	out.node = d.str(maxStr)
	out.seq = d.uvarint()
	out.load.EgressBps = d.uvarint()
	viewers, sessions := d.uvarint(), d.uvarint()
	gpu := d.varint()
	out.load.GPUMemUsedMB = d.uvarint()
	cpu := d.varint()
	flags := d.u8()
	if flags&loadHasCoord != 0 {
		out.coord = decodeCoord(&d)
	}
	if d.err != nil {
		return fmt.Errorf("%w: load: %w", ErrBadMessage, d.err)
	}
	if out.node == "" || viewers > math.MaxUint32 || sessions > math.MaxUint32 ||
		gpu < -1 || gpu > 100 || cpu < -1 || cpu > 100 {
		return fmt.Errorf("%w: load values out of range", ErrBadMessage)
	}
	out.load.Viewers, out.load.Sessions = uint32(viewers), uint32(sessions)
	out.load.GPUUtilPct, out.load.CPUPct = int(gpu), int(cpu)
	*m = out
	return nil
}

// clampLoad keeps locally set values inside what the wire accepts so a
// caller's bad number cannot make every peer reject our loads.
func clampLoad(l Load) Load {
	l.GPUUtilPct = min(max(l.GPUUtilPct, -1), 100)
	l.CPUPct = min(max(l.CPUPct, -1), 100)
	return l
}
