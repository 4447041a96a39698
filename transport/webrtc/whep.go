package webrtc

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
	"github.com/strata-edge/strata/transport/media"
	"github.com/strata-edge/strata/transport/msf"
)

// InputLabel is the data channel on which a controlling viewer sends input
// events.
const InputLabel = "input"

// maxInputMessage bounds one input event; real ones are tiny JSON.
const maxInputMessage = 16 << 10

// whepSession is one WHEP viewer.
type whepSession struct {
	*peer
	role  Role
	feeds []*feed
}

func (s *Server) view(ctx context.Context, ns media.Namespace, role Role, offer string) (answer, error) {
	desc, err := parseOffer(offer, false)
	if err != nil {
		return answer{}, err
	}
	s.mu.Lock()
	switch {
	case s.closed:
		s.mu.Unlock()
		return answer{}, ErrClosed
	case s.cfg.MaxViewers > 0 && len(s.whep) >= s.cfg.MaxViewers:
		s.mu.Unlock()
		return answer{}, ErrFull
	}
	s.mu.Unlock()

	// A broadcast may lack a track (audio-only, or a relayed publisher
	// that never sent audio, which upstream answers with a refusal rather
	// than not-found): serve what exists. A kind the offer cannot receive
	// is never subscribed: a media-less offer (the player's input channel
	// beside MoQ playback) pulls no media at all, here or upstream.
	var feeds []*feed
	var missing error
	for _, k := range []struct{ kind, track string }{{"video", msf.SessionVideoTrack}, {"audio", msf.SessionAudioTrack}} {
		if !offersReceive(desc, k.kind) {
			continue
		}
		name := k.track
		f, err := s.acquireFeed(ctx, ns, name)
		if err != nil {
			if !errors.Is(err, media.ErrNotFound) {
				s.cfg.Logger.Debug("whep track unavailable", "ns", ns, "track", name, "err", err)
			}
			if missing == nil {
				missing = err
			}
			continue
		}
		feeds = append(feeds, f)
	}
	if len(feeds) == 0 && missing != nil {
		if errors.Is(missing, ErrClosed) {
			return answer{}, ErrClosed
		}
		return answer{}, fmt.Errorf("%w: %w", ErrNotLive, missing)
	}
	// Codecs are passed through, never transcoded: a viewer that cannot
	// decode a track's codec is told so instead of getting a silent,
	// black stream; a kind it did not ask for is simply not sent.
	var wanted []*feed
	var refused []string
	for _, f := range feeds {
		switch ok, offered := offerAccepts(desc, f.c); {
		case ok:
			wanted = append(wanted, f)
		case offered != nil:
			refused = append(refused, fmt.Sprintf("%s (the offer has %s)", f.c.mime, strings.Join(offered, ", ")))
			s.releaseFeed(f)
		default:
			s.releaseFeed(f)
		}
	}
	feeds = wanted
	if len(refused) > 0 || len(feeds) == 0 && !offersData(desc) {
		for _, f := range feeds {
			s.releaseFeed(f)
		}
		if len(refused) == 0 {
			return answer{}, fmt.Errorf("%w: the offer receives none of the session's tracks", ErrUnsupportedCodec)
		}
		return answer{}, fmt.Errorf("%w: the offer cannot receive %s", ErrUnsupportedCodec, strings.Join(refused, "; "))
	}
	pc, err := s.api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		for _, f := range feeds {
			s.releaseFeed(f)
		}
		return answer{}, fmt.Errorf("webrtc: new peer connection: %w", err)
	}
	w := &whepSession{peer: newPeer(s, "whep", ns, pc), role: role, feeds: feeds}
	w.setCleanup(func() {
		for _, f := range w.feeds {
			s.releaseFeed(f)
		}
	}) // a new peer is not closing yet
	for _, f := range feeds {
		local, err := webrtc.NewTrackLocalStaticRTP(f.c.capability(), f.key.track, "strata")
		if err != nil {
			w.close()
			return answer{}, fmt.Errorf("webrtc: local track: %w", err)
		}
		sender, err := pc.AddTrack(local)
		if err != nil {
			w.close()
			return answer{}, fmt.Errorf("webrtc: add track: %w", err)
		}
		hist := &nackHistory{}
		w.goroutine(func(context.Context) { w.readRTCP(sender, local, f, hist) })
		w.goroutine(func(ctx context.Context) { w.write(ctx, local, f, hist) })
	}
	pc.OnDataChannel(w.onDataChannel)
	sdp, err := w.negotiate(offer)
	if err != nil {
		w.close()
		return answer{}, err
	}
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		w.close()
		return answer{}, ErrClosed
	}
	s.whep[w.id] = w
	s.m.peerWHEP.Inc()
	s.mu.Unlock()
	return answer{id: w.id, etag: w.etag, sdp: sdp}, nil
}

