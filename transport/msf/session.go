package msf

import "fmt"

// Track names and defaults of a Strata session broadcast.
const (
	SessionVideoTrack = "video"
	SessionAudioTrack = "audio"
	SessionInputTrack = "input"

	// InputEventType names the JSON format of viewer input events carried
	// on the input publish track.
	InputEventType = "com.strata.input.v1"

	// DefaultVideoCodec is H.264 High profile, level 4.2 (1080p60), as
	// "avc3": parameter sets travel in band, so joining at any keyframe
	// needs nothing from the catalog.
	DefaultVideoCodec = "avc3.64002a"
	// DefaultTargetLatency suits interactive sessions, in milliseconds.
	DefaultTargetLatency = 150
)

// SessionVideo describes a session's video encoder output.
type SessionVideo struct {
	Codec     string  // WebCodecs codec string; DefaultVideoCodec if empty
	Width     int64   // pixels, required
	Height    int64   // pixels, required
	Framerate float64 // frames per second, required
	Bitrate   int64   // maximum bits per second, required
}

// SessionAudio describes a session's Opus output. Zero fields take the
// usual WebRTC-compatible defaults.
type SessionAudio struct {
	SampleRate    int64  // 48000
	ChannelConfig string // "2"
	Bitrate       int64  // 128000
}

// SessionConfig describes a typical Strata session for SessionCatalog.
type SessionConfig struct {
	GeneratedAt   int64 // unix milliseconds; 0 omits it
	TargetLatency int64 // milliseconds; DefaultTargetLatency if 0
	Video         SessionVideo
	Audio         *SessionAudio // nil for a session without sound
	// NoInput omits the input publish track (view-only broadcasts).
	NoInput bool
}

// SessionCatalog builds the catalog of a Strata session: one H.264 video
// and one Opus audio track rendered together, and an input publish track on
// which the controlling viewer sends events back. Track namespaces are
// omitted so they inherit the catalog track's namespace.
func SessionCatalog(cfg SessionConfig) (*Catalog, error) {
	v := cfg.Video
	switch {
	case v.Width <= 0:
		return nil, fieldErr("video.width", ErrMissingField, "")
	case v.Height <= 0:
		return nil, fieldErr("video.height", ErrMissingField, "")
	case v.Framerate <= 0:
		return nil, fieldErr("video.framerate", ErrMissingField, "")
	case v.Bitrate <= 0:
		return nil, fieldErr("video.bitrate", ErrMissingField, "")
	}
	if v.Codec == "" {
		v.Codec = DefaultVideoCodec
	}
	latency := cfg.TargetLatency
	if latency == 0 {
		latency = DefaultTargetLatency
	}
	c := &Catalog{
		Version:     Version,
		GeneratedAt: cfg.GeneratedAt,
		Tracks: []Track{{
			Name: SessionVideoTrack, Packaging: PackagingLOC, IsLive: Ptr(true), TargetLatency: Ptr(latency),
			Role: RoleVideo, RenderGroup: Ptr[int64](1), Codec: v.Codec,
			Width: v.Width, Height: v.Height, Framerate: v.Framerate, Bitrate: v.Bitrate,
		}},
	}
	if a := cfg.Audio; a != nil {
		sr, ch, br := a.SampleRate, a.ChannelConfig, a.Bitrate
		if sr == 0 {
			sr = 48000
		}
		if ch == "" {
			ch = "2"
		}
		if br == 0 {
			br = 128000
		}
		c.Tracks = append(c.Tracks, Track{
			Name: SessionAudioTrack, Packaging: PackagingLOC, IsLive: Ptr(true), TargetLatency: Ptr(latency),
			Role: RoleAudio, RenderGroup: Ptr[int64](1), Codec: "opus",
			SampleRate: sr, ChannelConfig: ch, Bitrate: br,
		})
	}
	if !cfg.NoInput {
		c.PublishTracks = []Track{{
			Name: SessionInputTrack, Packaging: PackagingEventTimeline, EventType: InputEventType,
			IsLive: Ptr(true), Role: RoleData, MimeType: "application/json",
			Depends: []string{SessionVideoTrack},
		}}
	}
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("msf: session catalog: %w", err)
	}
	return c, nil
}
