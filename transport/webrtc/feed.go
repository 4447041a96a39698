package webrtc

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/strata-edge/strata/transport/media"
)

// feedKey names a hub track.
type feedKey struct {
	ns    media.Namespace
	track string
}

// feed packetizes one hub track once for all its WHEP viewers. It reads
// frames from the hub and appends them, already split into RTP payloads,
// to its own media.Track (out), keeping the hub's group and object IDs.
// Viewers subscribe to out, so they start at the newest keyframe and skip
// ahead when slow, exactly like MoQ subscribers of the hub track.
//
// An out object's payload is the frame's RTP payloads, each prefixed with
// a 2-byte length; its Timestamp holds the RTP timestamp (not a duration)
// and CaptureMicros the wall clock at which the feed read the frame, from
// which viewers measure the latency we add.
type feed struct {
	s   *Server
	key feedKey
	c   *codec
	out *media.Track

	cancel context.CancelFunc
	done   chan struct{}
	refs   int // guarded by Server.mu

	kfMu   sync.Mutex
	lastKF time.Time
}

// acquireFeed returns the running feed of a hub track, starting one if
// needed; release it with releaseFeed.
func (s *Server) acquireFeed(ctx context.Context, ns media.Namespace, track string) (*feed, error) {
	key := feedKey{ns: ns, track: track}
	s.mu.Lock()
	if f := s.feeds[key]; f != nil && !f.out.Closed() {
		f.refs++
		s.mu.Unlock()
		return f, nil
	}
	s.mu.Unlock()
	// Subscribing may ask an upstream edge for the track: never under mu.
	sub, err := s.cfg.Hub.Subscribe(ctx, ns, track)
	if err != nil {
		return nil, err
	}
	// A MoQ-published track's codec is in the broadcast's catalog; WHIP
	// publishers here are asked directly (trackCodecLocked).
	s.mu.Lock()
	local := s.publishers[ns] != nil
	s.mu.Unlock()
	var fromCatalog *codec
	if !local {
		if fromCatalog, err = s.catalogCodec(ctx, ns, track); err != nil {
			sub.Close()
			return nil, err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		sub.Close()
		return nil, ErrClosed
	}
	if f := s.feeds[key]; f != nil && !f.out.Closed() {
		sub.Close()
		f.refs++
		return f, nil
	}
	info := sub.Track().Info()
	out, err := media.NewTrack(media.TrackInfo{Name: info.Name, Kind: info.Kind}, media.TrackOptions{MaxGroups: 3})
	if err != nil {
		sub.Close()
		return nil, fmt.Errorf("webrtc: feed track: %w", err)
	}
	fctx, cancel := context.WithCancel(s.ctx)
	f := &feed{s: s, key: key, c: s.trackCodecLocked(ns, track, info.Kind, fromCatalog), out: out, cancel: cancel, done: make(chan struct{}), refs: 1}
	s.feeds[key] = f
	go f.run(fctx, sub)
	return f, nil
}

// releaseFeed drops a viewer's reference; the last one stops the feed.
func (s *Server) releaseFeed(f *feed) {
	s.mu.Lock()
	f.refs--
	last := f.refs <= 0
	if last && s.feeds[f.key] == f {
		delete(s.feeds, f.key)
	}
	s.mu.Unlock()
	if last {
		f.stop()
	}
}

func (f *feed) stop() {
	f.cancel()
	<-f.done
}

func (f *feed) run(ctx context.Context, sub *media.Subscription) {
	defer close(f.done)
	defer f.out.Close()
	defer sub.Close()
	pay := f.c.payloader()
	mtu := uint16(f.s.cfg.MTU)
	var b [4]byte
	_, _ = rand.Read(b[:])
	base := binary.BigEndian.Uint32(b[:])
	var (
		group    uint64
		inGroup  bool
		useMedia bool
	)
	for {
		o, err := sub.Next(ctx)
		if err != nil {
			return
		}
		if !inGroup || o.GroupID != group {
			if err := f.out.StartGroup(o.GroupID); err != nil {
				continue
			}
			group, inGroup = o.GroupID, true
		}
		// Prefer media time; fall back to capture time (or now) for a
		// publisher that sends none.
		var ts uint32
		useMedia = useMedia || o.Timestamp != 0
		switch {
		case useMedia:
			ts = base + uint32(int64(o.Timestamp)*int64(f.c.clock)/int64(time.Second))
		case o.CaptureMicros != 0:
			ts = base + uint32(o.CaptureMicros*int64(f.c.clock)/1e6)
		default:
			ts = base + uint32(time.Now().UnixMicro()*int64(f.c.clock)/1e6)
		}
		chunks := pay.Payload(mtu, o.Payload)
		n := 0
		for _, c := range chunks {
			n += 2 + len(c)
		}
		buf := make([]byte, 0, n)
		for _, c := range chunks {
			buf = binary.BigEndian.AppendUint16(buf, uint16(len(c)))
			buf = append(buf, c...)
		}
		err = f.out.AppendObject(media.Object{
			ID: o.ID, Timestamp: time.Duration(ts), CaptureMicros: time.Now().UnixMicro(),
			Keyframe: o.ID == 0 || o.Keyframe, Payload: buf,
		})
		if errors.Is(err, media.ErrGroupTooLarge) {
			f.requestKeyframe()
		}
	}
}

// requestKeyframe forwards a viewer's PLI/FIR upstream, at most once per
// KeyframeInterval for the whole track however many viewers ask.
func (f *feed) requestKeyframe() {
	f.kfMu.Lock()
	now := time.Now()
	if now.Sub(f.lastKF) < f.s.cfg.KeyframeInterval {
		f.kfMu.Unlock()
		return
	}
	f.lastKF = now
	f.kfMu.Unlock()
	f.s.requestKeyframe(f.key.ns, f.key.track)
}

// forEachPacket calls fn with each RTP payload of a feed object.
func forEachPacket(payload []byte, fn func(p []byte, last bool) error) error {
	for len(payload) >= 2 {
		n := int(binary.BigEndian.Uint16(payload))
		if 2+n > len(payload) {
			return nil
		}
		p := payload[2 : 2+n]
		payload = payload[2+n:]
		if err := fn(p, len(payload) < 2); err != nil {
			return err
		}
	}
	return nil
}
