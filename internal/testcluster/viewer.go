package testcluster

import (
	"context"
	"crypto/tls"
	"strings"
	"sync"
	"time"

	"github.com/strata-edge/strata/api"
	"github.com/strata-edge/strata/transport/media"
	"github.com/strata-edge/strata/transport/moq"
	"github.com/strata-edge/strata/transport/moq/wire"
)

// Frame is one video object a watching viewer received.
type Frame struct {
	At    time.Time
	Group uint64
	ID    uint64
	// Edge is the edge the viewer was routed to.
	Edge string
	// Keyframe: the first object of a group.
	Keyframe bool
}

// ViewerStall is how long a viewer waits for an object before it routes
// again (a player's stall timeout).
const ViewerStall = 3 * time.Second

// viewerRetry is the pause between a failed play and the next routing.
const viewerRetry = 50 * time.Millisecond

// WatchSession plays a session's video as a player does: it routes a
// viewer through POST /v1/sessions/{id}/viewers, subscribes over raw QUIC
// MoQ on the edge it was given (trusting its self-signed certificate) and
// sends every object on frames; when the subscription ends or stalls (the
// edge died, the session moved or hibernated) it routes again. Frames are
// dropped, never blocked on, when the reader falls behind. It runs until
// ctx ends; stop waits for that.
func WatchSession(ctx context.Context, cl *api.Client, tenant, session string) (frames <-chan Frame, stop func()) {
	return WatchSessionStall(ctx, cl, tenant, session, ViewerStall)
}

// WatchSessionStall is WatchSession with another stall timeout.
func WatchSessionStall(ctx context.Context, cl *api.Client, tenant, session string, stall time.Duration) (frames <-chan Frame, stop func()) {
	out := make(chan Frame, 8192)
	var wg sync.WaitGroup
	wg.Go(func() {
		ns := media.Namespace{Tenant: tenant, Session: session}
		for ctx.Err() == nil {
			_ = playOnce(ctx, cl, ns, out, stall)
			select {
			case <-ctx.Done():
			case <-time.After(viewerRetry):
			}
		}
	})
	return out, wg.Wait
}

func playOnce(ctx context.Context, cl *api.Client, ns media.Namespace, out chan<- Frame, stallAfter time.Duration) error {
	v, err := cl.Sessions().Viewer(ctx, ns.Session, api.ViewerRequest{})
	if err != nil {
		return err
	}
	addr := strings.TrimSuffix(strings.TrimPrefix(v.MoQURL, "https://"), moq.WebTransportPath)
	dctx, cancel := context.WithTimeout(ctx, stallAfter)
	s, err := moq.DialQUIC(dctx, addr, &tls.Config{InsecureSkipVerify: true}, nil, moq.Config{}) //nolint:gosec // loopback test edges
	cancel()
	if err != nil {
		return err
	}
	defer s.Close()
	rctx, cancel := context.WithCancel(ctx)
	defer cancel()
	stall := time.AfterFunc(stallAfter, cancel)
	defer stall.Stop()
	sub, err := SubscribeVideo(rctx, s, ns, v.Token)
	if err != nil {
		return err
	}
	for {
		o, err := sub.ReadObject(rctx)
		if err != nil {
			return err
		}
		stall.Reset(stallAfter)
		if o.Status != wire.StatusNormal {
			continue
		}
		select {
		case out <- Frame{At: time.Now(), Group: o.GroupID, ID: o.ID, Edge: v.Edge, Keyframe: o.ID == 0}:
		default:
		}
	}
}
