package wire

import "fmt"

// fielder is implemented by every message: the field list once for each
// direction. AppendPayload/DecodePayload wrap it so sticky errors are
// checked in one place.
type fielder interface {
	enc(e *encoder)
	dec(d *decoder)
}

// A version with its own layout table (see layoutsOf) encodes m with that
// table instead; f is then unused and may be nil.
func appendFields(v Version, m Message, b []byte, f fielder) ([]byte, error) {
	e := encoder{b: b, f: formatOf(v)}
	switch l, ok := layoutOf(v, m.Type()); {
	case ok && l.enc != nil:
		l.enc(&e, m)
	case ok && f != nil:
		f.enc(&e)
	default:
		return b, fmt.Errorf("%v in %v: %w", m.Type(), v, ErrUnknownMessage)
	}
	if e.err != nil {
		return b, e.err
	}
	return e.b, nil
}

func decodeFields(v Version, m Message, p []byte, f fielder) error {
	d := decoder{p: p, f: formatOf(v)}
	switch l, ok := layoutOf(v, m.Type()); {
	case ok && l.dec != nil:
		l.dec(&d, m)
	case ok && f != nil:
		f.dec(&d)
	default:
		return fmt.Errorf("%v in %v: %w", m.Type(), v, ErrUnknownMessage)
	}
	return d.finish()
}

// RequestError is the shared shape of the *_ERROR replies: the request
// being answered, an application error code and a reason phrase.
type RequestError struct {
	RequestID uint64
	ErrorCode uint64
	Reason    string
}

func (m *RequestError) enc(e *encoder) {
	e.varint(m.RequestID)
	e.varint(m.ErrorCode)
	e.reason(m.Reason)
}

func (m *RequestError) dec(d *decoder) {
	m.RequestID = d.varint()
	m.ErrorCode = d.varint()
	m.Reason = d.reason()
}

// requestOnly is the shape of messages that carry just a Request ID.
type requestOnly struct{ RequestID uint64 }

func (m *requestOnly) enc(e *encoder) { e.varint(m.RequestID) }
func (m *requestOnly) dec(d *decoder) { m.RequestID = d.varint() }

// Uint returns the value of the first even-typed parameter t.
func (ps Parameters) Uint(t uint64) (uint64, bool) {
	p, ok := ps.Get(t)
	if !ok || p.IsBytes() {
		return 0, false
	}
	return p.Value, true
}
