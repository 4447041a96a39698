package relay

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"

	"github.com/quic-go/quic-go"

	"github.com/strata-edge/strata/internal/pki"
	"github.com/strata-edge/strata/transport/media"
	"github.com/strata-edge/strata/transport/moq"
	"github.com/strata-edge/strata/transport/moq/wire"
)

// Relay is an edge's MoQ server bound to a media.Hub.
type Relay struct {
	opts   options
	auth   Authorizer
	log    *slog.Logger
	hub    *media.Hub
	ownHub bool
	m      *metrics

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	dialMu     sync.Mutex // serializes dials; taken before mu
	mu         sync.Mutex
	publishers map[media.Namespace]*publisher
	remotes    map[Source]*remote
	peers      map[*moq.Session]pki.Identity // sessions from verified cluster edges
	inputOnce  sync.Once                     // starts watchInput (input.go)
	listeners  []*moq.Listener
	closed     bool
}

// New returns a relay; call Listen to serve and Close to stop.
func New(cfg Config, deps Deps) (*Relay, error) {
	opts := options{Config: cfg, Deps: deps}
	if err := opts.validate(); err != nil {
		return nil, err
	}
	opts = opts.withDefaults()
	auth, err := newAuthorizer(opts)
	if err != nil {
		return nil, fmt.Errorf("relay: %w", err)
	}
	m, err := newMetrics(opts.Registerer)
	if err != nil {
		return nil, fmt.Errorf("relay: metrics: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &Relay{
		opts: opts, auth: auth, log: opts.Logger.With("component", "edge-moq"), m: m,
		ctx: ctx, cancel: cancel,
		publishers: map[media.Namespace]*publisher{},
		remotes:    map[Source]*remote{},
		peers:      map[*moq.Session]pki.Identity{},
	}
	r.hub = opts.Hub
	if r.hub == nil {
		r.hub = media.NewHub(media.HubOptions{Upstream: r.Upstream, Frame: frameObject})
		r.ownHub = true
	}
	r.opts.MoQ.Logger = opts.Logger
	r.opts.MoQ.AuthToken = nil
	r.opts.MoQ.AcceptPublish = true // relays PUBLISH input upstream (input.go)
	return r, nil
}

// Stats reports the relay's live counters.
func (r *Relay) Stats() Stats {
	r.mu.Lock()
	pubs := len(r.publishers)
	r.mu.Unlock()
	return Stats{EgressBytes: r.m.egressBytes.Load(), Subscribers: r.m.subs.Load(), Publishers: pubs}
}

// Hub is the track hub the relay serves and feeds.
func (r *Relay) Hub() *media.Hub { return r.hub }

// Listen serves MoQ over raw QUIC and WebTransport (path /moq) on pconn
// until Close. The caller keeps ownership of pconn. tlsConf is what
// viewers and publishers see; relay connections from other edges, which
// ask for PeerServerName, get the cluster's mutual TLS instead.
func (r *Relay) Listen(pconn net.PacketConn, tlsConf *tls.Config, qconf *quic.Config) error {
	l, err := moq.Listen(pconn, r.serverTLS(tlsConf), qconf, r.opts.MoQ)
	if err != nil {
		return err
	}
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		_ = l.Close()
		return ErrClosed
	}
	r.listeners = append(r.listeners, l)
	r.wg.Add(1)
	r.mu.Unlock()
	go r.acceptLoop(l)
	return nil
}

// Close stops the listeners, ends every session and feeder, and closes
// the hub if the relay made it. Nothing of it is graceful (sessions end
// at once), so ctx is not waited on. Safe to call more than once.
func (r *Relay) Close(context.Context) error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	r.closed = true
	ls := r.listeners
	r.mu.Unlock()
	r.cancel()
	var errs []error
	for _, l := range ls {
		errs = append(errs, l.Close())
	}
	r.wg.Wait()
	if r.ownHub {
		r.hub.Close()
	}
	return errors.Join(errs...)
}

func (r *Relay) acceptLoop(l *moq.Listener) {
	defer r.wg.Done()
	for {
		s, err := l.Accept(r.ctx)
		if err != nil {
			return
		}
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			r.handleSession(s)
		}()
	}
}

// handleSession owns one peer session and its request goroutines.
func (r *Relay) handleSession(s *moq.Session) {
	r.m.sessions.WithLabelValues(versionLabel(s.Version())).Inc()
	if peer, ok := r.verifyPeer(s); ok {
		// Recorded for the session's requests (checkPeer); dropped after
		// the last of them.
		r.mu.Lock()
		r.peers[s] = peer
		r.mu.Unlock()
		defer func() {
			r.mu.Lock()
			delete(r.peers, s)
			r.mu.Unlock()
		}()
		r.log.Debug("relay connection", "peer", peer.String())
	}
	var reqs sync.WaitGroup
	defer func() {
		_ = s.Close()
		reqs.Wait()
	}()
	stop := context.AfterFunc(r.ctx, func() { _ = s.CloseWithError(wire.CodeGoawayTimeout, "relay shutting down") })
	defer stop()

	if toks := s.SetupTokens(); len(toks) > 0 {
		if _, err := r.claims(s, string(toks[0])); err != nil {
			code := sessionCode(err)
			r.log.Info("moq session refused", "code", uint64(code), "err", err)
			_ = s.CloseWithError(code, "authorization failed")
			return
		}
	}
	ctx := s.Context()
	reqs.Add(3)
	go func() {
		defer reqs.Done()
		for {
			in, err := s.AcceptPublish(ctx)
			if err != nil {
				return
			}
			reqs.Add(1)
			go func() {
				defer reqs.Done()
				r.serveInputPublish(ctx, s, in)
			}()
		}
	}()
	go func() {
		defer reqs.Done()
		for {
			in, err := s.AcceptSubscription(ctx)
			if err != nil {
				return
			}
			reqs.Add(1)
			go func() {
				defer reqs.Done()
				r.serveSubscription(ctx, s, in)
			}()
		}
	}()
	go func() {
		defer reqs.Done()
		for {
			in, err := s.AcceptNamespace(ctx)
			if err != nil {
				return
			}
			reqs.Add(1)
			go func() {
				defer reqs.Done()
				r.servePublisher(ctx, s, in)
			}()
		}
	}()
	<-ctx.Done()
	r.logSessionEnd(s)
}

// logSessionEnd writes the one line a failed session gets.
func (r *Relay) logSessionEnd(s *moq.Session) {
	var se *moq.SessionError
	if err := s.Err(); errors.As(err, &se) && se.Code != wire.CodeNoError && r.ctx.Err() == nil {
		if se.Remote {
			r.log.Debug("moq session closed by peer", "code", uint64(se.Code), "reason", se.Reason)
			return
		}
		r.log.Warn("moq session closed", "code", uint64(se.Code), "reason", se.Reason)
	}
}
