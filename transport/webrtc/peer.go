package webrtc

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/webrtc/v4"
	"github.com/strata-edge/strata/transport/media"
)

// errPreconditionFailed marks an If-Match that does not name the current
// ICE session.
var errPreconditionFailed = errors.New("webrtc: etag mismatch")

// session is a WHIP or WHEP resource.
type session interface {
	base() *peer
	close()
}

// answer is what POST returns.
type answer struct {
	id, etag, sdp string
}

// peer is what WHIP and WHEP resources share: the peer connection, the
// ICE session's entity tag, and the goroutines they own.
type peer struct {
	s    *Server
	id   string
	kind string
	ns   media.Namespace
	pc   *webrtc.PeerConnection

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu       sync.Mutex // guards etag, stopping, cleanup and ICE updates
	etag     string
	stopping bool
	cleanup  func() // kind-specific release, run once after goroutines end

	// holder batches writes to the peer's current UDP address; nil
	// until connected, or when the path is not batchable.
	holder atomic.Pointer[heldAddr]

	once      sync.Once
	connected chan struct{} // closed once DTLS is up and tracks are bound
}

func newPeer(s *Server, kind string, ns media.Namespace, pc *webrtc.PeerConnection) *peer {
	ctx, cancel := context.WithCancel(s.ctx)
	p := &peer{s: s, id: randomID(), kind: kind, ns: ns, pc: pc, ctx: ctx, cancel: cancel, etag: newETag(), connected: make(chan struct{})}
	var connOnce sync.Once
	if s.batch != nil {
		pc.SCTP().Transport().ICETransport().OnSelectedCandidatePairChange(p.setPath)
	}
	pc.OnConnectionStateChange(func(st webrtc.PeerConnectionState) {
		if st == webrtc.PeerConnectionStateConnected {
			if s.batch != nil && p.holder.Load() == nil {
				if pair, err := pc.SCTP().Transport().ICETransport().GetSelectedCandidatePair(); err == nil {
					p.setPath(pair)
				}
			}
			connOnce.Do(func() { close(p.connected) })
		}
		if st == webrtc.PeerConnectionStateFailed || st == webrtc.PeerConnectionStateClosed {
			// Not inline: pion must not be waited on from its own callback.
			s.spawn(p.close)
		}
	})
	return p
}

func (p *peer) base() *peer { return p }

// setPath points the write batching at the selected pair's remote UDP
// address (ICE may switch pairs, e.g. on restart).
func (p *peer) setPath(pair *webrtc.ICECandidatePair) {
	if pair == nil || pair.Remote == nil || pair.Remote.Protocol != webrtc.ICEProtocolUDP {
		p.holder.Store(nil)
		return
	}
	ip, err := netip.ParseAddr(pair.Remote.Address)
	if err != nil {
		p.holder.Store(nil)
		return
	}
	p.holder.Store(p.s.batch.holder(netip.AddrPortFrom(ip, pair.Remote.Port)))
}

// goroutine runs fn as a goroutine the peer owns, unless it is stopping.
func (p *peer) goroutine(fn func(ctx context.Context)) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopping {
		return false
	}
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		fn(p.ctx)
	}()
	return true
}

// setCleanup installs the release close runs. It reports false, leaving
// the release to the caller, when the peer is already closing: pion's
// callbacks may close a peer while its handler is still setting it up.
func (p *peer) setCleanup(f func()) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopping {
		return false
	}
	p.cleanup = f
	return true
}

// close stops the goroutines, closes the peer connection and releases the
// resource; it is idempotent and safe from any goroutine but the peer's own.
func (p *peer) close() {
	p.once.Do(func() {
		p.mu.Lock()
		p.stopping = true
		p.mu.Unlock()
		p.cancel()
		if err := p.pc.GracefulClose(); err != nil {
			p.s.cfg.Logger.Debug("closing peer connection", "id", p.id, "err", err)
		}
		p.wg.Wait()
		p.mu.Lock()
		cleanup := p.cleanup
		p.mu.Unlock()
		if cleanup != nil {
			cleanup()
		}
		p.s.forget(p)
	})
}

// negotiate applies the offer and returns the answer with our candidates
// in it, so clients that do not trickle still connect.
func (p *peer) negotiate(offer string) (string, error) {
	if err := p.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer}); err != nil {
		return "", fmt.Errorf("%w: %w", ErrBadSDP, err)
	}
	return p.answer()
}

func (p *peer) answer() (string, error) {
	ans, err := p.pc.CreateAnswer(nil)
	if err != nil {
		return "", fmt.Errorf("%w: %w", ErrBadSDP, err)
	}
	gathered := webrtc.GatheringCompletePromise(p.pc)
	if err := p.pc.SetLocalDescription(ans); err != nil {
		return "", fmt.Errorf("webrtc: set local description: %w", err)
	}
	t := time.NewTimer(p.s.cfg.GatherTimeout)
	defer t.Stop()
	select {
	case <-gathered:
	case <-t.C:
	case <-p.ctx.Done():
		return "", ErrClosed
	}
	return p.pc.LocalDescription().SDP, nil
}

// patch applies a trickle or ICE-restart fragment. It returns the answer
// fragment and new entity tag for a restart, or "" for plain trickle.
func (p *peer) patch(f frag, ifMatch string) (string, string, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.stopping {
		return "", "", ErrNotFound
	}
	if ifMatch != "*" && ifMatch != p.etag {
		return "", "", errPreconditionFailed
	}
	remote := p.pc.RemoteDescription()
	if remote == nil {
		return "", "", fmt.Errorf("%w: no remote description", ErrBadSDP)
	}
	curUfrag, curPwd := iceCreds(remote.SDP)
	if f.ufrag != "" && (f.ufrag != curUfrag || f.pwd != curPwd) {
		if err := p.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: restartOffer(remote.SDP, f)}); err != nil {
			return "", "", fmt.Errorf("%w: ice restart: %w", ErrBadSDP, err)
		}
		desc, err := p.answer()
		if err != nil {
			return "", "", err
		}
		p.addCandidates(f)
		p.etag = newETag()
		return answerFrag(desc), p.etag, nil
	}
	p.addCandidates(f)
	return "", "", nil
}

// addCandidates adds remote candidates; ones we cannot use are dropped
// silently, as RFC 9725 asks.
func (p *peer) addCandidates(f frag) {
	for _, c := range f.cands {
		if err := p.pc.AddICECandidate(c); err != nil {
			p.s.cfg.Logger.Debug("ignoring remote candidate", "id", p.id, "err", err)
		}
	}
}

func randomID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func newETag() string { return `"` + randomID() + `"` }
