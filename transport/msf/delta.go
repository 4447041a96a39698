package msf

import (
	"encoding/json"
	"fmt"
	"slices"
)

// members returns the JSON members a track would be encoded with.
func (t *Track) members() (map[string]json.RawMessage, error) {
	b, err := json.Marshal(t)
	if err != nil {
		return nil, err
	}
	var m map[string]json.RawMessage
	err = json.Unmarshal(b, &m)
	return m, err
}

// opMembers returns the members operation track j carries: as parsed when
// the operation came from the wire (so explicit zeros override), else as
// the struct encodes.
func (op *DeltaOp) opMembers(j int) (map[string]json.RawMessage, error) {
	if op.raw != nil && j < len(op.raw) {
		return op.raw[j], nil
	}
	return op.Tracks[j].members()
}

// Apply returns the independent catalog that results from applying the
// delta update d to c. Operations apply in order; each sees the result of
// the previous one. A track in an operation is matched by name, and by
// namespace too when the operation gives one. c and d are not modified.
func (c *Catalog) Apply(d *Catalog) (*Catalog, error) {
	if c.IsDelta() {
		return nil, fmt.Errorf("%w: base catalog", ErrNotDelta)
	}
	if !d.IsDelta() {
		return nil, fmt.Errorf("%w: update", ErrNotDelta)
	}
	if err := d.Validate(); err != nil {
		return nil, err
	}
	out := *c
	out.Tracks = slices.Clone(c.Tracks)
	if d.GeneratedAt != 0 {
		out.GeneratedAt = d.GeneratedAt
	}
	for i := range d.DeltaUpdate {
		op := &d.DeltaUpdate[i]
		for j := range op.Tracks {
			path := fmt.Sprintf("%s[%d].tracks[%d]", fDeltaUpdate, i, j)
			if err := out.applyOne(op, j, path); err != nil {
				return nil, err
			}
		}
	}
	if err := out.Validate(); err != nil {
		return nil, fmt.Errorf("msf: catalog after delta update: %w", err)
	}
	return &out, nil
}

func (c *Catalog) applyOne(op *DeltaOp, j int, path string) error {
	t := op.Tracks[j]
	switch op.Op {
	case OpAdd:
		if c.find(t.Namespace, t.Name) >= 0 {
			return fieldErr(path+".name", ErrDuplicateTrack, fmt.Sprintf("%.64q", t.Name))
		}
		c.Tracks = append(c.Tracks, t)
	case OpRemove:
		k := c.find(t.Namespace, t.Name)
		if k < 0 {
			return fieldErr(path+".name", ErrUnknownTrack, fmt.Sprintf("%.64q", t.Name))
		}
		c.Tracks = slices.Delete(c.Tracks, k, k+1)
	case OpClone, OpUpdate:
		parent, parentNS := t.ParentName, t.ParentNamespace
		if parent == "" { // update identified by name, as in the draft's example
			parent, parentNS = t.Name, t.Namespace
		}
		k := c.find(parentNS, parent)
		if k < 0 {
			return fieldErr(path+".parentName", ErrUnknownTrack, fmt.Sprintf("%.64q", parent))
		}
		merged, err := mergeTrack(&c.Tracks[k], op, j)
		if err != nil {
			return fieldErr(path, ErrInvalidField, err.Error())
		}
		if op.Op == OpUpdate {
			merged.Name, merged.Namespace = c.Tracks[k].Name, c.Tracks[k].Namespace
			c.Tracks[k] = merged
			return nil
		}
		if c.find(merged.Namespace, merged.Name) >= 0 {
			return fieldErr(path+".name", ErrDuplicateTrack, fmt.Sprintf("%.64q", merged.Name))
		}
		c.Tracks = append(c.Tracks, merged)
	}
	return nil
}

// mergeTrack overlays the members of operation track j onto base.
func mergeTrack(base *Track, op *DeltaOp, j int) (Track, error) {
	m, err := base.members()
	if err != nil {
		return Track{}, err
	}
	over, err := op.opMembers(j)
	if err != nil {
		return Track{}, err
	}
	for k, v := range over {
		if k == "parentName" || k == "parentNamespace" {
			continue
		}
		m[k] = v
	}
	b, err := json.Marshal(m)
	if err != nil {
		return Track{}, err
	}
	var t Track
	if err := json.Unmarshal(b, &t); err != nil {
		return Track{}, err
	}
	return t, nil
}

// find returns the index of the track named name, restricted to namespace
// ns when ns is not empty, or -1.
func (c *Catalog) find(ns, name string) int {
	return slices.IndexFunc(c.Tracks, func(t Track) bool {
		return t.Name == name && (ns == "" || t.Namespace == ns)
	})
}
