package registry

import (
	"fmt"
	"sort"
	"time"
)

// ScaleStatus is where an autoscaler decision stands.
type ScaleStatus uint8

const (
	// ScalePlanned: committed before any action, so a new leader sees it
	// and never acts on it a second time.
	ScalePlanned ScaleStatus = iota + 1
	// ScaleDone: every action succeeded (or there was none).
	ScaleDone
	// ScaleFailed: the provider refused or failed; Error says how.
	ScaleFailed
)

var scaleStatusNames = [...]string{"", "planned", "done", "failed"}

func (s ScaleStatus) String() string {
	if int(s) < len(scaleStatusNames) && s > 0 {
		return scaleStatusNames[s]
	}
	return "unknown"
}

// MaxScaleDecisions is how many decisions the registry keeps; older ones
// are dropped by the FSM, oldest first.
const MaxScaleDecisions = 500

// ScaleDecision is one round of the autoscaler for one pool, with its
// inputs, its reason, what it asked for and how that went. Memory is the
// policy's state after the round (opaque here), so a new leader resumes
// from the last decision of each pool.
type ScaleDecision struct {
	ID      string      `json:"id"`
	Pool    string      `json:"pool"`
	At      time.Time   `json:"at"`
	Current int64       `json:"current"`
	Desired int64       `json:"desired"`
	Add     int64       `json:"add"`
	Drain   []string    `json:"drain,omitempty"`
	Undrain []string    `json:"undrain,omitempty"`
	Remove  []string    `json:"remove,omitempty"`
	Reason  string      `json:"reason"`
	Inputs  string      `json:"inputs"`
	DryRun  bool        `json:"dry_run"`
	Status  ScaleStatus `json:"status"`
	Error   string      `json:"error,omitempty"`
	Memory  []byte      `json:"-"`
	Meta
}

func (d *ScaleDecision) encode(e *encoder) {
	e.string(d.ID)
	e.string(d.Pool)
	e.time(d.At)
	e.varint(d.Current)
	e.varint(d.Desired)
	e.varint(d.Add)
	e.strings(d.Drain)
	e.strings(d.Undrain)
	e.strings(d.Remove)
	e.string(d.Reason)
	e.string(d.Inputs)
	e.bool(d.DryRun)
	e.byte(byte(d.Status))
	e.string(d.Error)
	e.bytes(d.Memory)
	d.Meta.encode(e)
}

func (d *ScaleDecision) decode(dd *decoder) {
	d.ID = dd.string()
	d.Pool = dd.string()
	d.At = dd.time()
	d.Current = dd.varint()
	d.Desired = dd.varint()
	d.Add = dd.varint()
	d.Drain = dd.strings()
	d.Undrain = dd.strings()
	d.Remove = dd.strings()
	d.Reason = dd.string()
	d.Inputs = dd.string()
	d.DryRun = dd.bool()
	d.Status = ScaleStatus(dd.byte())
	d.Error = dd.string()
	d.Memory = dd.bytes()
	d.Meta.decode(dd)
}

// RecordScaleDecision commits a decision before it is acted on. A second
// record with the same ID is refused, so a retried or replayed proposal
// never makes a second decision.
type RecordScaleDecision struct{ Decision ScaleDecision }

func (*RecordScaleDecision) commandType() cmdType         { return cmdRecordScaleDecision }
func (c *RecordScaleDecision) encode(e *encoder)          { c.Decision.encode(e) }
func (c *RecordScaleDecision) decode(d *decoder, _ uint8) { c.Decision.decode(d) }
func (c *RecordScaleDecision) check(s *State) error {
	if c.Decision.ID == "" || c.Decision.Pool == "" {
		return fmt.Errorf("%w: scale decision needs an ID and a pool", ErrInvalid)
	}
	if _, ok := s.data.scaleDecisions[c.Decision.ID]; ok {
		return fmt.Errorf("scale decision %q: %w", c.Decision.ID, ErrAlreadyExists)
	}
	return nil
}
func (c *RecordScaleDecision) apply(s *State, idx uint64) (any, error) {
	if err := c.check(s); err != nil {
		return nil, err
	}
	d := c.Decision
	if d.Status == 0 {
		d.Status = ScalePlanned
	}
	d.CreateIndex, d.ModifyIndex, d.CreatedAt, d.UpdatedAt = idx, idx, d.At, d.At
	s.data.scaleDecisions[d.ID] = &d
	if n := len(s.data.scaleDecisions) - MaxScaleDecisions; n > 0 {
		old := sortedValues(s.data.scaleDecisions, func(d *ScaleDecision) string { return d.ID })
		sort.Slice(old, func(i, j int) bool { return old[i].CreateIndex < old[j].CreateIndex })
		for _, o := range old[:n] {
			delete(s.data.scaleDecisions, o.ID)
		}
	}
	return &d, nil
}

// SetScaleDecisionStatus records how a decision's actions went.
type SetScaleDecisionStatus struct {
	ID     string
	Status ScaleStatus
	Error  string
	At     time.Time
}

func (*SetScaleDecisionStatus) commandType() cmdType { return cmdSetScaleDecisionStatus }
func (c *SetScaleDecisionStatus) encode(e *encoder) {
	e.string(c.ID)
	e.byte(byte(c.Status))
	e.string(c.Error)
	e.time(c.At)
}
func (c *SetScaleDecisionStatus) decode(d *decoder, _ uint8) {
	c.ID = d.string()
	c.Status = ScaleStatus(d.byte())
	c.Error = d.string()
	c.At = d.time()
}
func (c *SetScaleDecisionStatus) check(s *State) error {
	if _, ok := s.data.scaleDecisions[c.ID]; !ok {
		return fmt.Errorf("scale decision %q: %w", c.ID, ErrNotFound)
	}
	if c.Status < ScalePlanned || c.Status > ScaleFailed {
		return fmt.Errorf("%w: scale status %d", ErrInvalid, c.Status)
	}
	return nil
}
func (c *SetScaleDecisionStatus) apply(s *State, idx uint64) (any, error) {
	if err := c.check(s); err != nil {
		return nil, err
	}
	d := *s.data.scaleDecisions[c.ID]
	d.Status, d.Error, d.ModifyIndex, d.UpdatedAt = c.Status, c.Error, idx, c.At
	s.data.scaleDecisions[d.ID] = &d
	return &d, nil
}

// ScaleDecisions returns the kept decisions, oldest first.
func (s *State) ScaleDecisions() []*ScaleDecision {
	s.mu.RLock()
	defer s.mu.RUnlock()
	out := sortedValues(s.data.scaleDecisions, func(d *ScaleDecision) string { return d.ID })
	sort.SliceStable(out, func(i, j int) bool { return out[i].CreateIndex < out[j].CreateIndex })
	return out
}

// ScaleDecision returns a decision by ID.
func (s *State) ScaleDecision(id string) (*ScaleDecision, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	d, ok := s.data.scaleDecisions[id]
	return d, ok
}
