package relay

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/strata-edge/strata/transport/media"
	"github.com/strata-edge/strata/transport/moq"
	"github.com/strata-edge/strata/transport/moq/wire"
)

// remote is the one MoQ connection to another edge, shared by every
// track relayed from it.
type remote struct {
	src  Source
	s    *moq.Session
	refs int
}

// Upstream is the media.Upstream of the relay's hub: broadcasts ingested
// here pull the track from their publisher; others are relayed from the
// edge the Locator names.
func (r *Relay) Upstream(ctx context.Context, b *media.Broadcast, track string) error {
	if !b.Remote() {
		return r.ingestTrack(ctx, b, track)
	}
	return r.relayTrack(ctx, b, track)
}

func (r *Relay) relayTrack(ctx context.Context, b *media.Broadcast, name string) error {
	if r.opts.Locator == nil {
		return ErrNoLocator
	}
	src, err := r.opts.Locator(ctx, b.Namespace())
	if err != nil {
		return fmt.Errorf("relay: locate %s: %w", b.Namespace(), err)
	}
	rm, sub, err := r.subscribeUpstream(ctx, src, b.Namespace(), name)
	if err != nil {
		return err
	}
	t, err := b.CreateTrack(media.TrackInfo{Name: name, Kind: kindOf(name)}, r.opts.Track)
	if err != nil {
		_ = sub.Close()
		r.release(rm)
		return err
	}
	r.startInputWatch()
	r.m.upstreams.Inc()
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		defer r.m.upstreams.Dec()
		r.runUpstream(b, t, src, rm, sub)
	}()
	return nil
}

// subscribeUpstream gets the shared connection to src and subscribes to
// one track on it, presenting the relay token.
func (r *Relay) subscribeUpstream(ctx context.Context, src Source, ns media.Namespace, name string) (*remote, *moq.Subscription, error) {
	rm, err := r.acquire(ctx, src)
	if err != nil {
		return nil, nil, err
	}
	req := wire.Subscribe{Namespace: ns.Tuple(), TrackName: name, Forward: true,
		GroupOrder: wire.GroupOrderAscending, Filter: wire.Filter{Type: wire.FilterLargestObject}}
	if tok, err := r.relayToken(); err != nil {
		r.release(rm)
		return nil, nil, err
	} else if tok != nil {
		p, err := moq.TokenParam(tok)
		if err != nil {
			r.release(rm)
			return nil, nil, err
		}
		req.Params = wire.Parameters{p}
	}
	sub, err := rm.s.Subscribe(ctx, req)
	if err != nil {
		r.release(rm)
		return nil, nil, err
	}
	return rm, sub, nil
}

func (r *Relay) relayToken() ([]byte, error) {
	if r.opts.RelayToken == nil {
		return nil, nil
	}
	return r.opts.RelayToken()
}

// acquire returns the live connection to src, dialing it if needed, and
// takes a reference. The dial is mutual TLS with the cluster
// certificates (dialTLS): the relay token goes in CLIENT_SETUP only once
// the handshake has shown the server is the edge src names.
func (r *Relay) acquire(ctx context.Context, src Source) (*remote, error) {
	tc, err := r.dialTLS(src)
	if err != nil {
		return nil, err
	}
	r.dialMu.Lock()
	defer r.dialMu.Unlock()
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil, ErrClosed
	}
	rm := r.remotes[src]
	if rm != nil && rm.s.Err() == nil {
		rm.refs++
		r.mu.Unlock()
		return rm, nil
	}
	r.mu.Unlock()
	tok, err := r.relayToken()
	if err != nil {
		return nil, err
	}
	cfg := r.opts.MoQ
	cfg.AuthToken = tok
	s, err := moq.DialQUIC(ctx, src.Addr, tc, nil, cfg)
	if err != nil {
		return nil, err
	}
	rm = &remote{src: src, s: s, refs: 1}
	r.mu.Lock()
	old := r.remotes[src]
	r.remotes[src] = rm
	r.mu.Unlock()
	if old != nil {
		// Dead already; its users hold references and release later.
		_ = old.s.Close()
	}
	return rm, nil
}

// release drops a reference; the last one closes the connection.
func (r *Relay) release(rm *remote) {
	r.mu.Lock()
	rm.refs--
	last := rm.refs == 0
	if last && r.remotes[rm.src] == rm {
		delete(r.remotes, rm.src)
	}
	r.mu.Unlock()
	if last {
		_ = rm.s.Close()
	}
}

// RemoteConnections reports how many edges the relay is connected to.
func (r *Relay) RemoteConnections() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.remotes)
}

// runUpstream feeds t from the upstream subscription, re-subscribing with
// backoff when the upstream is lost, until the track has had no viewers
// for Linger, the upstream ends the track, or the relay closes.
func (r *Relay) runUpstream(b *media.Broadcast, t *media.Track, src Source, rm *remote, sub *moq.Subscription) {
	name := t.Info().Name
	ctx, cancel := context.WithCancel(r.ctx)
	defer cancel()
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		r.watchIdle(ctx, t, cancel)
	}()
	defer func() {
		if rm != nil {
			r.release(rm)
		}
		if cur, ok := b.Track(name); ok && cur == t {
			b.RemoveTrack(name)
		}
		if b.Remote() && onlyInput(b) {
			// Input written here has no one left to come from.
			b.Close()
		}
	}()
	backoff := r.opts.RetryMin
	for {
		err := feed(ctx, t, sub)
		_ = sub.Close()
		if ctx.Err() != nil {
			return
		}
		var re *moq.RequestError
		if errors.As(err, &re) && errors.Is(err, moq.ErrSubscriptionDone) {
			return // the upstream ended the track
		}
		r.log.Info("upstream lost, retrying", "addr", src.Addr, "node", src.NodeID, "namespace", b.Namespace().String(), "track", name, "err", err)
		r.release(rm)
		rm = nil
		for {
			select {
			case <-time.After(backoff):
			case <-ctx.Done():
				return
			}
			backoff = min(2*backoff, r.opts.RetryMax)
			var serr error
			rm, sub, serr = r.subscribeUpstream(ctx, src, b.Namespace(), name)
			if serr == nil {
				backoff = r.opts.RetryMin
				break
			}
			var rej *moq.RequestError
			if errors.As(serr, &rej) && errors.Is(serr, moq.ErrSubscribeRejected) {
				return // the upstream no longer has it
			}
		}
	}
}

// watchIdle cancels once t has had no subscribers for Linger.
func (r *Relay) watchIdle(ctx context.Context, t *media.Track, cancel context.CancelFunc) {
	tick := time.NewTicker(max(r.opts.Linger/8, 10*time.Millisecond))
	defer tick.Stop()
	var idleSince time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.Done():
			cancel()
			return
		case now := <-tick.C:
			if t.Stats().Subscribers > 0 {
				idleSince = time.Time{}
				continue
			}
			if idleSince.IsZero() {
				idleSince = now
			} else if now.Sub(idleSince) >= r.opts.Linger {
				cancel()
				return
			}
		}
	}
}
