package moq

import (
	"bufio"
	"errors"
	"io"
	"time"

	"github.com/strata-edge/strata/transport/moq/wire"
)

// acceptUniLoop starts a reader for each incoming data stream.
func (s *Session) acceptUniLoop() {
	defer s.wg.Done()
	for {
		st, err := s.conn.AcceptUniStream(s.ctx)
		if err != nil {
			return
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.readDataStream(st)
		}()
	}
}

// readDataStream routes one data stream's objects to its subscription.
// A stream whose header sets End of Group and that ends cleanly after a
// normal object is followed by a synthetic END_OF_GROUP object, exactly
// what the header bit means, so readers see group completion in-band.
// Protocol errors close the session; an unknown alias or a subscriber
// that went away only abandons the stream.
func (s *Session) readDataStream(st ReceiveStream) {
	r := bufio.NewReader(st)
	t, err := s.codec.ReadInt(r)
	if err != nil {
		if errors.Is(err, io.EOF) {
			err = wire.ErrTruncated
		}
		s.dataError(st, err)
		return
	}
	s.readDataStreamAfterType(st, r, t)
}

// readDataStreamAfterType continues readDataStream once the stream type
// t has been read.
func (s *Session) readDataStreamAfterType(st ReceiveStream, r *bufio.Reader, t uint64) {
	h, err := s.codec.ReadStreamHeaderAfterType(r, t)
	if err != nil {
		s.dataError(st, err)
		return
	}
	if h.Fetch != nil {
		// FETCH is not issued by this session layer yet, so no fetch
		// stream can be expected.
		st.CancelRead(wire.StreamErrCancelled)
		return
	}
	sub := s.waitAlias(h.Subgroup.TrackAlias)
	if sub == nil {
		st.CancelRead(wire.StreamErrCancelled)
		return
	}
	sr := s.codec.NewSubgroupReader(r, *h.Subgroup, s.cfg.Limits)
	var last wire.Object // the stream's latest object, for the end marker
	read := false
	for {
		o, err := sr.ReadObject()
		if err == io.EOF {
			if h.Subgroup.EndOfGroup && read && last.Status == wire.StatusNormal {
				// The header promised the stream's last object ends the
				// group: tell the reader, which cannot otherwise know a
				// group is complete when objects of the next one, on
				// another stream, overtake its tail.
				sub.deliver(s.ctx, wire.Object{GroupID: last.GroupID, SubgroupID: last.SubgroupID,
					ID: last.ID + 1, PublisherPriority: last.PublisherPriority, Status: wire.StatusEndOfGroup})
			}
			sub.streamFinished()
			return
		}
		if err != nil {
			s.dataError(st, err)
			return
		}
		last, read = o, true
		if !sub.deliver(s.ctx, o) {
			st.CancelRead(wire.StreamErrCancelled)
			return
		}
	}
}

// dataError ends a stream on a read error; codec errors are the peer's
// protocol violations and end the session, transport errors (resets)
// only end the stream.
func (s *Session) dataError(st ReceiveStream, err error) {
	var we *wire.Error
	if errors.As(err, &we) {
		s.fail(err)
		return
	}
	st.CancelRead(wire.StreamErrCancelled)
}

// waitAlias finds the subscription for alias, waiting up to AliasWait for
// a SUBSCRIBE_OK that may be behind the data stream.
func (s *Session) waitAlias(alias uint64) *Subscription {
	timer := time.NewTimer(s.cfg.aliasWait())
	defer timer.Stop()
	for {
		s.mu.Lock()
		sub, ch := s.byAlias[alias], s.aliasCh
		s.mu.Unlock()
		if sub != nil {
			return sub
		}
		select {
		case <-ch:
		case <-timer.C:
			return nil
		case <-s.ctx.Done():
			return nil
		}
	}
}

// datagramLoop routes datagrams to subscriptions; unknown aliases are
// dropped, which the spec permits.
func (s *Session) datagramLoop() {
	defer s.wg.Done()
	for {
		b, err := s.conn.ReceiveDatagram(s.ctx)
		if err != nil {
			return
		}
		dg, err := s.codec.ParseDatagram(b)
		if err != nil {
			s.fail(err)
			return
		}
		s.mu.Lock()
		sub := s.byAlias[dg.TrackAlias]
		s.mu.Unlock()
		if sub == nil {
			continue
		}
		select {
		case sub.objects <- dg.Object:
		default:
			// Datagrams are best effort: drop rather than stall the loop.
		}
	}
}
