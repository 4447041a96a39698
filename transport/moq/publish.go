package moq

import (
	"context"
	"fmt"
	"sync"

	"github.com/strata-edge/strata/transport/moq/wire"
)

// Publication is an accepted peer subscription: this endpoint sends the
// track's objects on subgroup streams or datagrams under its alias.
type Publication struct {
	s         *Session
	requestID uint64
	alias     uint64

	mu      sync.Mutex
	streams uint64 // subgroup streams opened, reported in PUBLISH_DONE
	done    bool
	// subPrio is the subscriber priority (SUBSCRIBE, SUBSCRIBE_UPDATE);
	// order the subscription's group order; last the newest subgroup
	// stream and its urgency, demoted under descending order when a
	// newer group opens.
	subPrio     uint8
	order       wire.GroupOrder
	last        SendStream
	lastUrgency int8

	unsubOnce    sync.Once
	unsubscribed chan struct{}
}

// TrackAlias is the alias announced in SUBSCRIBE_OK.
func (p *Publication) TrackAlias() uint64 { return p.alias }

// Unsubscribed is closed when the peer sends UNSUBSCRIBE.
func (p *Publication) Unsubscribed() <-chan struct{} { return p.unsubscribed }

func (p *Publication) closeUnsubscribed() { p.unsubOnce.Do(func() { close(p.unsubscribed) }) }

// SubgroupStream is one open subgroup stream of a publication.
type SubgroupStream struct {
	st  SendStream
	w   *wire.SubgroupWriter
	buf []byte
	ext []byte // WriteRaw's re-encoded extensions

	// WriteRaw's delta-coding state and byte count.
	rawPrev    uint64
	rawStarted bool
	written    int64
}

// OpenSubgroup opens a unidirectional stream and writes the subgroup
// header; h.TrackAlias is set from the publication.
func (p *Publication) OpenSubgroup(ctx context.Context, h wire.SubgroupHeader) (*SubgroupStream, error) {
	p.mu.Lock()
	if p.done {
		p.mu.Unlock()
		return nil, fmt.Errorf("%w: publication done", ErrSubscriptionDone)
	}
	p.streams++
	p.mu.Unlock()
	h.TrackAlias = p.alias
	w := p.s.codec.NewSubgroupWriter(h)
	hdr, err := w.AppendHeader(nil)
	if err != nil {
		return nil, err
	}
	st, err := p.s.conn.OpenUniStream(ctx)
	if err != nil {
		return nil, err
	}
	p.prioritize(st, h.PublisherPriority)
	if _, err := st.Write(hdr); err != nil {
		st.CancelWrite(wire.StreamErrInternal)
		return nil, err
	}
	return &SubgroupStream{st: st, w: w}, nil
}

// prioritize sets a new subgroup stream's urgency from the subscriber and
// publisher priorities. Under descending group order the previous group's
// stream, if its data is still queued, drops one level so the newer group
// goes first; under ascending order stream ID order already sends the
// older group first.
func (p *Publication) prioritize(st SendStream, publisherPrio uint8) {
	p.mu.Lock()
	u := dataUrgency(p.subPrio, publisherPrio)
	prev, prevU := p.last, p.lastUrgency
	p.last, p.lastUrgency = st, u
	desc := p.order == wire.GroupOrderDescending
	p.mu.Unlock()
	setPriority(st, u)
	if desc && prev != nil {
		setPriority(prev, min(prevU+1, urgencyLowest))
	}
}

// setSubscriberPriority applies a SUBSCRIBE_UPDATE to streams opened from
// now on and, best effort, to the newest open one.
func (p *Publication) setSubscriberPriority(prio uint8) {
	p.mu.Lock()
	p.subPrio = prio
	last := p.last
	p.mu.Unlock()
	if last != nil {
		// The publisher priority of the open stream is not kept; assume
		// the common case (below 128).
		setPriority(last, dataUrgency(prio, 0))
	}
}

// WriteObject writes one object. The payload is written straight from
// o.Payload, never copied into a staging buffer.
func (g *SubgroupStream) WriteObject(o *wire.Object) error {
	b, err := g.w.AppendObjectHeader(g.buf[:0], o)
	if err != nil {
		return err
	}
	g.buf = b
	if _, err := g.st.Write(b); err != nil {
		return err
	}
	if len(o.Payload) > 0 {
		_, err = g.st.Write(o.Payload)
	}
	return err
}

// Close ends the subgroup with FIN.
func (g *SubgroupStream) Close() error { return g.st.Close() }

// Cancel resets the stream, e.g. when a delivery timeout passes.
func (g *SubgroupStream) Cancel(code uint64) { g.st.CancelWrite(code) }

// SendDatagram sends one object as a datagram. Oversized datagrams are
// the transport's to drop, as the spec allows.
func (p *Publication) SendDatagram(o wire.Object, endOfGroup bool) error {
	b, err := p.s.codec.AppendDatagram(nil, &wire.Datagram{TrackAlias: p.alias, Object: o, EndOfGroup: endOfGroup})
	if err != nil {
		return err
	}
	return p.s.conn.SendDatagram(b)
}

// Done ends the publication with PUBLISH_DONE. Callers close their
// subgroup streams first: the spec forbids PUBLISH_DONE before that.
func (p *Publication) Done(status uint64, reason string) error {
	p.mu.Lock()
	if p.done {
		p.mu.Unlock()
		return nil
	}
	p.done = true
	n := p.streams
	p.mu.Unlock()
	p.s.mu.Lock()
	delete(p.s.pubs, p.requestID)
	p.s.mu.Unlock()
	return p.s.write(&wire.PublishDone{RequestID: p.requestID, StatusCode: status, StreamCount: n, Reason: reason})
}
