package webrtc

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/strata-edge/strata/transport/media"
)

// Role is what a bearer token allows on a session.
type Role uint8

// Roles. A controller is a viewer that may also send input events.
const (
	RolePublisher Role = iota + 1
	RoleViewer
	RoleController
)

// String returns the lower-case role name for logs.
func (r Role) String() string {
	switch r {
	case RolePublisher:
		return "publisher"
	case RoleViewer:
		return "viewer"
	case RoleController:
		return "controller"
	default:
		return fmt.Sprintf("role(%d)", uint8(r))
	}
}

// Grant is what an Authorizer allows a token.
type Grant struct {
	// Role is the role granted: a WHEP token may grant RoleController.
	Role Role
	// Issued is when a publisher's token was issued. A session has one
	// publisher: a WHIP publisher is refused while another is live unless
	// its token is strictly newer, and then it takes the session over.
	Issued time.Time
}

// Authorizer checks a bearer token (empty when none was sent) for a session
// and the role the request needs (RolePublisher for WHIP, RoleViewer for
// WHEP). Any error answers 401 (code token_expired when it wraps
// ErrTokenExpired, else unauthorized). It lives here as a function so the edge can
// plug in offline token verification without this package importing it.
type Authorizer func(ctx context.Context, token string, ns media.Namespace, want Role) (Grant, error)

// Router lets the edge send a WHIP or WHEP client elsewhere: a non-empty
// base URL (scheme://host:port of another server mounted at the same
// PathPrefix) answers 307 to the same endpoint there, with the request's
// token in the Location's query (see TokenParam); clients re-POST there.
// It runs before the Authorizer, so it must only redirect for a token it
// has verified and that the target accepts.
type Router func(ctx context.Context, ns media.Namespace, req *Request) (base string, err error)

// KeyframeRequester asks the publisher of a track that is not ingested here
// (e.g. relayed over MoQ) for a keyframe. Calls are already rate-limited.
type KeyframeRequester func(ns media.Namespace, track string)

// ICEServer is a STUN/TURN server advertised to clients in Link headers.
type ICEServer struct {
	URL        string // stun:, turn: or turns: URI
	Username   string
	Credential string
}

// Config configures a Server. A zero field means the default.
type Config struct {
	// Hub is where ingested media goes and egress media comes from.
	Hub *media.Hub
	// UDPConn is the one UDP socket every peer connection shares. Required.
	UDPConn net.PacketConn
	// TCPListener, if set, also accepts ICE-TCP on one port.
	TCPListener net.Listener
	// NAT1To1IPs are public addresses announced instead of the host's, for
	// an edge behind 1:1 NAT (cloud VMs).
	NAT1To1IPs []string
	// ICEServers are announced to clients in Link headers.
	ICEServers []ICEServer
	// PathPrefix is where the handler is mounted, e.g. "/rtc"; request
	// paths are resolved below it and resource URLs are built with it.
	PathPrefix string
	// AllowOrigin is the CORS Access-Control-Allow-Origin value; "*" if empty.
	AllowOrigin string

	Authorizer        Authorizer        // nil allows everyone as viewer/publisher; the newest publisher wins
	Router            Router            // nil serves every viewer here
	KeyframeRequester KeyframeRequester // nil: keyframes of relayed tracks are not requested

	// MaxViewers and MaxPublishers bound live sessions; 0 means no limit.
	MaxViewers    int
	MaxPublishers int
	// RetryAfter is sent with 503 and 409; 5 s if zero.
	RetryAfter time.Duration
	// KeyframeInterval is the least time between keyframe requests for one
	// track; 500 ms if zero.
	KeyframeInterval time.Duration
	// GatherTimeout bounds how long an answer waits for ICE gathering;
	// 2 s if zero. With a UDP mux gathering is immediate.
	GatherTimeout time.Duration
	// MTU is the RTP payload budget per packet; 1200 if zero.
	MTU int

	// Registerer receives the metrics; nil disables them.
	Registerer prometheus.Registerer
	Logger     *slog.Logger
}

func (c Config) withDefaults() Config {
	if c.AllowOrigin == "" {
		c.AllowOrigin = "*"
	}
	if c.RetryAfter <= 0 {
		c.RetryAfter = 5 * time.Second
	}
	if c.KeyframeInterval <= 0 {
		c.KeyframeInterval = 500 * time.Millisecond
	}
	if c.GatherTimeout <= 0 {
		c.GatherTimeout = 2 * time.Second
	}
	if c.MTU <= 0 {
		c.MTU = 1200
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// Validate names the first unusable field.
func (c Config) Validate() error {
	switch {
	case c.Hub == nil:
		return fmt.Errorf("%w: hub is required", ErrConfig)
	case c.UDPConn == nil:
		return fmt.Errorf("%w: udp conn is required", ErrConfig)
	case c.MaxViewers < 0 || c.MaxPublishers < 0:
		return fmt.Errorf("%w: peer limits must not be negative", ErrConfig)
	case c.MTU != 0 && (c.MTU < 200 || c.MTU > 1500):
		return fmt.Errorf("%w: mtu %d outside 200..1500", ErrConfig, c.MTU)
	}
	for _, ip := range c.NAT1To1IPs {
		if net.ParseIP(ip) == nil {
			return fmt.Errorf("%w: nat 1:1 ip %q", ErrConfig, ip)
		}
	}
	return nil
}
