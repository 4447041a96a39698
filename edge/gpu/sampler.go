package gpu

import (
	"context"
	"log/slog"
	"sync"
	"time"
)

// Source returns a fresh GPU reading; Discoverer.Source binds a spec.
type Source func(ctx context.Context) ([]GPU, error)

// Source returns a Source that re-resolves spec on every call.
func (d *Discoverer) Source(spec string) Source {
	return func(ctx context.Context) ([]GPU, error) { return d.Discover(ctx, spec) }
}

// Sampler re-reads GPU utilization periodically so the edge can gossip
// live load. Run owns the only goroutine; Latest is safe from any goroutine.
type Sampler struct {
	src      Source
	interval time.Duration
	log      *slog.Logger
	onSample func([]GPU)

	mu   sync.Mutex
	last []GPU
	at   time.Time
	err  error
	// logged is the error text last logged ("" while samples succeed), so
	// a condition is logged once and again only when it changes.
	logged string
}

// NewSampler samples src every interval (1 s when <= 0). onSample, if not
// nil, is called from Run's goroutine after each successful sample.
func NewSampler(src Source, interval time.Duration, log *slog.Logger, onSample func([]GPU)) *Sampler {
	if interval <= 0 {
		interval = time.Second
	}
	if log == nil {
		log = slog.Default()
	}
	return &Sampler{src: src, interval: interval, log: log.With("component", "gpu"), onSample: onSample}
}

// Prime records the reading the caller already took and reported (the
// edge's discovery at start), so Run logs only what differs from it.
func (s *Sampler) Prime(gpus []GPU, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.err = err
	if err == nil {
		s.last, s.at = gpus, time.Now()
		s.logged = ""
	} else {
		s.logged = err.Error()
	}
}

// Run samples immediately and then every interval until ctx is done; it
// returns ctx's error. The caller owns the goroutine that runs it.
func (s *Sampler) Run(ctx context.Context) error {
	t := time.NewTicker(s.interval)
	defer t.Stop()
	for {
		s.sample(ctx)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

func (s *Sampler) sample(ctx context.Context) {
	gpus, err := s.src(ctx)
	if ctx.Err() != nil {
		return
	}
	s.mu.Lock()
	s.err = err
	if err == nil {
		s.last, s.at = gpus, time.Now()
	}
	// Log changes only, not every second: a new error, or recovery.
	was := s.logged
	if err != nil {
		s.logged = err.Error()
	} else {
		s.logged = ""
	}
	s.mu.Unlock()
	switch {
	case err != nil && s.logged != was:
		s.log.Warn("gpu sample failed", "err", err)
	case err == nil && was != "":
		s.log.Info("gpu sample succeeded again", "gpus", len(gpus))
	}
	if err != nil {
		return
	}
	if s.onSample != nil {
		s.onSample(gpus)
	}
}

// Latest returns the last successful sample, when it was taken, and the
// error of the most recent attempt (nil if it succeeded).
func (s *Sampler) Latest() ([]GPU, time.Time, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]GPU, len(s.last))
	copy(out, s.last)
	return out, s.at, s.err
}
