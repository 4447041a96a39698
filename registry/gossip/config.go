package gossip

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Config configures a Pool. A zero value means the default.
type Config struct {
	Meta Meta // this node; Meta.ID is the memberlist node name

	BindAddr      string // default "0.0.0.0"
	BindPort      int    // 0 picks a free port (tests); production uses a fixed one
	AdvertiseAddr string // default: derived from BindAddr / the host's private IP
	AdvertisePort int    // default: the bound port
	Seeds         []string

	// Keys are base64 32-byte AES keys; Keys[0] encrypts, all decrypt.
	// Required unless AllowPlaintext.
	Keys []string
	// AllowPlaintext permits unencrypted gossip, for throwaway local runs only.
	AllowPlaintext bool

	Profile Profile // lan (default), wan or local

	// LoadInterval is how often the local load is broadcast; default 1 s.
	LoadInterval time.Duration
	// UpdateTimeout bounds UpdateMeta's wait for the broadcast; default 2 s.
	UpdateTimeout time.Duration
	// DeadRetention is how long dead and left members stay in Members so
	// the registry can reconcile them; default 1 h.
	DeadRetention time.Duration
	// EventBuffer is the Events channel capacity; default 1024.
	EventBuffer int
	// LeaveTimeout bounds the graceful leave in Close; default 5 s. A
	// deadline on Close's context shortens it.
	LeaveTimeout time.Duration
}

// Deps are a Pool's collaborators.
type Deps struct {
	Logger     *slog.Logger          // default slog.Default()
	Registerer prometheus.Registerer // nil: metrics are not registered
}

func (c *Config) setDefaults() {
	if c.BindAddr == "" {
		c.BindAddr = "0.0.0.0"
	}
	if c.Profile == "" {
		c.Profile = ProfileLAN
	}
	if c.LoadInterval <= 0 {
		c.LoadInterval = time.Second
	}
	if c.UpdateTimeout <= 0 {
		c.UpdateTimeout = 2 * time.Second
	}
	if c.DeadRetention <= 0 {
		c.DeadRetention = time.Hour
	}
	if c.EventBuffer <= 0 {
		c.EventBuffer = 1024
	}
	if c.LeaveTimeout <= 0 {
		c.LeaveTimeout = 5 * time.Second
	}
}

// Validate reports the first invalid setting, naming its key.
func (c *Config) Validate() error {
	if _, err := c.Meta.MarshalBinary(); err != nil {
		return fmt.Errorf("gossip.meta: %w", err)
	}
	if c.BindPort < 0 || c.BindPort > 65535 {
		return fmt.Errorf("%w: gossip.bind_port %d", ErrBadConfig, c.BindPort)
	}
	if c.AdvertisePort < 0 || c.AdvertisePort > 65535 {
		return fmt.Errorf("%w: gossip.advertise_port %d", ErrBadConfig, c.AdvertisePort)
	}
	if len(c.Keys) == 0 && !c.AllowPlaintext {
		return fmt.Errorf("gossip.keys: %w (generate one with `strata keygen`)", ErrNoKeys)
	}
	if len(c.Keys) > 0 {
		if _, err := NewKeyring(c.Keys); err != nil {
			return fmt.Errorf("gossip.keys: %w", err)
		}
	}
	if err := c.Profile.Validate(); err != nil {
		return fmt.Errorf("gossip.profile: %w", err)
	}
	return nil
}
