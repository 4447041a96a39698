package webrtc

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"
	"github.com/strata-edge/strata/transport/media"
	"github.com/strata-edge/strata/transport/msf"
)

// whipSession is one WHIP publisher feeding a hub broadcast.
type whipSession struct {
	*peer
	b   *media.Broadcast
	cat *whipCatalog // nil if the catalog track could not be made

	// Lock order: mu, then cat's.

	mu     sync.Mutex
	codecs map[string]*codec    // hub track name -> codec
	ssrcs  map[string]uint32    // hub track name -> publisher SSRC
	lastKF map[string]time.Time // last keyframe request per track
	tracks map[string]*media.Track
}

// publish answers a WHIP offer. issued orders publishers: while one is
// live for ns (over WHIP or any other path into the hub), only a newer
// token takes the session over, and the replaced publisher is closed.
func (s *Server) publish(ctx context.Context, ns media.Namespace, issued time.Time, offer string) (answer, error) {
	if _, err := parseOffer(offer, true); err != nil {
		return answer{}, err
	}
	s.mu.Lock()
	switch {
	case s.closed:
		s.mu.Unlock()
		return answer{}, ErrClosed
	case s.cfg.MaxPublishers > 0 && len(s.whip) >= s.cfg.MaxPublishers:
		s.mu.Unlock()
		return answer{}, ErrFull
	}
	s.mu.Unlock()

	pc, err := s.api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		return answer{}, fmt.Errorf("webrtc: new peer connection: %w", err)
	}
	w := &whipSession{
		peer:   newPeer(s, "whip", ns, pc),
		codecs: make(map[string]*codec),
		ssrcs:  make(map[string]uint32),
		lastKF: make(map[string]time.Time),
		tracks: make(map[string]*media.Track),
	}
	pc.OnTrack(func(tr *webrtc.TrackRemote, _ *webrtc.RTPReceiver) {
		w.goroutine(func(ctx context.Context) { w.ingest(ctx, tr) })
	})
	sdp, err := w.negotiate(offer)
	if err != nil {
		w.close()
		return answer{}, err
	}
	// Only a publisher that negotiated takes the namespace over; a bad
	// offer must not cut off the live one.
	b, prev, err := s.cfg.Hub.PublishNewer(ns, issued)
	if errors.Is(err, media.ErrPublisherLive) {
		w.close()
		s.cfg.Logger.Info("second publisher refused", "ns", ns, "live_iat", prev.Issued(), "refused_iat", issued)
		return answer{}, fmt.Errorf("%w: %s", ErrPublisherLive, ns)
	}
	if err != nil {
		w.close()
		return answer{}, fmt.Errorf("webrtc: publish %s: %w", ns, err)
	}
	if prev != nil {
		s.cfg.Logger.Warn("publisher takeover: a newer publisher token replaced the live publisher", "ns", ns, "old_iat", prev.Issued(), "new_iat", issued)
	}
	// Whoever replaces this broadcast later (a newer publisher over WHIP
	// or MoQ) ends this peer; the hub closing does too.
	w.goroutine(func(ctx context.Context) {
		select {
		case <-b.Done():
			s.spawn(w.close) // close waits for this goroutine
		case <-ctx.Done():
		}
	})
	cat, err := newWHIPCatalog(b, answeredTracks(sdp))
	if err != nil {
		s.cfg.Logger.Warn("creating catalog track", "ns", ns, "err", err)
	}
	w.mu.Lock()
	w.b, w.cat = b, cat // hubTrack, on pion's goroutines, waits for them under w.mu
	w.mu.Unlock()
	if _, err := b.CreateTrack(media.TrackInfo{Name: msf.SessionInputTrack, Kind: media.KindInput}, media.TrackOptions{FirstGroupID: uint64(time.Now().UnixMilli())}); err != nil {
		s.cfg.Logger.Warn("creating input track", "ns", ns, "err", err)
	}
	if !w.setCleanup(b.Close) {
		b.Close()
		return answer{}, ErrClosed
	}

	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		w.close()
		return answer{}, ErrClosed
	}
	s.whip[w.id] = w
	s.publishers[ns] = w
	s.m.peerWHIP.Inc()
	s.mu.Unlock()
	return answer{id: w.id, etag: w.etag, sdp: sdp}, nil
}

func (w *whipSession) codecOf(track string) *codec {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.codecs[track]
}

