package origin

import (
	"fmt"
	"path/filepath"
	"time"

	"github.com/strata-edge/strata/internal/certs"
	"github.com/strata-edge/strata/internal/metricsrv"
	"github.com/strata-edge/strata/internal/netutil"
	"github.com/strata-edge/strata/internal/pki"
	"github.com/strata-edge/strata/registry"
	"github.com/strata-edge/strata/registry/gossip"
)

// Config configures an origin node. YAML keys are shown in tags; each is
// also settable as STRATA_<KEY PATH> (e.g. STRATA_RAFT_PROFILE) and most
// as a flag of `strata origin`.
type Config struct {
	NodeID  string `yaml:"node_id"`
	DataDir string `yaml:"data_dir"`
	Region  string `yaml:"region"`
	// Bootstrap forms a new cluster with this node as its first voter.
	Bootstrap bool `yaml:"bootstrap"`
	// Join lists API addresses of existing origins to join through.
	Join []string `yaml:"join"`
	// Nonvoter joins as a read replica that does not vote.
	Nonvoter bool `yaml:"nonvoter"`
	// AdminToken authenticates the admin API. If empty, the bootstrap node
	// generates one and writes it to <data_dir>/admin-token (mode 0600).
	AdminToken string       `yaml:"admin_token"`
	API        APIConfig    `yaml:"api"`
	Gossip     GossipConfig `yaml:"gossip"`
	Raft       RaftConfig   `yaml:"raft"`
	PKI        PKIConfig    `yaml:"pki"`
	Log        LogConfig    `yaml:"log"`
	// Metrics: /metrics on the API listener by default, or on
	// metrics.addr; metrics.token (or token_file) requires a bearer token.
	Metrics metricsrv.Config `yaml:"metrics"`
	// Restart is the backoff before a session whose instance failed is
	// placed again.
	Restart RestartConfig `yaml:"restart"`
	// Autoscale is the leader's autoscaler (off unless enabled).
	Autoscale AutoscaleConfig `yaml:"autoscale"`
}

// RestartConfig shapes the restart backoff: the first restart after a
// failure waits about Backoff (default 1s), each further one twice as
// long up to MaxBackoff (default 1m), with ±20% jitter.
type RestartConfig struct {
	Backoff    time.Duration `yaml:"backoff"`
	MaxBackoff time.Duration `yaml:"max_backoff"`
}

// APIConfig configures the REST listener.
type APIConfig struct {
	Addr      string `yaml:"addr"`
	Advertise string `yaml:"advertise"`
	// MaxBodyBytes bounds request bodies.
	MaxBodyBytes int `yaml:"max_body_bytes"`
	// RateLimit is requests per second allowed per API key on this origin;
	// RateBurst is the bucket size.
	RateLimit float64 `yaml:"rate_limit"`
	RateBurst int     `yaml:"rate_burst"`
	// TLS picks the certificate the API shows clients other than cluster
	// nodes: the cluster CA's (mode cluster, the default), operator files
	// or ACME. Nodes always get the cluster certificate (pki.ServerName).
	TLS certs.Config `yaml:"tls"`
	// AuthFailRate is failed authentications per second allowed per client
	// address on this origin, checked where the request arrives, before a
	// follower forwards a key it does not know; AuthFailBurst is the
	// bucket size. Zero rate: no limit.
	AuthFailRate  float64 `yaml:"auth_fail_rate"`
	AuthFailBurst int     `yaml:"auth_fail_burst"`
}

// GossipConfig configures this origin's membership in the gossip pool that
// edges join.
type GossipConfig struct {
	Addr      string `yaml:"addr"`
	Advertise string `yaml:"advertise"`
	// Keys are base64 AES keys (`strata keygen`); the first encrypts, all
	// decrypt, which is how keys rotate. If empty, a bootstrap origin
	// generates one into <data_dir>/gossip-key.
	Keys    []string `yaml:"keys"`
	Profile string   `yaml:"profile"`
	// Seeds are gossip addresses to join besides the origins the registry
	// knows.
	Seeds []string `yaml:"seeds"`
}

// RaftConfig configures the Raft member.
type RaftConfig struct {
	Addr               string        `yaml:"addr"`
	Advertise          string        `yaml:"advertise"`
	LogStore           string        `yaml:"log_store"`
	Profile            string        `yaml:"profile"`
	HeartbeatTimeout   time.Duration `yaml:"heartbeat_timeout"`
	ElectionTimeout    time.Duration `yaml:"election_timeout"`
	LeaderLeaseTimeout time.Duration `yaml:"leader_lease_timeout"`
	CommitTimeout      time.Duration `yaml:"commit_timeout"`
	SnapshotThreshold  uint64        `yaml:"snapshot_threshold"`
	SnapshotInterval   time.Duration `yaml:"snapshot_interval"`
}

// LogConfig configures logging.
type LogConfig struct {
	Level  string `yaml:"level"`
	Format string `yaml:"format"`
}

