package webrtc

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"

	"github.com/strata-edge/strata/transport/media"
	"github.com/strata-edge/strata/transport/msf"
)

// catalogGrace is how long a WHIP broadcast's first catalog waits for the
// rest of the negotiated tracks once one has arrived: a publisher that
// negotiated audio but never sends it still gets a catalog.
const catalogGrace = time.Second

// Nominal bitrates a WHIP catalog states: WHIP declares none, and MSF
// requires one per media track. They are upper estimates, not limits.
const (
	whipVideoBitrate = 8_000_000
	whipAudioBitrate = 128_000
)

// whipCatalog writes the MSF catalog of a WHIP broadcast, so MoQ players
// (Strata's and any MSF player) can play what a WHIP peer publishes. It
// names each remote track with the codec string the peer negotiated, adds
// the picture size once a key frame shows it, and writes the whole
// catalog as a new group on every change (the track keeps only the
// newest), so a player joining at any time reads one complete catalog.
type whipCatalog struct {
	track  *media.Track
	expect int // audio and video sections the answer accepts

	mu      sync.Mutex
	tracks  map[string]msf.Track // by hub track name
	started bool                 // the first catalog is out
}

// newWHIPCatalog creates the broadcast's catalog track; expect is how
// many media tracks the first catalog waits for.
func newWHIPCatalog(b *media.Broadcast, expect int) (*whipCatalog, error) {
	t, err := b.CreateTrack(media.TrackInfo{Name: msf.CatalogTrackName, Kind: media.KindCatalog},
		media.TrackOptions{MaxGroups: 1, FirstGroupID: uint64(time.Now().UnixMilli())})
	if err != nil {
		return nil, fmt.Errorf("webrtc: catalog track: %w", err)
	}
	return &whipCatalog{track: t, expect: expect, tracks: make(map[string]msf.Track)}, nil
}

// add describes a new hub track from its negotiated codec. It reports
// whether the first catalog still waits for other tracks.
func (c *whipCatalog) add(name string, p webrtc.RTPCodecParameters) (waiting bool, err error) {
	t := msf.Track{Name: name, Packaging: msf.PackagingLOC, IsLive: msf.Ptr(true),
		TargetLatency: msf.Ptr[int64](msf.DefaultTargetLatency), RenderGroup: msf.Ptr[int64](1),
		Codec: catalogCodecOf(p)}
	if strings.HasPrefix(strings.ToLower(p.MimeType), "audio/") {
		t.Role, t.Bitrate, t.SampleRate = msf.RoleAudio, whipAudioBitrate, int64(p.ClockRate)
		t.ChannelConfig = opusChannels(p.SDPFmtpLine)
	} else {
		t.Role, t.Bitrate = msf.RoleVideo, whipVideoBitrate
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.tracks[name] = t
	if !c.started && len(c.tracks) < c.expect {
		return true, nil
	}
	return false, c.writeLocked()
}

// flush writes the first catalog with the tracks there are, if it is
// still waiting.
func (c *whipCatalog) flush() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.started {
		return nil
	}
	return c.writeLocked()
}

// setSize records a video track's picture size and rewrites the catalog
// when it changed.
func (c *whipCatalog) setSize(name string, width, height int64) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	t, ok := c.tracks[name]
	if !ok || (t.Width == width && t.Height == height) {
		return nil
	}
	t.Width, t.Height = width, height
	c.tracks[name] = t
	if !c.started {
		return nil // the first write will carry it
	}
	return c.writeLocked()
}

// writeLocked appends the whole catalog as a new group; c.mu is held.
func (c *whipCatalog) writeLocked() error {
	cat := &msf.Catalog{Version: msf.Version, GeneratedAt: time.Now().UnixMilli()}
	// Video first, then audio: the order players look for them in.
	for _, name := range []string{msf.SessionVideoTrack, msf.SessionAudioTrack} {
		if t, ok := c.tracks[name]; ok {
			cat.Tracks = append(cat.Tracks, t)
		}
	}
	if len(cat.Tracks) == 0 {
		return nil
	}
	cat.PublishTracks = []msf.Track{{
		Name: msf.SessionInputTrack, Packaging: msf.PackagingEventTimeline, EventType: msf.InputEventType,
		IsLive: msf.Ptr(true), Role: msf.RoleData, MimeType: "application/json",
	}}
	if _, ok := c.tracks[msf.SessionVideoTrack]; ok {
		cat.PublishTracks[0].Depends = []string{msf.SessionVideoTrack}
	}
	if err := cat.Validate(); err != nil {
		return fmt.Errorf("webrtc: whip catalog: %w", err)
	}
	js, err := cat.Marshal()
	if err != nil {
		return fmt.Errorf("webrtc: whip catalog: %w", err)
	}
	c.started = true
	return c.track.Append(media.Object{Keyframe: true, Payload: js, CaptureMicros: time.Now().UnixMicro()})
}

