package gossip

import (
	"time"

	"github.com/hashicorp/memberlist"
	"github.com/hashicorp/serf/coordinate"
)

// coordEvery: every how many load broadcasts carry the coordinate. It
// changes slowly, so every 5th (and the first) keeps loads small while every
// node still learns every coordinate within seconds.
const coordEvery = 5

// maxStateEntries bounds a decoded push/pull state.
const maxStateEntries = 4096

// loop is the Pool's one goroutine: broadcast the local load, notice
// suspect transitions (memberlist has no callback for them), refresh
// gauges and prune old dead members. It ends when stop is closed.
func (p *Pool) loop() {
	t := time.NewTicker(p.cfg.LoadInterval)
	defer t.Stop()
	last := time.Time{}
	for {
		last = time.Now()
		p.tick(last)
		select {
		case <-p.stop:
			return
		case <-t.C:
		case <-p.changed:
			// A changed load goes out at once, but at most every
			// minChangeGap so a jittery source cannot flood the pool.
			if wait := minChangeGap - time.Since(last); wait > 0 {
				select {
				case <-p.stop:
					return
				case <-time.After(wait):
				}
			}
		}
	}
}

// minChangeGap bounds how often load changes are broadcast between ticks.
const minChangeGap = 100 * time.Millisecond

func (p *Pool) tick(now time.Time) {
	if p.left.Load() {
		p.pollStates(now)
		return
	}
	p.mu.Lock()
	first := p.members[p.id] == nil || p.members[p.id].LoadSeq == 0
	p.seq++
	msg := loadMsg{node: p.id, seq: p.seq, load: p.load}
	if first || p.seq%coordEvery == 0 {
		msg.coord = p.coords.GetCoordinate()
	}
	raw := msg.marshal()
	if e := p.members[p.id]; e != nil {
		e.Load, e.LoadSeq, e.LoadAt, e.raw = msg.load, msg.seq, now, raw
		e.Coord = p.coords.GetCoordinate()
	}
	p.mu.Unlock()
	p.queueLoad(p.id, raw)
	p.pollStates(now)
}

// suspectAfter is three missed load broadcasts, at least one second.
func (p *Pool) suspectAfter() time.Duration { return max(3*p.cfg.LoadInterval, time.Second) }

func (p *Pool) queueLoad(node string, raw []byte) {
	p.queue.QueueBroadcast(&loadBroadcast{node: node, msg: raw})
}

// pollStates marks members suspect when their loads stop arriving and
// alive again when they resume. memberlist v0.5.4 does not expose its own
// suspect state (Node.State is never filled in), and load silence is the
// signal placement cares about anyway: it precedes memberlist's dead
// verdict by about a second with the LAN profile.
func (p *Pool) pollStates(now time.Time) {
	suspectAfter := p.suspectAfter()
	var evs []Event
	p.mu.Lock()
	for id, e := range p.members {
		if id == p.id {
			continue
		}
		heard := e.LoadAt
		if e.StateSince.After(heard) {
			heard = e.StateSince
		}
		silent := now.Sub(heard) > suspectAfter
		switch {
		case e.State == StateAlive && silent:
			e.State, e.StateSince = StateSuspect, now
			evs = append(evs, Event{Type: EventSuspect, Member: e.snapshot(), At: now})
		case e.State == StateSuspect && !silent:
			e.State, e.StateSince = StateAlive, now
			evs = append(evs, Event{Type: EventAlive, Member: e.snapshot(), At: now})
		}
	}
	counts := map[State]int{}
	for id, e := range p.members {
		if (e.State == StateDead || e.State == StateLeft) && now.Sub(e.StateSince) > p.cfg.DeadRetention {
			delete(p.members, id)
			continue
		}
		counts[e.State]++
	}
	p.mu.Unlock()
	for _, s := range []State{StateAlive, StateSuspect, StateDead, StateLeft} {
		p.m.members.WithLabelValues(s.String()).Set(float64(counts[s]))
	}
	for _, ev := range evs {
		p.emit(ev)
	}
}

