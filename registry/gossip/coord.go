package gossip

import (
	"math"

	"github.com/hashicorp/serf/coordinate"
)

// maxDims bounds decoded coordinates; serf's default is 8.
const maxDims = 16

// encodeCoord writes a Vivaldi coordinate as float32s: dimensionality,
// vector, error, adjustment, height (8 dims: 45 bytes). float32 keeps well
// under a microsecond of precision at the scales involved.
func encodeCoord(e *enc, c *coordinate.Coordinate) {
	e.u8(byte(len(c.Vec)))
	for _, v := range c.Vec {
		e.f32(float32(v))
	}
	e.f32(float32(c.Error))
	e.f32(float32(c.Adjustment))
	e.f32(float32(c.Height))
}

func decodeCoord(d *dec) *coordinate.Coordinate {
	n := int(d.u8())
	if d.err != nil {
		return nil
	}
	if n == 0 || n > maxDims || len(d.b) < 4*(n+3) {
		d.fail(errShort)
		return nil
	}
	c := &coordinate.Coordinate{Vec: make([]float64, n)}
	for i := range c.Vec {
		c.Vec[i] = float64(d.f32())
	}
	c.Error = float64(d.f32())
	c.Adjustment = float64(d.f32())
	c.Height = float64(d.f32())
	if !c.IsValid() || math.IsInf(c.Error, 0) {
		d.fail(errShort)
		return nil
	}
	return c
}

func marshalCoord(c *coordinate.Coordinate) []byte {
	e := enc{b: make([]byte, 0, 48)}
	encodeCoord(&e, c)
	return e.b
}

func unmarshalCoord(b []byte) (*coordinate.Coordinate, bool) {
	d := dec{b: b}
	c := decodeCoord(&d)
	return c, d.err == nil
}
