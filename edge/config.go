package edge

import (
	"fmt"
	"github.com/strata-edge/strata/api"
	"net"
	"slices"
	"strings"
	"time"

	"github.com/strata-edge/strata/edge/runtime"
	"github.com/strata-edge/strata/edge/runtime/docker"
	"github.com/strata-edge/strata/edge/runtime/kubernetes"
	"github.com/strata-edge/strata/internal/metricsrv"
	"github.com/strata-edge/strata/internal/netutil"
	"github.com/strata-edge/strata/registry/gossip"
)

// Config configures an edge node. A zero value means the default; yaml tags
// are the config file keys, STRATA_<KEY> the environment variables.
type Config struct {
	NodeID string   `yaml:"node_id"`
	Join   []string `yaml:"join"` // origin API addresses, host:port
	// Token is an edge join token (strata cluster join-token) and
	// CAFingerprint the cluster CA's fingerprint it prints: with them the
	// edge enrolls once for a certificate, kept in DataDir/pki and renewed
	// from then on. Neither is needed once the edge holds a certificate.
	Token         string `yaml:"token"`
	CAFingerprint string `yaml:"ca_fingerprint"`
	// DataDir holds the edge's certificate and key (default
	// data/<node_id>); 0700, readable only by the edge's user.
	DataDir string `yaml:"data_dir"`

	Region string            `yaml:"region"`
	Zone   string            `yaml:"zone"`
	Lat    float64           `yaml:"lat"`
	Lon    float64           `yaml:"lon"`
	Labels map[string]string `yaml:"labels"`

	// GPUs is the discovery spec: auto, none or fake:SPEC (see edge/gpu).
	GPUs string `yaml:"gpus"`
	// NICMbps is the egress capacity to advertise; 0 reads the link speed
	// of NICIface (or the default-route interface) from sysfs.
	NICMbps  int64  `yaml:"nic_mbps"`
	NICIface string `yaml:"nic_iface"`
	// Capacity is the calibrated capacity profile, if any.
	Capacity CapacityConfig `yaml:"capacity"`

	Advertise AdvertiseConfig `yaml:"advertise"`
	Gossip    GossipConfig    `yaml:"gossip"`
	// Media turns on the media plane (MoQ relay, WHIP/WHEP); off when its
	// addresses are empty. Empty advertise.quic, .whip and .webrtc follow
	// the bound media addresses.
	Media MediaConfig `yaml:"media"`
	// Runtime runs the sessions placed here: `strata edge` defaults to the
	// process driver with its state in <data_dir>/runtime; a zero config
	// runs none unless runtime.state_dir is set.
	Runtime RuntimeConfig `yaml:"runtime"`

	// LoadInterval is how often live load is sampled and published.
	LoadInterval time.Duration `yaml:"load_interval"`
	// DrainGrace is how long a draining edge waits for its sessions to
	// move before it leaves.
	DrainGrace time.Duration `yaml:"drain_grace"`
	// AssignmentWait is the blocking-query wait for session assignments.
	AssignmentWait time.Duration `yaml:"assignment_wait"`
	// LeaveTimeout bounds the graceful gossip leave.
	LeaveTimeout time.Duration `yaml:"leave_timeout"`

	Log LogConfig `yaml:"log"`
	// Metrics: with metrics.addr set the edge serves /metrics there (an
	// edge serves none otherwise; Defaults, which `strata edge` starts
	// from, sets DefaultMetricsAddr); metrics.token (or token_file)
	// requires a bearer token.
	Metrics metricsrv.Config `yaml:"metrics"`
}

// CapacityConfig names a capacity profile written by `strata bench
// calibrate`. On matching hardware the edge advertises no more egress than
// the profile's knee, so placement and viewer routing never load it past
// the point where its viewers' SLO broke; on other hardware it warns and
// keeps the configured figures.
type CapacityConfig struct {
	Profile string `yaml:"profile"`
}

// AdvertiseConfig are the endpoints this edge serves, as others reach them.
type AdvertiseConfig struct {
	API    string `yaml:"api"`
	QUIC   string `yaml:"quic"`
	WebRTC string `yaml:"webrtc"`
	WHIP   string `yaml:"whip"`
	// Metrics is the /metrics host:port Prometheus dials; default: the
	// bound metrics.addr, an unspecified host replaced by gossip's.
	Metrics string `yaml:"metrics"`
}

// GossipConfig is the edge's gossip membership.
type GossipConfig struct {
	Addr      string   `yaml:"addr"`      // bind host:port
	Advertise string   `yaml:"advertise"` // host:port others dial; default from addr
	Keys      []string `yaml:"keys"`      // base64 keys; the first encrypts
	Seeds     []string `yaml:"seeds"`     // default: the origins' gossip addresses
	Profile   string   `yaml:"profile"`   // lan, wan or local
}

// LogConfig selects log output.
type LogConfig struct {
	Level  string `yaml:"level"`
	Format string `yaml:"format"`
}

