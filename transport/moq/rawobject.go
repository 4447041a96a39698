package moq

import (
	"fmt"

	"github.com/strata-edge/strata/transport/moq/wire"
)

// WriteRaw writes one normal-status object whose extension headers are
// already serialized (the key-value pairs of a draft-14 extension block,
// without its length), as a relay holds them. The payload is not copied. The stream must have been opened with Extensions set if ext is
// non-empty. Do not mix WriteRaw and WriteObject on one stream.
func (g *SubgroupStream) WriteRaw(id uint64, ext, payload []byte) error {
	var delta uint64
	switch {
	case !g.rawStarted:
		delta = id
	case id <= g.rawPrev:
		return fmt.Errorf("%w: object id %d after %d", wire.ErrInvalidObject, id, g.rawPrev)
	default:
		delta = id - g.rawPrev - 1
	}
	if len(ext) > 0 && !g.w.Header.Extensions {
		return fmt.Errorf("%w: extensions on a stream type without them", wire.ErrInvalidObject)
	}
	b := g.buf[:0]
	var err error
	if b, err = wire.AppendVarint(b, delta); err != nil {
		return err
	}
	if g.w.Header.Extensions {
		// Extensions are a few bytes; copying them keeps this to two
		// stream writes. The payload is never copied.
		b, _ = wire.AppendVarint(b, uint64(len(ext)))
		b = append(b, ext...)
	}
	b, _ = wire.AppendVarint(b, uint64(len(payload)))
	if len(payload) == 0 {
		b, _ = wire.AppendVarint(b, uint64(wire.StatusNormal))
	}
	g.rawPrev, g.rawStarted = id, true
	g.buf = b
	if _, err := g.st.Write(b); err != nil {
		return err
	}
	g.written += int64(len(b) + len(payload))
	if len(payload) > 0 {
		_, err = g.st.Write(payload)
	}
	return err
}

// Written reports the bytes WriteRaw has written, headers included.
func (g *SubgroupStream) Written() int64 { return g.written }
