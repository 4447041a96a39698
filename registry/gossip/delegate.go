package gossip

import (
	"time"

	"github.com/hashicorp/memberlist"
)

// delegate adapts memberlist's callback interfaces to the Pool. It is a
// separate type so these methods do not clutter Pool's API.
type delegate struct{ p *Pool }

var (
	_ memberlist.Delegate      = delegate{}
	_ memberlist.EventDelegate = delegate{}
	_ memberlist.PingDelegate  = delegate{}
)

func (d delegate) NodeMeta(limit int) []byte {
	b := *d.p.metaBytes.Load()
	if len(b) > limit { // refused earlier; never hand memberlist an oversized meta
		return nil
	}
	return b
}

func (d delegate) NotifyMsg(b []byte) {
	d.p.m.userMsgsRecv.Inc()
	d.p.m.userBytesRecv.Add(float64(len(b)))
	if len(b) == 0 {
		d.p.m.badMessages.Inc()
		return
	}
	raw := append([]byte(nil), b...)
	switch b[0] {
	case msgLoad:
		var msg loadMsg
		if err := msg.unmarshal(b); err != nil {
			d.p.m.badMessages.Inc()
			d.p.log.Debug("dropping gossip message", "err", err)
			return
		}
		if d.p.applyLoad(&msg, raw, time.Now()) {
			// Re-broadcast newer loads: memberlist only retransmits a message
			// from its origin a few times, which alone would not reach 50
			// nodes quickly. The queue keeps one entry per node, so only the
			// newest load of each node is forwarded.
			d.p.queueLoad(msg.node, raw)
		}
	case msgLeave:
		var msg leaveMsg
		if err := msg.unmarshal(b); err != nil {
			d.p.m.badMessages.Inc()
			d.p.log.Debug("dropping gossip message", "err", err)
			return
		}
		if d.p.applyLeave(&msg, raw, time.Now()) {
			d.p.queue.QueueBroadcast(&noticeBroadcast{name: "leave/" + msg.node, msg: raw})
		}
	default:
		d.p.m.badMessages.Inc()
	}
}

func (d delegate) GetBroadcasts(overhead, limit int) [][]byte {
	msgs := d.p.queue.GetBroadcasts(overhead, limit)
	for _, b := range msgs {
		d.p.m.userMsgsSent.Inc()
		d.p.m.userBytesSent.Add(float64(len(b)))
	}
	return msgs
}

func (d delegate) LocalState(join bool) []byte { return d.p.localState() }

func (d delegate) MergeRemoteState(buf []byte, join bool) { d.p.mergeState(buf) }

func (d delegate) NotifyJoin(n *memberlist.Node)   { d.p.onNode(n, EventJoin) }
func (d delegate) NotifyUpdate(n *memberlist.Node) { d.p.onNode(n, EventUpdate) }

// NotifyLeave cannot use n.State (memberlist v0.5.4 never fills it in: the
// state lives in its private nodeState), so a leave is graceful when the
// node's last metadata carried Leaving or its leave notice arrived
// (leave.go); a notice arriving later turns the failure into a leave.
func (d delegate) NotifyLeave(n *memberlist.Node) { d.p.onNode(n, EventFailed) }

func (d delegate) AckPayload() []byte { return marshalCoord(d.p.coords.GetCoordinate()) }

func (d delegate) NotifyPingComplete(other *memberlist.Node, rtt time.Duration, payload []byte) {
	d.p.m.probeRTT.Observe(rtt.Seconds())
	c, ok := unmarshalCoord(payload)
	if !ok {
		return
	}
	if _, err := d.p.coords.Update(other.Name, c, rtt); err != nil {
		d.p.log.Debug("vivaldi update rejected", "node", other.Name, "err", err)
		return
	}
	d.p.setCoord(other.Name, c)
}

// loadBroadcast is one node's load queued for (re)transmission. Its Name is
// the node, so a newer load replaces an older one still in the queue.
type loadBroadcast struct {
	node string
	msg  []byte
}

var _ memberlist.NamedBroadcast = (*loadBroadcast)(nil)

func (b *loadBroadcast) Name() string    { return "load/" + b.node }
func (b *loadBroadcast) Message() []byte { return b.msg }
func (b *loadBroadcast) Finished()       {}
func (b *loadBroadcast) Invalidates(o memberlist.Broadcast) bool {
	nb, ok := o.(memberlist.NamedBroadcast)
	return ok && nb.Name() == b.Name()
}
