package testsrc

import (
	"context"
	"encoding/json"
	"errors"
	"sync"
	"time"

	"github.com/strata-edge/strata/transport/moq"
	"github.com/strata-edge/strata/transport/moq/wire"
	"github.com/strata-edge/strata/transport/msf"
)

// inputRetry is how long the source waits before asking for the input
// track again after the edge refused or ended it.
const inputRetry = 250 * time.Millisecond

// maxInputEvent bounds one event's JSON; players send tiny objects.
const maxInputEvent = 16 << 10

// maxRecentInput bounds the log of recent events (RecentInput).
const maxRecentInput = 64

// InputEvent is the part of a com.strata.input.v1 event the source reads.
type InputEvent struct {
	Type    string  `json:"type"`
	Key     string  `json:"key,omitempty"`
	Code    string  `json:"code,omitempty"`
	X       float64 `json:"x,omitempty"`
	Y       float64 `json:"y,omitempty"`
	Button  int     `json:"button,omitempty"`
	Pointer string  `json:"pointer,omitempty"`
	T       int64   `json:"t,omitempty"` // wall-clock ms at the browser
}

// InputStats counts the viewer input events the source received.
type InputStats struct {
	Events    int64 // well-formed events
	Keys      int64 // keydown and keyup
	Pointer   int64 // pointer events from a mouse or pen
	Touch     int64 // pointer events from a touch screen
	Wheel     int64
	Malformed int64
	Last      InputEvent
	// LastDelay is the latest event's age when it arrived (browser and
	// source clocks; meaningful on one host).
	LastDelay time.Duration
}

// InputRecord is one well-formed event the source received, with its
// location on the edge's input track.
type InputRecord struct {
	Group, Object uint64
	Event         InputEvent
}

// inputCounter is the Publisher's InputStats and recent events under a
// lock.
type inputCounter struct {
	seen inputSeen // readInput's alone, no lock

	mu     sync.Mutex
	st     InputStats
	recent []InputRecord // oldest first, at most maxRecentInput
}

// Input reports the input events received so far.
func (p *Publisher) Input() InputStats {
	p.input.mu.Lock()
	defer p.input.mu.Unlock()
	return p.input.st
}

// RecentInput returns the latest well-formed events received (up to 64),
// in the order the source processed them (the edge's track order, see
// inputOrder), so tests can check the order events kept on the way.
func (p *Publisher) RecentInput() []InputRecord {
	p.input.mu.Lock()
	defer p.input.mu.Unlock()
	return append([]InputRecord(nil), p.input.recent...)
}

// readInput subscribes to the session's input track on the edge (the
// publisher token grants it) and counts and logs every event, resubscribing
// after refusals, until ctx or the session ends. A subscription starts at
// the newest group; events of it processed before are skipped (inputSeen).
func (p *Publisher) readInput(ctx context.Context) {
	for {
		err := p.readInputOnce(ctx)
		if ctx.Err() != nil || errors.Is(err, moq.ErrSessionClosed) {
			return
		}
		p.log.Debug("input track unavailable; retrying", "err", err)
		select {
		case <-ctx.Done():
			return
		case <-p.sess.Context().Done():
			return
		case <-time.After(inputRetry):
		}
	}
}

func (p *Publisher) readInputOnce(ctx context.Context) error {
	sub, err := p.sess.Subscribe(ctx, wire.Subscribe{Namespace: p.ns.Tuple(), TrackName: msf.SessionInputTrack,
		Forward: true, GroupOrder: wire.GroupOrderAscending, Filter: wire.Filter{Type: wire.FilterNextGroupStart}, Params: p.params})
	if err != nil {
		return err
	}
	defer func() { _ = sub.Close() }()
	p.log.Info("reading viewer input")
	seen := &p.input.seen
	seen.subscribed()
	var ord inputOrder
	for {
		rctx, cancel := ctx, context.CancelFunc(func() {})
		if ord.waiting() {
			rctx, cancel = context.WithTimeout(ctx, inputReorderWait)
		}
		o, err := sub.ReadObject(rctx)
		cancel()
		switch {
		case err == nil:
			if !seen.keep(o) {
				o.Payload = nil // still places its group in order, never processed
			}
			ord.add(o)
		case ctx.Err() == nil && errors.Is(err, context.DeadlineExceeded):
			ord.giveUp() // the older group's end never came (a reset stream)
		default:
			return err
		}
		for _, o := range ord.ready() {
			seen.processed(o.GroupID, o.ID)
			p.countInput(o.GroupID, o.ID, o.Payload)
		}
	}
}

func (p *Publisher) countInput(group, id uint64, payload []byte) {
	var ev InputEvent
	if len(payload) > maxInputEvent || json.Unmarshal(payload, &ev) != nil || ev.Type == "" {
		p.input.mu.Lock()
		p.input.st.Malformed++
		p.input.mu.Unlock()
		return
	}
	var delay time.Duration
	if ev.T > 0 {
		delay = time.Since(time.UnixMilli(ev.T))
	}
	p.input.mu.Lock()
	st := &p.input.st
	st.Events++
	switch ev.Type {
	case "keydown", "keyup":
		st.Keys++
	case "wheel":
		st.Wheel++
	case "pointerdown", "pointerup", "pointermove":
		if ev.Pointer == "touch" {
			st.Touch++
		} else {
			st.Pointer++
		}
	}
	st.Last, st.LastDelay = ev, delay
	if len(p.input.recent) == maxRecentInput {
		p.input.recent = append(p.input.recent[:0], p.input.recent[1:]...)
	}
	p.input.recent = append(p.input.recent, InputRecord{Group: group, Object: id, Event: ev})
	n := st.Events
	p.input.mu.Unlock()
	p.log.Info("input event", "n", n, "type", ev.Type, "key", ev.Key, "x", ev.X, "y", ev.Y, "pointer", ev.Pointer, "delay", delay)
}
