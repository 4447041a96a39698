package relay

import (
	"time"

	"github.com/strata-edge/strata/internal/token"
	"github.com/strata-edge/strata/transport/media"
)

// inputTrack is the track on which viewers' input flows back to the
// session: written by the edge (the WHEP data channel of controllers),
// read by the session's own publisher.
const inputTrack = "input"

// subscribeRole is the role a SUBSCRIBE must hold for a track: the input
// track is read by the session's publisher only (viewers must not see
// each other's input); everything else by viewers.
func subscribeRole(track string) token.Role {
	if track == inputTrack {
		return token.RolePublisher
	}
	return token.RoleViewer
}

// createInputTrack makes the input track of a broadcast ingested here.
// Input flows from viewers to the publisher, so there is nothing to pull
// from upstream: the track starts empty and controllers append to it.
func (r *Relay) createInputTrack(b *media.Broadcast, name string) error {
	opts := r.opts.Track
	opts.FirstGroupID = uint64(time.Now().UnixMilli())
	_, err := b.CreateTrack(media.TrackInfo{Name: name, Kind: media.KindInput}, opts)
	if err != nil {
		if _, ok := b.Track(name); ok {
			return nil // a controller created it first
		}
	}
	return err
}
