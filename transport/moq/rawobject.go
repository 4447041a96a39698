package moq

import (
	"fmt"

	"github.com/strata-edge/strata/transport/moq/wire"
)

// WriteRaw writes one normal-status object whose extension headers are
// already serialized (the key-value pairs of a draft-14 extension block,
// without its length), as a relay holds them; a stream of another
// version gets them re-encoded. The payload is not copied. The stream
// must have been opened with Extensions set if ext is non-empty. Do not
// mix WriteRaw and WriteObject on one stream.
func (g *SubgroupStream) WriteRaw(id uint64, ext, payload []byte) error {
	delta, err := g.rawDelta(id)
	if err != nil {
		return err
	}
	if len(ext) > 0 && !g.w.Header.Extensions {
		return fmt.Errorf("%w: extensions on a stream type without them", wire.ErrInvalidObject)
	}
	c := g.w.Codec()
	if delta > wire.MaxVarint {
		return wire.ErrVarintRange
	}
	if len(ext) > 0 && c.Version() != wire.Draft14 {
		// The relay holds extensions in draft-14 form; re-encode them.
		if ext, err = wire.TranscodeExtensions(g.ext[:0], ext, c.Version()); err != nil {
			return err
		}
		g.ext = ext
	}
	b := c.AppendInt(g.buf[:0], delta)
	if g.w.Header.Extensions {
		// Extensions are a few bytes; copying them keeps this to two
		// stream writes. The payload is never copied.
		b = c.AppendInt(b, uint64(len(ext)))
		b = append(b, ext...)
	}
	b = c.AppendInt(b, uint64(len(payload)))
	if len(payload) == 0 {
		b = c.AppendInt(b, uint64(wire.StatusNormal))
	}
	g.rawPrev, g.rawStarted = id, true
	g.buf = b
	if _, err := g.st.Write(b); err != nil {
		return err
	}
	g.written += int64(len(b) + len(payload))
	if len(payload) > 0 {
		if _, err := g.st.Write(payload); err != nil {
			return err
		}
	}
	return nil
}

// Written reports the bytes WriteRaw has written, headers included.
func (g *SubgroupStream) Written() int64 { return g.written }

// FrameObject encodes a normal-status object as it appears on a subgroup
// stream whose header has the Extensions bit, with an Object ID delta of
// zero: the form of every object after the stream's first when IDs are
// consecutive, and of a first object with ID 0. The result is one buffer a
// relay shares between all subscribers (WriteFramed); payloadOff and
// extOff locate the payload and extension block inside it. The payload is
// copied once, here.
func FrameObject(ext, payload []byte) (framed []byte, extOff, payloadOff int) {
	n := 1 + wire.VarintLen(uint64(len(ext))) + len(ext) + wire.VarintLen(uint64(len(payload))) + len(payload)
	if len(payload) == 0 {
		n++
	}
	b := make([]byte, 0, n)
	b = append(b, 0) // Object ID delta
	b, _ = wire.AppendVarint(b, uint64(len(ext)))
	extOff = len(b)
	b = append(b, ext...)
	b, _ = wire.AppendVarint(b, uint64(len(payload)))
	payloadOff = len(b)
	if len(payload) == 0 {
		b, _ = wire.AppendVarint(b, uint64(wire.StatusNormal))
		payloadOff = len(b)
	}
	b = append(b, payload...)
	return b, extOff, payloadOff
}

// WriteFramed writes object id from framed, a FrameObject encoding, with a
// single stream write when the encoding's zero delta is right for id here
// and the stream carries extensions; otherwise it falls back to WriteRaw
// with ext and payload. One write per object lets the QUIC stack pack the
// header into the first full-size packet instead of a packet of its own.
func (g *SubgroupStream) WriteFramed(id uint64, framed, ext, payload []byte) error {
	zeroDelta := (!g.rawStarted && id == 0) || (g.rawStarted && id == g.rawPrev+1)
	if g.w.Codec().Version() != wire.Draft14 && g.w.Header.Extensions {
		return g.writeJoined(id, ext, payload)
	}
	if len(framed) == 0 || !zeroDelta || !g.w.Header.Extensions {
		return g.WriteRaw(id, ext, payload)
	}
	g.rawPrev, g.rawStarted = id, true
	n, err := g.st.Write(framed)
	g.written += int64(n)
	return err
}

// writeJoined is WriteFramed for a stream of a version other than
// draft 14, whose framing the shared buffer does not hold: it encodes
// the object header in the stream's version and writes it with the
// payload in one call, copying the payload once so the header does not
// go out in a packet of its own.
func (g *SubgroupStream) writeJoined(id uint64, ext, payload []byte) error {
	delta, err := g.rawDelta(id)
	if err != nil {
		return err
	}
	c := g.w.Codec()
	if g.ext, err = wire.TranscodeExtensions(g.ext[:0], ext, c.Version()); err != nil {
		return err
	}
	b := c.AppendInt(g.buf[:0], delta)
	b = c.AppendInt(b, uint64(len(g.ext)))
	b = append(b, g.ext...)
	b = c.AppendInt(b, uint64(len(payload)))
	if len(payload) == 0 {
		b = c.AppendInt(b, uint64(wire.StatusNormal))
	}
	b = append(b, payload...)
	g.rawPrev, g.rawStarted = id, true
	g.buf = b
	n, err := g.st.Write(b)
	g.written += int64(n)
	return err
}

// rawDelta is the Object ID Delta of id after the stream's last raw
// object; IDs must increase.
func (g *SubgroupStream) rawDelta(id uint64) (uint64, error) {
	switch {
	case !g.rawStarted:
		return id, nil
	case id <= g.rawPrev:
		return 0, fmt.Errorf("%w: object id %d after %d", wire.ErrInvalidObject, id, g.rawPrev)
	}
	return id - g.rawPrev - 1, nil
}