// hubTrack creates the hub track for a remote track on first use and
// describes it in the catalog with its negotiated codec. The group
// numbering starts at the wall clock in milliseconds so a publisher that
// reconnects never reuses group IDs (MSF).
func (w *whipSession) hubTrack(name string, kind media.TrackKind, c *codec, ssrc uint32, params webrtc.RTPCodecParameters) (*media.Track, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if t, ok := w.tracks[name]; ok {
		return t, nil
	}
	for w.b == nil {
		// OnTrack can fire before publish has stored the broadcast.
		w.mu.Unlock()
		select {
		case <-w.ctx.Done():
			w.mu.Lock()
			return nil, ErrClosed
		case <-time.After(5 * time.Millisecond):
		}
		w.mu.Lock()
	}
	t, err := w.b.CreateTrack(media.TrackInfo{Name: name, Kind: kind}, media.TrackOptions{FirstGroupID: uint64(time.Now().UnixMilli())})
	if err != nil {
		return nil, err
	}
	w.tracks[name], w.codecs[name], w.ssrcs[name] = t, c, ssrc
	if w.cat != nil {
		waiting, err := w.cat.add(name, params)
		if err != nil {
			w.s.cfg.Logger.Warn("writing whip catalog", "ns", w.ns, "err", err)
		}
		if waiting {
			w.goroutine(w.waitCatalog)
		}
	}
	return t, nil
}

// ingest turns one remote track's RTP into hub frames until the peer
// connection ends.
func (w *whipSession) ingest(ctx context.Context, tr *webrtc.TrackRemote) {
	c, err := codecFor(tr.Codec().MimeType)
	if err != nil {
		w.s.cfg.Logger.Warn("whip track not bridged", "ns", w.ns, "err", err)
		return
	}
	name, kind := msf.SessionVideoTrack, media.KindVideo
	if tr.Kind() == webrtc.RTPCodecTypeAudio {
		name, kind = msf.SessionAudioTrack, media.KindAudio
	}
	t, err := w.hubTrack(name, kind, c, uint32(tr.SSRC()), tr.Codec())
	if err != nil {
		w.s.cfg.Logger.Warn("whip track not bridged", "ns", w.ns, "err", err)
		return
	}
	absID := w.extID(tr)
	a := newAssembler(c)
	var lastAudioGroup time.Time
	for ctx.Err() == nil {
		pkt, _, err := tr.ReadRTP()
		if err != nil {
			return
		}
		now := time.Now()
		capture := now.UnixMicro()
		if absID != 0 {
			if v, ok := parseAbsCaptureTime(pkt.GetExtension(uint8(absID))); ok {
				capture = v
			}
		}
		frame, ts, lost := a.push(pkt)
		if lost && c.video {
			w.requestKeyframe(name)
		}
		if frame == nil {
			continue
		}
		key := c.keyframe(frame)
		if key && c.video && w.cat != nil {
			if width, height, ok := videoSize(c.mime, frame); ok {
				if err := w.cat.setSize(name, width, height); err != nil {
					w.s.cfg.Logger.Debug("writing whip catalog", "ns", w.ns, "err", err)
				}
			}
		}
		if !c.video {
			// Audio frames are all independent; a group per half second
			// keeps MoQ streams few while late joiners wait little.
			key = now.Sub(lastAudioGroup) >= 500*time.Millisecond
			if key {
				lastAudioGroup = now
			}
		}
		o := media.Object{
			Timestamp:     time.Duration(ts) * time.Second / time.Duration(c.clock),
			CaptureMicros: capture,
			Keyframe:      key,
			Payload:       frame,
		}
		// MoQ viewers read the capture time from LOC properties.
		props := msf.AudioProperties(capture, nil)
		if c.video {
			props = msf.VideoProperties(capture, key, nil)
		}
		o.Extensions, _ = msf.AppendProperties(nil, props, msf.KVAbsolute)
		if err := t.Append(o); err != nil {
			if errors.Is(err, media.ErrTrackClosed) {
				return
			}
			if c.video && (errors.Is(err, media.ErrNoKeyframe) || errors.Is(err, media.ErrGroupTooLarge)) {
				w.requestKeyframe(name)
			}
		}
	}
}

// extID finds the negotiated abs-capture-time extension ID, 0 if none.
func (w *whipSession) extID(tr *webrtc.TrackRemote) int {
	for _, tc := range w.pc.GetTransceivers() {
		r := tc.Receiver()
		if r == nil || r.Track() != tr {
			continue
		}
		for _, e := range r.GetParameters().HeaderExtensions {
			if strings.EqualFold(e.URI, absCaptureTimeURI) {
				return e.ID
			}
		}
	}
	return 0
}

// requestKeyframe sends a PLI for the track, at most once per interval.
func (w *whipSession) requestKeyframe(track string) {
	w.mu.Lock()
	ssrc, ok := w.ssrcs[track]
	now := time.Now()
	if !ok || now.Sub(w.lastKF[track]) < w.s.cfg.KeyframeInterval {
		w.mu.Unlock()
		return
	}
	w.lastKF[track] = now
	w.mu.Unlock()
	if err := w.pc.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: ssrc}}); err != nil {
		w.s.cfg.Logger.Debug("sending pli", "ns", w.ns, "err", err)
	}
}
