package media

import "fmt"

// TrackKind says what a track carries; it drives defaults such as priority.
type TrackKind uint8

// Track kinds of a Strata broadcast.
const (
	KindVideo TrackKind = iota + 1
	KindAudio
	KindCatalog
	KindInput
)

// String returns the lower-case kind name used in logs and metrics labels.
func (k TrackKind) String() string {
	switch k {
	case KindVideo:
		return "video"
	case KindAudio:
		return "audio"
	case KindCatalog:
		return "catalog"
	case KindInput:
		return "input"
	default:
		return fmt.Sprintf("kind(%d)", uint8(k))
	}
}

// maxTrackName bounds names so they fit a MoQ full track name.
const maxTrackName = 1024

// TrackInfo describes a track.
type TrackInfo struct {
	Name string
	Kind TrackKind
	// Priority is the MoQ publisher priority: lower values are sent first.
	Priority uint8
}

// Validate reports whether the description is usable.
func (i TrackInfo) Validate() error {
	switch {
	case i.Name == "":
		return fmt.Errorf("%w: name is empty", ErrInvalidTrack)
	case len(i.Name) > maxTrackName:
		return fmt.Errorf("%w: name longer than %d bytes", ErrInvalidTrack, maxTrackName)
	case i.Kind < KindVideo || i.Kind > KindInput:
		return fmt.Errorf("%w: kind %d unknown", ErrInvalidTrack, i.Kind)
	}
	return nil
}

// TrackOptions bounds how much history a track keeps and where its group
// numbering starts. A zero field means the default. The newest group is
// always kept.
type TrackOptions struct {
	// MaxGroups is the most groups retained, the open one included.
	MaxGroups int
	// MaxBytes bounds payload plus extension bytes (plus a small per-object
	// overhead) over all retained groups.
	MaxBytes int64
	// FirstGroupID is the ID Append gives the first group. A publisher that
	// restarts must not reuse group IDs (MSF), so ingest sets this from the
	// wall clock in milliseconds; zero starts at zero.
	FirstGroupID uint64
	// Frame, if set, is called once per object by Append and AppendObject,
	// before the object is stored and outside the track's lock, to set
	// shared per-object encodings such as Object.Framed. It must not depend
	// on GroupID or ID, which are assigned afterwards. Broadcast.CreateTrack
	// fills it from HubOptions.Frame when nil.
	Frame func(o *Object)
}

// Default retention: enough for a few GOPs of a high-bitrate game stream,
// so a subscriber briefly stalled by congestion can catch up without a skip.
const (
	DefaultMaxGroups = 8
	DefaultMaxBytes  = 16 << 20
)

func (r TrackOptions) withDefaults() TrackOptions {
	if r.MaxGroups <= 0 {
		r.MaxGroups = DefaultMaxGroups
	}
	if r.MaxBytes <= 0 {
		r.MaxBytes = DefaultMaxBytes
	}
	return r
}
