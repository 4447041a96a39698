package authz

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/strata-edge/strata/internal/token"
)

// KeySource fetches the JWKS document the origins publish (GET
// /v1/cluster/keys).
type KeySource interface {
	TokenKeys(ctx context.Context) ([]byte, error)
}

// KeysConfig configures Keys. A zero field means its default.
type KeysConfig struct {
	// Refresh is how often the keys are re-read, and so at most how stale
	// they are when no token names a new key.
	Refresh time.Duration
	// MinInterval bounds refreshes caused by tokens naming an unknown
	// key, so a flood of forged key IDs cannot flood the origins.
	MinInterval time.Duration
	// CallTimeout bounds one fetch.
	CallTimeout time.Duration
}

// KeysDeps are the collaborators of Keys.
type KeysDeps struct {
	// Source is where the keys are read. Required.
	Source KeySource
	// Logger is nil for slog.Default().
	Logger *slog.Logger
	// Now is the clock for MinInterval; nil is time.Now.
	Now func() time.Time
}

// Defaults for zero KeysConfig fields.
const (
	DefaultRefresh     = time.Minute
	DefaultMinInterval = time.Second
	DefaultCallTimeout = 5 * time.Second
)

func (c KeysConfig) withDefaults() KeysConfig {
	if c.Refresh <= 0 {
		c.Refresh = DefaultRefresh
	}
	if c.MinInterval <= 0 {
		c.MinInterval = DefaultMinInterval
	}
	if c.CallTimeout <= 0 {
		c.CallTimeout = DefaultCallTimeout
	}
	return c
}

// Keys is the origins' token key set as this node last read it. Verify
// uses it offline; a token naming a key not seen yet (a rotation) makes
// it re-read the set at once, at most once per MinInterval.
//
// Goroutines: none of its own. Run is the refresher, a loop its caller
// owns; Close fails any fetch in flight and ends Run.
type Keys struct {
	cfg KeysConfig
	src KeySource
	log *slog.Logger
	now func() time.Time

	set atomic.Pointer[token.KeySet]
	mu  sync.Mutex // serializes fetches; guards at
	at  time.Time  // when the last fetch began

	ctx    context.Context // bounds every fetch; ends at Close
	cancel context.CancelFunc
}

// NewKeys returns an empty key set read from deps.Source: Run keeps it
// fresh, and Verify reads it on demand when a token names an unknown key.
func NewKeys(cfg KeysConfig, deps KeysDeps) (*Keys, error) {
	cfg = cfg.withDefaults() // every value is valid: zero or less means the default
	if deps.Source == nil {
		return nil, fmt.Errorf("%w: a KeySource is required", ErrBadConfig)
	}
	if deps.Logger == nil {
		deps.Logger = slog.Default()
	}
	if deps.Now == nil {
		deps.Now = time.Now
	}
	k := &Keys{cfg: cfg, src: deps.Source, log: deps.Logger, now: deps.Now}
	k.ctx, k.cancel = context.WithCancel(context.Background())
	return k, nil
}

// Run reads the keys now and every Refresh until ctx ends or Close: a
// failed read is logged and retried at the next tick. It returns nil.
// The caller owns the goroutine that runs it.
func (k *Keys) Run(ctx context.Context) error {
	t := time.NewTicker(k.cfg.Refresh)
	defer t.Stop()
	for {
		if err := k.fetch(true); err != nil && k.ctx.Err() == nil && ctx.Err() == nil {
			k.log.Warn("token keys not refreshed", "err", err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-k.ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Close fails any fetch in flight and ends Run; later fetches fail at
// once. Nothing of it is graceful, so ctx is not waited on.
func (k *Keys) Close(context.Context) error {
	k.cancel()
	return nil
}

// fetch reads the key set and swaps it in. Unless force, it does nothing
// within MinInterval of the last fetch.
func (k *Keys) fetch(force bool) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	now := k.now()
	if !force && now.Sub(k.at) < k.cfg.MinInterval {
		return nil
	}
	k.at = now
	ctx, cancel := context.WithTimeout(k.ctx, k.cfg.CallTimeout)
	defer cancel()
	doc, err := k.src.TokenKeys(ctx)
	if err != nil {
		return fmt.Errorf("fetch token keys: %w", err)
	}
	ks, err := token.ParseJWKS(doc)
	if err != nil {
		return err
	}
	k.set.Store(ks)
	return nil
}

// Verify checks a token against the keys, re-reading them first
// (rate-limited) when the token names a key not known yet.
func (k *Keys) Verify(tok string, now time.Time) (token.Claims, error) {
	ks := k.set.Load()
	if ks != nil {
		c, err := ks.Verify(tok, now)
		if !errors.Is(err, token.ErrUnknownKey) {
			return c, err
		}
	}
	if err := k.fetch(false); err != nil {
		k.log.Warn("token keys unavailable", "err", err)
	}
	if ks = k.set.Load(); ks == nil {
		return token.Claims{}, fmt.Errorf("%w: no token keys yet", token.ErrUnknownKey)
	}
	return ks.Verify(tok, now)
}
