package gossip

import (
	"errors"
	"testing"
	"time"
)

// TestLateLeaveNoticeTurnsDeadIntoLeft covers the race the notice exists
// for: memberlist declared the node dead first, the notice came after.
func TestLateLeaveNoticeTurnsDeadIntoLeft(t *testing.T) {
	n := newNode(t, "obs", []string{testKey(t)}, nil)
	now := time.Now() // StateSince too: a dead member with a zero one is pruned at the next tick
	n.mu.Lock()
	n.members["gone"] = &entry{Member: Member{Meta: testMeta("gone"), State: StateDead, StateSince: now, LoadSeq: 10}}
	n.mu.Unlock()

	stale := leaveMsg{node: "gone", seq: 9} // older than the last load: another life
	if n.applyLeave(&stale, stale.marshal(), now) || stateOf(n.Pool, "gone") != StateDead {
		t.Fatal("a notice older than the last load was applied")
	}
	msg := leaveMsg{node: "gone", seq: 10}
	if !n.applyLeave(&msg, msg.marshal(), now) {
		t.Fatal("notice not applied")
	}
	if s := stateOf(n.Pool, "gone"); s != StateLeft {
		t.Fatalf("state %v, want left", s)
	}
	waitEvent(t, n.Pool, EventLeave, "gone", time.Second)
	if n.applyLeave(&msg, msg.marshal(), now) {
		t.Fatal("duplicate notice reported as new (would be relayed forever)")
	}

	// The notice survives in push/pull so a peer that missed it learns it.
	other := newNode(t, "other", []string{testKey(t)}, nil)
	other.mu.Lock()
	other.members["gone"] = &entry{Member: Member{Meta: testMeta("gone"), State: StateDead, StateSince: now, LoadSeq: 10}}
	other.mu.Unlock()
	other.mergeState(n.localState())
	if s := stateOf(other.Pool, "gone"); s != StateLeft {
		t.Fatalf("after push/pull: %v, want left", s)
	}
}

func TestLeaveMsgRoundTrip(t *testing.T) {
	m := leaveMsg{node: "edge-1", seq: 1 << 40}
	var got leaveMsg
	if err := got.unmarshal(m.marshal()); err != nil || got != m {
		t.Fatalf("round trip: %+v, %v", got, err)
	}
	for _, bad := range [][]byte{nil, {msgLeave}, {msgLoad, 1, 'a', 1}, {msgLeave, 0, 1}} {
		if err := got.unmarshal(bad); err == nil {
			t.Fatalf("accepted %q", bad)
		}
	}
}

func TestLeaveAfterShutdown(t *testing.T) {
	n := newNode(t, "gone", []string{testKey(t)}, nil)
	if err := n.Close(crashed()); err != nil {
		t.Fatal(err)
	}
	if err := n.leave(time.Second); !errors.Is(err, ErrShutdown) {
		t.Fatalf("Leave after Shutdown: %v", err)
	}
	if err := n.UpdateMeta(testMeta("gone")); !errors.Is(err, ErrShutdown) {
		t.Fatalf("UpdateMeta after Shutdown: %v", err)
	}
}