// applyLoad stores a received load if it is newer than what we have and
// reports whether it was. Loads about unknown, dead or left nodes, and
// about ourselves, are ignored.
func (p *Pool) applyLoad(msg *loadMsg, raw []byte, now time.Time) bool {
	if msg.node == p.id {
		return false
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	e := p.members[msg.node]
	if e == nil || e.State == StateDead || e.State == StateLeft || msg.seq <= e.LoadSeq {
		return false
	}
	e.Load, e.LoadSeq, e.LoadAt, e.raw = msg.load, msg.seq, now, raw
	if msg.coord != nil {
		e.Coord = msg.coord
	}
	if e.leaveRaw != nil && msg.seq > e.leaveSeq {
		// A node stops broadcasting loads once it leaves, so this is a
		// new life and the old notice no longer applies.
		e.leaveFloor = max(e.leaveFloor, e.leaveSeq)
		e.leaveSeq, e.leaveRaw = 0, nil
	}
	return true
}

func (p *Pool) setCoord(id string, c *coordinate.Coordinate) {
	p.mu.Lock()
	if e := p.members[id]; e != nil && e.State != StateDead && e.State != StateLeft {
		e.Coord = c
	}
	p.mu.Unlock()
}

// localState is the push/pull payload: every load received within
// LoadStaleAfter, so a joining node has the whole table at once. A relayed
// load is at most LoadStaleAfter older than its receive time there.
func (p *Pool) localState() []byte {
	now := time.Now()
	var raws [][]byte
	p.mu.Lock()
	for _, e := range p.members {
		if e.raw != nil && (e.State == StateAlive || e.State == StateSuspect) &&
			now.Sub(e.LoadAt) <= LoadStaleAfter {
			raws = append(raws, e.raw)
		}
		if e.leaveRaw != nil { // until the member is pruned, so every peer learns it
			raws = append(raws, e.leaveRaw)
		}
	}
	p.mu.Unlock()
	e := enc{}
	e.u8(msgState)
	e.uvarint(uint64(len(raws)))
	for _, r := range raws {
		e.bytes(r)
	}
	return e.b
}

// mergeState applies a peer's push/pull payload. Loads are not
// re-broadcast: push/pull is anti-entropy, broadcasts carry freshness.
func (p *Pool) mergeState(buf []byte) {
	if err := p.decodeState(buf, time.Now()); err != nil {
		p.m.badMessages.Inc()
		p.log.Debug("dropping push/pull state", "err", err)
	}
}

func (p *Pool) decodeState(buf []byte, now time.Time) error {
	if len(buf) == 0 {
		return nil // a peer with nothing to say
	}
	d := dec{b: buf}
	if t := d.u8(); t != msgState {
		return ErrBadMessage
	}
	n := d.uvarint()
	if d.err != nil || n > maxStateEntries {
		return ErrBadMessage
	}
	for range n {
		raw := d.raw(maxLoadMsg)
		if d.err != nil {
			return ErrBadMessage
		}
		if len(raw) > 0 && raw[0] == msgLeave {
			var msg leaveMsg
			if err := msg.unmarshal(raw); err != nil {
				return err
			}
			p.applyLeave(&msg, append([]byte(nil), raw...), now)
			continue
		}
		var msg loadMsg
		if err := msg.unmarshal(raw); err != nil {
			return err
		}
		p.applyLoad(&msg, append([]byte(nil), raw...), now)
	}
	return nil
}

// onNode handles memberlist's join/update/leave callbacks. memberlist may
// hold its node lock here, so this never calls back into memberlist.
func (p *Pool) onNode(n *memberlist.Node, typ EventType) {
	var meta Meta
	if err := meta.UnmarshalBinary(n.Meta); err != nil {
		p.m.badMessages.Inc()
		p.log.Warn("undecodable node metadata", "peer", n.Name, "addr", n.Address(), "err", err)
		meta = Meta{ID: n.Name}
	}
	now := time.Now()
	p.mu.Lock()
	e := p.members[n.Name]
	if e == nil {
		e = &entry{}
		p.members[n.Name] = e
	}
	prev := e.State
	e.Meta, e.Addr = meta, n.Address()
	switch typ {
	case EventJoin:
		if prev == StateDead || prev == StateLeft {
			// Back from the dead: a late notice of the earlier life must
			// not mark this one as leaving.
			e.leaveFloor = max(e.leaveFloor, e.leaveSeq, e.LoadSeq)
			e.leaveSeq, e.leaveRaw = 0, nil
		}
		e.State = StateAlive
	case EventLeave:
		e.State = StateLeft
	case EventFailed:
		e.State = StateDead
		if meta.Leaving || e.leaveRaw != nil {
			e.State, typ = StateLeft, EventLeave
		}
	}
	if e.State != prev {
		e.StateSince = now
	}
	snap := e.snapshot()
	alive := 0
	for _, x := range p.members {
		if x.State == StateAlive || x.State == StateSuspect {
			alive++
		}
	}
	p.numAlive.Store(int32(alive))
	p.mu.Unlock()
	if typ == EventLeave || typ == EventFailed {
		p.coords.ForgetNode(n.Name)
	}
	p.log.Debug("member "+typ.String(), "peer", n.Name, "addr", snap.Addr)
	p.emit(Event{Type: typ, Member: snap, At: now})
}

// emit never blocks memberlist: a full channel drops the event (counted).
func (p *Pool) emit(ev Event) {
	p.evMu.Lock()
	defer p.evMu.Unlock()
	if p.evClosed {
		return
	}
	select {
	case p.events <- ev:
	default:
		p.m.eventsDropped.Inc()
		p.log.Warn("event consumer lagging; event dropped", "event", ev.Type.String(), "peer", ev.Member.Meta.ID)
	}
}
