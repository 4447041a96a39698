package gossip

import (
	"fmt"
	"time"

	"github.com/hashicorp/memberlist"
)

// msgLeave is a user message: a node announces a graceful leave.
//
// memberlist v0.5.4 reports a leave and a failure through the same
// NotifyLeave callback and never fills in Node.State, and the Leaving flag
// in the metadata is not enough on its own: memberlist's own leave message
// (a "dead" about itself) replaces the metadata update in every broadcast
// queue it meets, so a peer can learn of the departure without ever seeing
// Leaving, and a peer that missed the leave message declares the node dead
// by probing. The notice travels in our own queue, which memberlist's
// messages cannot invalidate, is relayed by every receiver and carried in
// push/pull, and turns a dead member into a left one when it arrives late.
const msgLeave = 'X'

// leaveMsg says node left gracefully after its load sequence seq, which
// ties the notice to one life of the node: a restarted node's loads carry
// higher sequence numbers and cancel it.
type leaveMsg struct {
	node string
	seq  uint64
}

func (m *leaveMsg) marshal() []byte {
	e := enc{b: make([]byte, 0, 32)}
	e.u8(msgLeave)
	e.str(m.node)
	e.uvarint(m.seq)
	return e.b
}

func (m *leaveMsg) unmarshal(b []byte) error {
	if len(b) > maxLoadMsg {
		return fmt.Errorf("%w: leave message of %d bytes", ErrBadMessage, len(b))
	}
	d := dec{b: b}
	if t := d.u8(); d.err == nil && t != msgLeave {
		return fmt.Errorf("%w: type %#x is not a leave", ErrBadMessage, t)
	}
	var out leaveMsg
	out.node = d.str(maxStr)
	out.seq = d.uvarint()
	if d.err != nil {
		return fmt.Errorf("%w: leave: %w", ErrBadMessage, d.err)
	}
	if out.node == "" {
		return fmt.Errorf("%w: leave without node", ErrBadMessage)
	}
	*m = out
	return nil
}

// queueLeaveNotice broadcasts this node's leave notice; the returned
// channel closes once memberlist has sent it as often as it sends anything
// (or dropped it), which is what leave waits for.
func (p *Pool) queueLeaveNotice() <-chan struct{} {
	p.mu.Lock()
	raw := (&leaveMsg{node: p.id, seq: p.seq}).marshal()
	p.mu.Unlock()
	done := make(chan struct{})
	p.queue.QueueBroadcast(&noticeBroadcast{name: "leave/" + p.id, msg: raw, done: done})
	return done
}

// applyLeave records a leave notice and reports whether it was new (and so
// worth relaying). A member already declared dead becomes left, with an
// EventLeave, so a late notice corrects a misclassified failure.
func (p *Pool) applyLeave(msg *leaveMsg, raw []byte, now time.Time) bool {
	if msg.node == p.id {
		return false
	}
	var ev *Event
	p.mu.Lock()
	e := p.members[msg.node]
	if e == nil || msg.seq < e.LoadSeq || msg.seq <= e.leaveFloor || (e.leaveRaw != nil && msg.seq <= e.leaveSeq) {
		p.mu.Unlock()
		return false
	}
	e.leaveSeq, e.leaveRaw = msg.seq, raw
	if e.State == StateDead {
		e.State, e.StateSince = StateLeft, now
		ev = &Event{Type: EventLeave, Member: e.snapshot(), At: now}
	}
	p.mu.Unlock()
	if ev != nil {
		p.log.Debug("member failure was a graceful leave", "peer", msg.node)
		p.emit(*ev)
	}
	return true
}

// noticeBroadcast is a leave notice queued for (re)transmission; done, if
// set, is closed when memberlist is finished with it.
type noticeBroadcast struct {
	name string
	msg  []byte
	done chan struct{}
}

func (b *noticeBroadcast) Name() string    { return b.name }
func (b *noticeBroadcast) Message() []byte { return b.msg }
func (b *noticeBroadcast) Finished() {
	if b.done != nil {
		close(b.done)
	}
}

var _ memberlist.NamedBroadcast = (*noticeBroadcast)(nil)

func (b *noticeBroadcast) Invalidates(o memberlist.Broadcast) bool {
	nb, ok := o.(memberlist.NamedBroadcast)
	return ok && nb.Name() == b.name
}
