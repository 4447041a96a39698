package testsrc

import (
	"context"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/strata-edge/strata/transport/media"
	"github.com/strata-edge/strata/transport/msf"
)

// audioGroupPackets is how many 20 ms Opus packets make an audio group
// (0.5 s).
const audioGroupPackets = 25

// Source loops a Clip in real time into three media tracks: the MSF
// catalog (one object), video (a group per keyframe) and audio (a group
// per 0.5 s). Every media object carries LOC properties with its capture
// wall-clock time in microseconds. Group IDs start at the wall clock in
// milliseconds and keep increasing across loops, so a restarted source
// never reuses them.
type Source struct {
	clip    *Clip
	now     func() time.Time
	catalog *media.Track
	video   *media.Track
	audio   *media.Track

	videoFrames atomic.Int64
	audioFrames atomic.Int64
}

// SourceOptions configures a Source; zero values mean the defaults.
type SourceOptions struct {
	// Now is the clock for capture timestamps and pacing; nil is time.Now.
	Now func() time.Time
	// NoInput leaves the input publish track out of the catalog.
	NoInput bool
}

// NewSource returns a Source for clip whose catalog track already holds
// the catalog. Run produces the media.
func NewSource(clip *Clip, opts SourceOptions) (*Source, error) {
	if opts.Now == nil {
		opts.Now = time.Now
	}
	cat, err := msf.SessionCatalog(msf.SessionConfig{
		GeneratedAt: opts.Now().UnixMilli(),
		Video: msf.SessionVideo{Codec: clip.Codec, Width: ClipWidth, Height: ClipHeight,
			Framerate: ClipFramerate, Bitrate: clipVideoBitrate},
		Audio:   &msf.SessionAudio{SampleRate: clipSampleRate, ChannelConfig: clipChannels, Bitrate: clipAudioBitrate},
		NoInput: opts.NoInput,
	})
	if err != nil {
		return nil, fmt.Errorf("testsrc: catalog: %w", err)
	}
	catJSON, err := cat.Marshal()
	if err != nil {
		return nil, fmt.Errorf("testsrc: catalog: %w", err)
	}
	first := media.TrackOptions{FirstGroupID: uint64(opts.Now().UnixMilli())}
	s := &Source{clip: clip, now: opts.Now}
	if s.catalog, err = media.NewTrack(media.TrackInfo{Name: msf.CatalogTrackName, Kind: media.KindCatalog}, media.TrackOptions{MaxGroups: 1}); err != nil {
		return nil, fmt.Errorf("testsrc: %w", err)
	}
	if s.video, err = media.NewTrack(media.TrackInfo{Name: msf.SessionVideoTrack, Kind: media.KindVideo, Priority: 1}, first); err != nil {
		return nil, fmt.Errorf("testsrc: %w", err)
	}
	if s.audio, err = media.NewTrack(media.TrackInfo{Name: msf.SessionAudioTrack, Kind: media.KindAudio, Priority: 0}, first); err != nil {
		return nil, fmt.Errorf("testsrc: %w", err)
	}
	if err := s.catalog.Append(media.Object{Keyframe: true, Payload: catJSON, CaptureMicros: opts.Now().UnixMicro()}); err != nil {
		return nil, fmt.Errorf("testsrc: catalog: %w", err)
	}
	return s, nil
}

// Track returns the source's track with the given name, if any.
func (s *Source) Track(name string) (*media.Track, bool) {
	switch name {
	case msf.CatalogTrackName:
		return s.catalog, true
	case msf.SessionVideoTrack:
		return s.video, true
	case msf.SessionAudioTrack:
		return s.audio, true
	}
	return nil, false
}

// VideoFrames and AudioFrames count the objects Run has appended.
func (s *Source) VideoFrames() int64 { return s.videoFrames.Load() }

// AudioFrames counts the audio objects Run has appended.
func (s *Source) AudioFrames() int64 { return s.audioFrames.Load() }

// Run appends the clip's frames at their real-time pace, looping, until
// ctx ends; then it closes the tracks and returns nil. A track error is
// returned after the tracks are closed.
func (s *Source) Run(ctx context.Context) error {
	defer s.catalog.Close()
	defer s.video.Close()
	defer s.audio.Close()
	const videoPeriod = time.Second / ClipFramerate
	const audioPeriod = AudioPacketDuration * time.Millisecond
	start := s.now()
	var vn, an int64 // frames emitted so far, over all loops
	timer := time.NewTimer(0)
	defer timer.Stop()
	for {
		vAt := start.Add(time.Duration(vn) * videoPeriod)
		aAt := start.Add(time.Duration(an) * audioPeriod)
		next := min(vAt.UnixNano(), aAt.UnixNano())
		if d := time.Duration(next - s.now().UnixNano()); d > 0 {
			timer.Reset(d)
			select {
			case <-ctx.Done():
				return nil
			case <-timer.C:
			}
		} else if ctx.Err() != nil {
			return nil
		}
		// Each frame is stamped with its own slot, not the time the loop
		// got to it: a late wake-up emits several frames whose capture
		// times must still increase.
		now := s.now()
		for !vAt.After(now) {
			if err := s.appendVideo(int(vn%int64(len(s.clip.Video))), vAt.UnixMicro()); err != nil {
				return err
			}
			vn++
			vAt = start.Add(time.Duration(vn) * videoPeriod)
		}
		for !aAt.After(now) {
			if err := s.appendAudio(int(an%int64(len(s.clip.Audio))), an, aAt.UnixMicro()); err != nil {
				return err
			}
			an++
			aAt = start.Add(time.Duration(an) * audioPeriod)
		}
	}
}

func (s *Source) appendVideo(i int, captureMicros int64) error {
	key := s.clip.Keyframe[i]
	ext, err := msf.AppendProperties(nil, msf.VideoProperties(captureMicros, key, nil), msf.KVAbsolute)
	if err != nil {
		return fmt.Errorf("testsrc: video properties: %w", err)
	}
	if err := s.video.Append(media.Object{Keyframe: key, CaptureMicros: captureMicros,
		Payload: s.clip.Video[i], Extensions: ext}); err != nil {
		return fmt.Errorf("testsrc: video frame %d: %w", i, err)
	}
	s.videoFrames.Add(1)
	return nil
}

func (s *Source) appendAudio(i int, n, captureMicros int64) error {
	ext, err := msf.AppendProperties(nil, msf.AudioProperties(captureMicros, nil), msf.KVAbsolute)
	if err != nil {
		return fmt.Errorf("testsrc: audio properties: %w", err)
	}
	if err := s.audio.Append(media.Object{Keyframe: n%audioGroupPackets == 0, CaptureMicros: captureMicros,
		Payload: s.clip.Audio[i], Extensions: ext}); err != nil {
		return fmt.Errorf("testsrc: audio packet %d: %w", i, err)
	}
	s.audioFrames.Add(1)
	return nil
}
