package edge

import (
	"context"
	"log/slog"
	"sync"
	"time"

	"github.com/strata-edge/strata/api"
	"github.com/strata-edge/strata/transport/media"
)

// sourceAPI records a session's source at the origins (*api.Client's
// Sessions().ReportSource).
type sourceAPI func(ctx context.Context, session string, r api.SessionSourceReport) error

// sourceReporter tells the origins, within seconds, when a publisher
// arrives at this edge or leaves it (WHIP DELETE, a peer connection gone,
// a MoQ session closed or its namespace withdrawn), so the registry shows
// whether each session's source is live. It reports what the hub holds
// when it sends, not every event: a takeover (the old broadcast removed,
// the new one added) is no report at all, and a burst of changes is one.
//
// Goroutines: run's watcher reader and its sender, both ending with ctx.
type sourceReporter struct {
	hub     *media.Hub
	report  sourceAPI
	node    string
	log     *slog.Logger
	timeout time.Duration // bounds one report
	retry   time.Duration // first wait after a failed report; doubles to maxRetry

	mu    sync.Mutex
	dirty map[media.Namespace]bool // changed since the last report
	kick  chan struct{}            // capacity 1: dirty is not empty
}

// maxSourceRetry caps the wait between failed reports of one change.
const maxSourceRetry = 5 * time.Second

// maxSourceMemory bounds the sessions the reporter remembers; past it,
// the gone ones are forgotten (a repeated gone report changes nothing at
// the origins, which commit only a change).
const maxSourceMemory = 4096

func forgetGone(reported map[media.Namespace]api.SessionSource) {
	for ns, src := range reported {
		if src == api.SourceGone {
			delete(reported, ns)
		}
	}
}

func newSourceReporter(hub *media.Hub, report sourceAPI, node string, log *slog.Logger) *sourceReporter {
	return &sourceReporter{
		hub: hub, report: report, node: node, log: log.With("component", "edge-source"),
		timeout: mediaCallTimeout, retry: 100 * time.Millisecond,
		dirty: map[media.Namespace]bool{}, kick: make(chan struct{}, 1),
	}
}

// run reports until ctx ends.
func (r *sourceReporter) run(ctx context.Context) {
	w := r.hub.Watch()
	var wg sync.WaitGroup
	wg.Go(func() {
		defer w.Close()
		for {
			ev, err := w.Next(ctx)
			if err != nil {
				return
			}
			if ev.Remote || (ev.Kind != media.BroadcastAdded && ev.Kind != media.BroadcastRemoved) {
				continue // relayed broadcasts are another edge's to report
			}
			r.mark(ev.Namespace)
		}
	})
	r.send(ctx)
	wg.Wait()
}

func (r *sourceReporter) mark(ns media.Namespace) {
	r.mu.Lock()
	r.dirty[ns] = true
	r.mu.Unlock()
	select {
	case r.kick <- struct{}{}:
	default:
	}
}

// send reports every changed session, retrying the ones that failed for
// a reason that may pass (no origin reachable, no leader) with backoff.
func (r *sourceReporter) send(ctx context.Context) {
	reported := map[media.Namespace]api.SessionSource{}
	wait := r.retry
	var timer <-chan time.Time
	for {
		select {
		case <-ctx.Done():
			return
		case <-r.kick:
		case <-timer:
		}
		timer = nil
		r.mu.Lock()
		batch := make([]media.Namespace, 0, len(r.dirty))
		for ns := range r.dirty {
			batch = append(batch, ns)
		}
		clear(r.dirty)
		r.mu.Unlock()
		failed := false
		for _, ns := range batch {
			src := api.SourceGone
			if b, ok := r.hub.Broadcast(ns); ok && !b.Remote() {
				src = api.SourceLive
			}
			if reported[ns] == src {
				continue
			}
			err := r.send1(ctx, ns, src)
			switch {
			case err == nil:
				// Gone is remembered too: the watcher's events for one
				// takeover can land in two batches, and the second must not
				// report gone again.
				reported[ns] = src
				if len(reported) > maxSourceMemory {
					forgetGone(reported)
				}
			case ctx.Err() != nil:
				return
			case api.Retryable(err):
				r.log.Debug("source report failed; retrying", "session", ns.Session, "source", src, "err", err)
				r.mu.Lock()
				r.dirty[ns] = true
				r.mu.Unlock()
				failed = true
			default:
				// Not this edge's session (any more), or no such session:
				// nothing to tell.
				r.log.Debug("source report refused", "session", ns.Session, "source", src, "err", err)
			}
		}
		if failed {
			timer = time.After(wait)
			wait = min(2*wait, maxSourceRetry)
		} else {
			wait = r.retry
		}
	}
}

func (r *sourceReporter) send1(ctx context.Context, ns media.Namespace, src api.SessionSource) error {
	ctx, cancel := context.WithTimeout(ctx, r.timeout)
	defer cancel()
	if err := r.report(ctx, ns.Session, api.SessionSourceReport{NodeID: r.node, Source: src}); err != nil {
		return err
	}
	r.log.Info("session source reported", "session", ns.Session, "source", src)
	return nil
}

// reportSource is the sourceAPI over the origins' client.
func reportSource(c *api.Client) sourceAPI {
	return func(ctx context.Context, session string, r api.SessionSourceReport) error {
		_, err := c.Sessions().ReportSource(ctx, session, r)
		return err
	}
}