// Defaults is the configuration before file, environment and flags.
func Defaults() Config {
	return Config{
		GPUs:           "auto",
		Gossip:         GossipConfig{Addr: "0.0.0.0:7946", Profile: string(gossip.ProfileLAN)},
		LoadInterval:   time.Second,
		DrainGrace:     30 * time.Second,
		AssignmentWait: 30 * time.Second,
		LeaveTimeout:   5 * time.Second,
		Log:            LogConfig{Level: "info", Format: "text"},
		Metrics:        metricsrv.Config{Addr: DefaultMetricsAddr},
		Runtime:        RuntimeConfig{Driver: DriverProcess},
	}
}

func (c *Config) setDefaults() {
	d := Defaults()
	if c.DataDir == "" && c.NodeID != "" {
		c.DataDir = "data/" + c.NodeID
	}
	if c.GPUs == "" {
		c.GPUs = d.GPUs
	}
	c.Runtime.setDefaults(c.DataDir)
	if c.Gossip.Addr == "" {
		c.Gossip.Addr = d.Gossip.Addr
	}
	if c.Gossip.Profile == "" {
		c.Gossip.Profile = d.Gossip.Profile
	}
	if c.LoadInterval <= 0 {
		c.LoadInterval = d.LoadInterval
	}
	if c.DrainGrace < 0 {
		c.DrainGrace = 0
	}
	if c.AssignmentWait <= 0 {
		c.AssignmentWait = d.AssignmentWait
	}
	if c.LeaveTimeout <= 0 {
		c.LeaveTimeout = d.LeaveTimeout
	}
}

// Validate reports the first invalid setting, naming its key.
func (c *Config) Validate() error {
	bad := func(key, format string, args ...any) error {
		return fmt.Errorf("%w: %s: %s", ErrInvalid, key, fmt.Sprintf(format, args...))
	}
	switch {
	case c.NodeID == "":
		return bad("node_id", "required")
	case len(c.NodeID) > 64:
		return bad("node_id", "at most 64 characters")
	case len(c.Join) == 0:
		return bad("join", "at least one origin API address is required")
	case c.Region == "":
		return bad("region", "required")
	case c.Lat < -90 || c.Lat > 90:
		return bad("lat", "%v is out of range", c.Lat)
	case c.Lon < -180 || c.Lon > 180:
		return bad("lon", "%v is out of range", c.Lon)
	case c.NICMbps < 0:
		return bad("nic_mbps", "must not be negative")
	case c.GPUs != "auto" && c.GPUs != "none" && !strings.HasPrefix(c.GPUs, "fake:"):
		return bad("gpus", "%q: want auto, none or fake:SPEC", c.GPUs)
	case len(c.Gossip.Keys) == 0:
		return bad("gossip.keys", "a gossip key is required (generate one with `strata keygen`)")
	}
	for i, a := range c.Join {
		if _, _, err := net.SplitHostPort(a); err != nil {
			return bad(fmt.Sprintf("join[%d]", i), "%q is not host:port", a)
		}
	}
	if _, _, err := netutil.SplitHostPort(c.Gossip.Addr); err != nil {
		return bad("gossip.addr", "%v", err)
	}
	if c.Gossip.Advertise != "" {
		if _, _, err := netutil.SplitHostPort(c.Gossip.Advertise); err != nil {
			return bad("gossip.advertise", "%v", err)
		}
	}
	if c.Advertise.Metrics != "" {
		if _, _, err := netutil.SplitHostPort(c.Advertise.Metrics); err != nil {
			return bad("advertise.metrics", "%v", err)
		}
	}
	if err := gossip.Profile(c.Gossip.Profile).Validate(); err != nil {
		return bad("gossip.profile", "%v", err)
	}
	switch c.Runtime.Driver {
	case "", DriverProcess, DriverNone:
	default:
		return bad("runtime.driver", "%q: want process or none", c.Runtime.Driver)
	}
	if c.Runtime.StopGrace < 0 {
		return bad("runtime.stop_grace", "must not be negative")
	}
	switch c.Runtime.Cgroups {
	case "", runtime.CgroupsAuto, runtime.CgroupsRequired, runtime.CgroupsOff:
	default:
		return bad("runtime.cgroups", "%q: want auto, required or off", c.Runtime.Cgroups)
	}
	seen := map[string]bool{}
	for _, d := range c.Runtime.Drivers {
		if !slices.Contains(api.Runtimes, api.Runtime(d)) || seen[d] {
			return bad("runtime.drivers", "%q: want process, docker and/or kubernetes, each once", d)
		}
		seen[d] = true
	}
	switch c.Runtime.Docker.GPUs {
	case "", docker.GPUsAuto, docker.GPUsCDI, docker.GPUsNVIDIA:
	default:
		return bad("runtime.docker.gpus", "%q: want auto, cdi or nvidia", c.Runtime.Docker.GPUs)
	}
	switch c.Runtime.Kubernetes.GPUs {
	case "", kubernetes.GPUsCDI, kubernetes.GPUsResource:
	default:
		return bad("runtime.kubernetes.gpus", "%q: want cdi or resource", c.Runtime.Kubernetes.GPUs)
	}
	switch c.Runtime.Kubernetes.Network {
	case "", kubernetes.NetworkHost, kubernetes.NetworkPod:
	default:
		return bad("runtime.kubernetes.network", "%q: want host or pod", c.Runtime.Kubernetes.Network)
	}
	if err := c.Metrics.Validate(); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	return c.Media.validate(bad)
}