// catalogCodecOf is the WebCodecs codec string of a negotiated codec:
// H.264 as "avc3" (WebRTC carries parameter sets in band) with the
// fmtp's profile-level-id, VP9 and AV1 with the fmtp's profile (and AV1's
// level and tier), at 8 bits unless the profile implies more.
func catalogCodecOf(p webrtc.RTPCodecParameters) string {
	f := fmtpParams(p.SDPFmtpLine)
	switch strings.ToLower(p.MimeType) {
	case strings.ToLower(webrtc.MimeTypeH264):
		pl := strings.ToLower(f["profile-level-id"])
		if _, err := strconv.ParseUint(pl, 16, 32); err != nil || len(pl) != 6 {
			pl = "42000a" // RFC 6184: Baseline, level 1, when absent
		}
		return "avc3." + pl
	case strings.ToLower(webrtc.MimeTypeVP8):
		return "vp8"
	case strings.ToLower(webrtc.MimeTypeVP9):
		profile := fmtpInt(f, "profile-id", 0, 3)
		depth := 8
		if profile >= 2 {
			depth = 10
		}
		// Level 4.1 covers 1080p60; the fmtp carries none.
		return fmt.Sprintf("vp09.%02d.41.%02d", profile, depth)
	case strings.ToLower(webrtc.MimeTypeAV1):
		profile := fmtpInt(f, "profile", 0, 2)
		level := fmtpInt(f, "level-idx", 5, 31)
		tier := "M"
		if fmtpInt(f, "tier", 0, 1) == 1 {
			tier = "H"
		}
		depth := 8
		if profile == 2 {
			depth = 10
		}
		return fmt.Sprintf("av01.%d.%02d%s.%02d", profile, level, tier, depth)
	case strings.ToLower(webrtc.MimeTypeOpus):
		return "opus"
	}
	return strings.ToLower(strings.TrimPrefix(strings.TrimPrefix(p.MimeType, "video/"), "audio/"))
}

// opusChannels is "2" when the peer said it sends stereo, else "1".
func opusChannels(fmtp string) string {
	f := fmtpParams(fmtp)
	if f["sprop-stereo"] == "1" || f["stereo"] == "1" {
		return "2"
	}
	return "1"
}

// fmtpParams splits an a=fmtp parameter list (key=value;key=value).
func fmtpParams(line string) map[string]string {
	m := map[string]string{}
	for kv := range strings.SplitSeq(line, ";") {
		k, v, _ := strings.Cut(strings.TrimSpace(kv), "=")
		if k != "" {
			m[strings.ToLower(k)] = strings.TrimSpace(v)
		}
	}
	return m
}

// fmtpInt reads a small integer fmtp parameter, def when absent or out
// of [0, hi].
func fmtpInt(f map[string]string, key string, def, hi int) int {
	v, err := strconv.Atoi(f[key])
	if err != nil || v < 0 || v > hi {
		return def
	}
	return v
}

// answeredTracks counts the audio and video sections an answer accepts
// (port not 0, not inactive): how many tracks a WHIP peer will send.
func answeredTracks(answer string) int {
	var d sdp.SessionDescription
	if err := d.UnmarshalString(answer); err != nil {
		return 1
	}
	n := 0
	for _, m := range d.MediaDescriptions {
		if m.MediaName.Media != "audio" && m.MediaName.Media != "video" || m.MediaName.Port.Value == 0 {
			continue
		}
		if _, inactive := m.Attribute("inactive"); inactive {
			continue
		}
		n++
	}
	return max(n, 1)
}

// videoSize reads the picture size of a key frame where the codec shows
// it plainly (H.264's SPS, VP8's frame header).
func videoSize(mime string, key []byte) (w, h int64, ok bool) {
	switch strings.ToLower(mime) {
	case strings.ToLower(webrtc.MimeTypeH264):
		return msf.H264Size(key)
	case strings.ToLower(webrtc.MimeTypeVP8):
		return msf.VP8Size(key)
	}
	return 0, 0, false
}

// waitCatalog writes the first catalog after catalogGrace if the other
// negotiated tracks have not come by then.
func (w *whipSession) waitCatalog(ctx context.Context) {
	t := time.NewTimer(catalogGrace)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
		if err := w.cat.flush(); err != nil {
			w.s.cfg.Logger.Warn("writing whip catalog", "ns", w.ns, "err", err)
		}
	}
}
