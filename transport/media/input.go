package media

import (
	"errors"
	"time"
)

// Bounds of one group of an input track (AppendInput): small enough that
// the open group, which retention never evicts, stays cheap, and that a
// subscriber joining at the newest group replays little.
const (
	InputGroupObjects = 256
	InputGroupBytes   = 64 << 10
	InputGroupAge     = time.Second
)

// AppendInput adds one controller input event to an input track. Events
// are consecutive objects of one group, so a relay delivers them in order
// on one subgroup stream (draft-14: a subgroup's objects arrive in order);
// events on groups of their own would travel on concurrent streams and
// could overtake each other, turning a keydown and keyup into a stuck key.
// A new group starts only when the open one reaches InputGroupObjects,
// InputGroupBytes or InputGroupAge, or has been ended, so every group
// stays bounded. Every writer of input goes through here.
func (t *Track) AppendInput(o Object) error {
	o.Keyframe = t.rollInput(o.size())
	err := t.Append(o)
	if errors.Is(err, ErrNoKeyframe) || errors.Is(err, ErrGroupTooLarge) && !o.Keyframe {
		// The open group ended or filled meanwhile: start the next one.
		o.Keyframe = true
		err = t.Append(o)
	}
	return err
}

// rollInput reports whether an input event of sz bytes must start a new
// group.
func (t *Track) rollInput(sz int64) bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	g := t.openLocked()
	return g == nil || g.count() >= InputGroupObjects || g.bytes+sz > InputGroupBytes ||
		monoNow()-g.opened > int64(InputGroupAge)
}
