package gossip

import (
	"fmt"
	"math"
	"time"

	"github.com/hashicorp/serf/coordinate"
)

// State is a member's liveness as this node sees it.
type State uint8

// States. Left is a graceful leave (Close); Dead is a failure detected by probes.
const (
	StateAlive State = iota + 1
	StateSuspect
	StateDead
	StateLeft
)

var stateNames = [...]string{StateAlive: "alive", StateSuspect: "suspect", StateDead: "dead", StateLeft: "left"}

func (s State) String() string {
	if int(s) < len(stateNames) && stateNames[s] != "" {
		return stateNames[s]
	}
	return fmt.Sprintf("state(%d)", uint8(s))
}

// Member is a snapshot of one node as this node sees it.
type Member struct {
	Meta       Meta
	Addr       string // gossip address, host:port
	State      State
	StateSince time.Time
	Load       Load
	LoadSeq    uint64
	LoadAt     time.Time              // when this node received Load; zero if never
	Coord      *coordinate.Coordinate // nil until learnt (ping ack or load message)
}

// LoadAge is how long ago this node received the member's load; effectively
// infinite when no load was ever received.
func (m Member) LoadAge() time.Duration {
	if m.LoadAt.IsZero() {
		return time.Duration(math.MaxInt64)
	}
	return time.Since(m.LoadAt)
}

// Stale reports whether the load is older than LoadStaleAfter, in which case
// placement should not trust it.
func (m Member) Stale() bool { return m.LoadAge() > LoadStaleAfter }

// EventType says what happened to a member.
type EventType uint8

// Event types. Leave and Failed distinguish a graceful departure from a
// failure, which the registry handles differently (a failed edge's sessions
// are re-placed at once).
const (
	EventJoin    EventType = iota + 1 // became alive (new, or back after dead/left)
	EventUpdate                       // metadata changed (e.g. draining)
	EventSuspect                      // failed probes; may still recover
	EventAlive                        // recovered from suspect
	EventLeave                        // left gracefully
	EventFailed                       // declared dead
)

var eventNames = [...]string{EventJoin: "join", EventUpdate: "update", EventSuspect: "suspect",
	EventAlive: "alive", EventLeave: "leave", EventFailed: "failed"}

func (t EventType) String() string {
	if int(t) < len(eventNames) && eventNames[t] != "" {
		return eventNames[t]
	}
	return fmt.Sprintf("event(%d)", uint8(t))
}

// Event is a membership change. Events are hints for prompt reaction; a
// consumer that falls behind loses events (counted in
// strata_gossip_events_dropped_total) and must reconcile from Members(),
// which is level-triggered truth.
type Event struct {
	Type   EventType
	Member Member
	At     time.Time
}
