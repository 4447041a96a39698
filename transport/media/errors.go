package media

import (
	"errors"
	"fmt"
	"io"
)

var (
	// ErrTrackEnded is returned by readers once the track is closed and every
	// retained object has been delivered. It wraps io.EOF so that generic
	// stream-copying code treats it as a clean end.
	ErrTrackEnded = fmt.Errorf("media: track ended: %w", io.EOF)

	// ErrGroupDropped is returned by GroupReader.NextObject when the group was
	// evicted before the reader finished it: the subscriber fell behind the
	// retention and must abandon (reset) the group's stream.
	ErrGroupDropped = errors.New("media: group dropped: subscriber fell behind retention")

	// ErrFellBehind is returned by GroupReader.NextObject when a newer group
	// started more than the subscription's MaxLag ago: the reader abandons
	// the group (reset the stream) and NextGroup jumps to the newest one.
	// errors.Is also matches ErrGroupDropped.
	ErrFellBehind = fmt.Errorf("media: group abandoned: subscriber fell behind the newest group: %w", ErrGroupDropped)

	// ErrNoKeyframe is returned by Track.Append for a delta frame when no group
	// is open: a group must start at a keyframe, so the frame is useless.
	ErrNoKeyframe = errors.New("media: no open group: first object must be a keyframe")

	// ErrGroupOrder is returned when a group ID does not increase.
	ErrGroupOrder = errors.New("media: group ID not increasing")

	// ErrObjectOrder is returned when an object ID does not increase within
	// its group.
	ErrObjectOrder = errors.New("media: object ID not increasing")

	// ErrGroupTooLarge is returned when appending an object would make the
	// open group alone exceed the track's byte budget. The object is not
	// stored; the publisher should request a new keyframe.
	ErrGroupTooLarge = errors.New("media: group exceeds track byte budget")

	// ErrTrackClosed is returned when writing to a closed track.
	ErrTrackClosed = errors.New("media: track closed")

	// ErrTrackExists is returned when creating a track whose name is taken.
	ErrTrackExists = errors.New("media: track already exists")

	// ErrBroadcastClosed is returned when adding tracks to a closed broadcast.
	ErrBroadcastClosed = errors.New("media: broadcast closed")

	// ErrNotFound is returned when a broadcast or track is neither local nor
	// obtainable from the upstream.
	ErrNotFound = errors.New("media: not found")

	// ErrPublisherLive is returned by Hub.PublishNewer when the namespace
	// has a live local publisher at least as new as the caller.
	ErrPublisherLive = errors.New("media: namespace has a live publisher")

	// ErrHubClosed is returned by a closed Hub.
	ErrHubClosed = errors.New("media: hub closed")

	// ErrInvalidNamespace is returned for a malformed broadcast namespace.
	ErrInvalidNamespace = errors.New("media: invalid namespace")

	// ErrInvalidTrack is returned for a malformed track description.
	ErrInvalidTrack = errors.New("media: invalid track")

	// ErrWatcherClosed is returned by a Watcher after Close or Hub.Close.
	ErrWatcherClosed = errors.New("media: watcher closed")
)