// Defaults returns the configuration used when nothing is set.
func Defaults() Config {
	return Config{
		NodeID:  "origin-1",
		DataDir: "data/origin-1",
		API: APIConfig{
			Addr:          "127.0.0.1:7070",
			MaxBodyBytes:  64 << 10,
			RateLimit:     2000,
			RateBurst:     4000,
			AuthFailRate:  5,
			AuthFailBurst: 50,
		},
		Raft:   RaftConfig{Addr: "127.0.0.1:7071", LogStore: "wal", Profile: "lan"},
		Gossip: GossipConfig{Addr: "127.0.0.1:7072", Profile: string(gossip.ProfileLAN)},
		Log:    LogConfig{Level: "info", Format: "text"},
	}
}

// setDefaults fills the settings whose zero value means the default.
// Zero rate_limit stays zero: it means no limit.
func (c *Config) setDefaults() {
	d := Defaults()
	if c.API.MaxBodyBytes == 0 {
		c.API.MaxBodyBytes = d.API.MaxBodyBytes
	}
	if c.Raft.LogStore == "" {
		c.Raft.LogStore = d.Raft.LogStore
	}
	if c.Raft.Profile == "" {
		c.Raft.Profile = d.Raft.Profile
	}
	if c.Gossip.Profile == "" {
		c.Gossip.Profile = d.Gossip.Profile
	}
}

// Validate checks the configuration; errors name the key.
func (c *Config) Validate() error {
	bad := func(key, why string) error { return fmt.Errorf("%w: %s: %s", registry.ErrInvalid, key, why) }
	switch {
	case c.Restart.Backoff < 0:
		return bad("restart.backoff", "must not be negative")
	case c.Restart.MaxBackoff < 0:
		return bad("restart.max_backoff", "must not be negative")
	case c.NodeID == "":
		return bad("node_id", "required")
	case len(c.NodeID) > 64:
		return bad("node_id", "at most 64 characters")
	case c.DataDir == "":
		return bad("data_dir", "required")
	case c.API.Addr == "":
		return bad("api.addr", "required")
	case c.Raft.Addr == "":
		return bad("raft.addr", "required")
	case c.Gossip.Addr == "":
		return bad("gossip.addr", "required")
	case c.Bootstrap && len(c.Join) > 0:
		return bad("join", "cannot be combined with bootstrap")
	case c.API.MaxBodyBytes < 0:
		return bad("api.max_body_bytes", "must not be negative")
	case c.API.RateLimit < 0:
		return bad("api.rate_limit", "must not be negative")
	case c.API.AuthFailRate < 0:
		return bad("api.auth_fail_rate", "must not be negative")
	case c.AdminToken != "" && len(c.AdminToken) < 32:
		return bad("admin_token", "at least 32 characters")
	}
	if _, _, err := netutil.SplitHostPort(c.Gossip.Addr); err != nil {
		return bad("gossip.addr", err.Error())
	}
	if c.PKI.CertValidity < 0 || c.PKI.CertValidity > pki.MaxNodeValidity {
		return bad("pki.cert_validity", "at most "+pki.MaxNodeValidity.String())
	}
	if err := c.API.TLS.Validate("api.tls", modeCluster); err != nil {
		return fmt.Errorf("%w: %w", registry.ErrInvalid, err)
	}
	if c.API.TLS.Effective(modeCluster) == certs.ModeSelfSigned {
		return bad("api.tls.mode", "self-signed is for edges' media; the origin's default is the cluster CA (cluster)")
	}
	if c.Gossip.Advertise != "" {
		if _, _, err := netutil.SplitHostPort(c.Gossip.Advertise); err != nil {
			return bad("gossip.advertise", err.Error())
		}
	}
	// The Raft settings are the registry's: its Validate names them
	// (raft.log_store, raft.profile) and knows the allowed values.
	rc := c.registryConfig()
	if err := rc.Validate(); err != nil {
		return err
	}
	if err := gossip.Profile(c.Gossip.Profile).Validate(); err != nil {
		return bad("gossip.profile", err.Error())
	}
	if err := c.Metrics.Validate(); err != nil {
		return fmt.Errorf("%w: %w", registry.ErrInvalid, err)
	}
	switch c.Log.Format {
	case "", "text", "json":
	default:
		return bad("log.format", "want text or json")
	}
	return c.Autoscale.validate()
}

// registryConfig is the configuration of the origin's Raft member.
func (c *Config) registryConfig() registry.Config {
	return registry.Config{
		NodeID: c.NodeID, DataDir: filepath.Join(c.DataDir, "registry"),
		Bind: c.Raft.Addr, Advertise: c.Raft.Advertise,
		LogStore: c.Raft.LogStore, Profile: c.Raft.Profile,
		HeartbeatTimeout: c.Raft.HeartbeatTimeout, ElectionTimeout: c.Raft.ElectionTimeout,
		LeaderLeaseTimeout: c.Raft.LeaderLeaseTimeout, CommitTimeout: c.Raft.CommitTimeout,
		SnapshotThreshold: c.Raft.SnapshotThreshold, SnapshotInterval: c.Raft.SnapshotInterval,
		Bootstrap: c.Bootstrap,
	}
}
