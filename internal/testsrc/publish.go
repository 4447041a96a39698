package testsrc

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/strata-edge/strata/transport/media"
	"github.com/strata-edge/strata/transport/moq"
	"github.com/strata-edge/strata/transport/moq/wire"
	"github.com/strata-edge/strata/transport/msf"
)

// PublishConfig says where and as whom a Publisher announces.
type PublishConfig struct {
	// Addr is the edge's MoQ host:port (raw QUIC).
	Addr string
	// TLS is the client TLS config; moq sets the ALPN.
	TLS *tls.Config
	// Token is the publisher token, sent in CLIENT_SETUP and on the
	// announcement.
	Token []byte
	// Namespace is the broadcast, strata/{tenant}/{session}.
	Namespace media.Namespace
	// Logger is nil for slog.Default().
	Logger *slog.Logger
	// NoInput leaves the session's input track alone; by default the
	// publisher reads it and counts the viewers' input events (Input).
	NoInput bool
}

// Publisher serves a Source's tracks over one MoQ session.
type Publisher struct {
	src     *Source
	sess    *moq.Session
	log     *slog.Logger
	ns      media.Namespace
	params  wire.Parameters
	noInput bool
	input   inputCounter

	subscriptions atomic.Int64
	inputRefused  atomic.Int64
	wg            sync.WaitGroup
}

// Dial connects to the edge, announces the namespace and returns a
// Publisher ready to Serve.
func Dial(ctx context.Context, src *Source, cfg PublishConfig) (*Publisher, error) {
	if err := cfg.Namespace.Validate(); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	if cfg.Addr == "" {
		return nil, fmt.Errorf("%w: no edge address", ErrConfig)
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	sess, err := moq.DialQUIC(ctx, cfg.Addr, cfg.TLS, nil, moq.Config{AuthToken: cfg.Token})
	if err != nil {
		return nil, fmt.Errorf("testsrc: dial %s: %w", cfg.Addr, err)
	}
	var params wire.Parameters
	if len(cfg.Token) > 0 {
		tp, err := moq.TokenParam(cfg.Token)
		if err != nil {
			_ = sess.Close()
			return nil, fmt.Errorf("testsrc: token: %w", err)
		}
		params = wire.Parameters{tp}
	}
	if _, err := sess.PublishNamespace(ctx, cfg.Namespace.Tuple(), params); err != nil {
		_ = sess.Close()
		return nil, fmt.Errorf("testsrc: announce %s: %w", cfg.Namespace, err)
	}
	return &Publisher{src: src, sess: sess, log: cfg.Logger, ns: cfg.Namespace, params: params, noInput: cfg.NoInput}, nil
}

// Subscriptions counts the subscriptions the publisher has accepted.
func (p *Publisher) Subscriptions() int64 { return p.subscriptions.Load() }

// InputRefused counts subscriptions to the input track the edge asked of
// the source, which carries none: input flows from viewers to the source
// (see Input), never from it.
func (p *Publisher) InputRefused() int64 { return p.inputRefused.Load() }

// Serve answers the edge's subscriptions until ctx ends or the session
// fails, then closes the session and waits for its writers. It returns nil
// when ctx ended it.
func (p *Publisher) Serve(ctx context.Context) error {
	stop := context.AfterFunc(ctx, func() { _ = p.sess.Close() })
	defer stop()
	defer p.wg.Wait()
	defer func() { _ = p.sess.Close() }()
	if !p.noInput {
		p.wg.Go(func() { p.readInput(ctx) })
	}
	for {
		in, err := p.sess.AcceptSubscription(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("testsrc: session: %w", err)
		}
		name := in.Request.TrackName
		tr, ok := p.src.Track(name)
		if !ok {
			if name == msf.SessionInputTrack {
				p.inputRefused.Add(1)
				p.log.Warn("edge asked the source for the input track; refusing (input flows the other way)")
			}
			_ = in.Reject(wire.SubscribeErrTrackDoesNotExist, "no such track")
			continue
		}
		pub, err := in.Accept(wire.GroupOrderAscending, nil)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return fmt.Errorf("testsrc: accept %s: %w", name, err)
		}
		p.subscriptions.Add(1)
		p.log.Info("subscribed", "track", name)
		sub := tr.Subscribe()
		p.wg.Go(func() { p.forward(pub, sub) })
	}
}

// forward writes a track subscription's groups, one subgroup stream each,
// until the subscriber leaves, the track closes or the session ends.
func (p *Publisher) forward(pub *moq.Publication, sub *media.Subscription) {
	defer sub.Close()
	ctx, cancel := context.WithCancel(p.sess.Context())
	var watch sync.WaitGroup
	defer watch.Wait()
	defer cancel()
	watch.Go(func() {
		select {
		case <-pub.Unsubscribed():
			cancel()
		case <-ctx.Done():
		}
	})
	prio := sub.Track().Info().Priority
	for {
		gr, err := sub.NextGroup(ctx)
		if err != nil {
			if errors.Is(err, media.ErrTrackClosed) {
				_ = pub.Done(wire.PublishDoneTrackEnded, "track ended")
			}
			return
		}
		st, err := pub.OpenSubgroup(ctx, wire.SubgroupHeader{GroupID: gr.GroupID(), PublisherPriority: prio,
			Extensions: true, EndOfGroup: true})
		if err != nil {
			return
		}
		for {
			o, err := gr.NextObject(ctx)
			if err != nil {
				break
			}
			if err := st.WriteRaw(o.ID, o.Extensions, o.Payload); err != nil {
				st.Cancel(0)
				return
			}
		}
		_ = st.Close()
	}
}