// write sends the feed to this viewer once the connection is up, so the
// first packet it gets starts a keyframe. Only the sequence number is
// ours; payloads and timestamps are the feed's, shared by every viewer.
func (w *whepSession) write(ctx context.Context, local *webrtc.TrackLocalStaticRTP, f *feed, hist *nackHistory) {
	select {
	case <-w.connected:
	case <-ctx.Done():
		return
	}
	sub := f.out.Subscribe()
	defer sub.Close()
	var b [2]byte
	_, _ = rand.Read(b[:])
	seq := binary.BigEndian.Uint16(b[:])
	video := f.c.video
	pkt := rtp.Packet{Header: rtp.Header{Version: 2}}
	for {
		o, err := sub.Next(ctx)
		if err != nil {
			if errors.Is(err, media.ErrTrackEnded) {
				// The broadcast is over; so is this viewer.
				w.s.spawn(w.close)
			}
			return
		}
		bytes := 0
		now := time.Now().UnixNano()
		h := w.holder.Load()
		if h != nil {
			h.hold()
		}
		_ = forEachPacket(o.Payload, func(p []byte, last bool) error {
			pkt.SequenceNumber = seq
			pkt.Timestamp = uint32(o.Timestamp)
			pkt.Marker = video && last
			pkt.Payload = p
			if video {
				hist.add(sentPacket{payload: p, at: now, ts: pkt.Timestamp, seq: seq, marker: pkt.Marker})
			}
			seq++
			bytes += 12 + len(p)
			return local.WriteRTP(&pkt)
		})
		if h != nil {
			h.release()
		}
		w.s.m.egress.Add(float64(bytes))
		w.s.m.egressBytes.Add(uint64(bytes))
		w.s.m.latency.Observe(time.Since(time.UnixMicro(o.CaptureMicros)).Seconds())
	}
}

// readRTCP drives the sender's interceptors (reports), answers NACKs from
// the viewer's history and forwards keyframe requests upstream.
func (w *whepSession) readRTCP(sender *webrtc.RTPSender, local *webrtc.TrackLocalStaticRTP, f *feed, hist *nackHistory) {
	for {
		pkts, _, err := sender.ReadRTCP()
		if err != nil {
			return
		}
		for _, p := range pkts {
			switch p := p.(type) {
			case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
				if f.c.video {
					f.requestKeyframe()
				}
			case *rtcp.TransportLayerNack:
				w.s.m.nacks.Inc()
				// Retransmissions leave together, like a frame.
				h := w.holder.Load()
				if h != nil {
					h.hold()
				}
				n := hist.resend(p, time.Now(), local.WriteRTP)
				if h != nil {
					h.release()
				}
				if n > 0 {
					w.s.m.resent.Add(float64(n))
				}
			}
		}
	}
}

// onDataChannel accepts the input channel from a controller and refuses it
// (closes it) for everyone else.
func (w *whepSession) onDataChannel(dc *webrtc.DataChannel) {
	if dc.Label() != InputLabel || w.role != RoleController {
		w.s.spawn(func() { _ = dc.Close() })
		return
	}
	dc.OnMessage(func(msg webrtc.DataChannelMessage) {
		if len(msg.Data) == 0 || len(msg.Data) > maxInputMessage {
			return
		}
		w.input(msg.Data)
	})
}

// input appends one input event to the broadcast's input track, creating
// the track for broadcasts that did not publish one (relayed ones).
// AppendInput keeps events in order (one group, delivered on one stream).
func (w *whepSession) input(data []byte) {
	b, ok := w.s.cfg.Hub.Broadcast(w.ns)
	if !ok {
		return
	}
	t, ok := b.Track(msf.SessionInputTrack)
	if !ok {
		var err error
		t, err = b.CreateTrack(media.TrackInfo{Name: msf.SessionInputTrack, Kind: media.KindInput}, media.TrackOptions{FirstGroupID: uint64(time.Now().UnixMilli())})
		if err != nil {
			if t, ok = b.Track(msf.SessionInputTrack); !ok {
				return
			}
		}
	}
	payload := make([]byte, len(data))
	copy(payload, data)
	_ = t.AppendInput(media.Object{CaptureMicros: time.Now().UnixMicro(), Payload: payload})
}
