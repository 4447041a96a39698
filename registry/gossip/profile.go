package gossip

import (
	"fmt"
	"time"

	"github.com/hashicorp/memberlist"
)

// Profile selects memberlist timing.
type Profile string

// Profiles.
//
// LAN is tuned so a failed node is declared dead in under 5 s in a 50-node
// pool. memberlist's suspicion timeout is
// SuspicionMult * log10(N) * ProbeInterval = 3 * 1.7 * 0.4 s ≈ 2 s at
// N=50, reached once SuspicionMult-2 = 1 other node confirms; with ~49
// probers the dead node is probed about every ProbeInterval, so detection
// is ≈ 0.4 s (first failed probe) + 0.4 s (confirmation) + 2 s + a few
// 100 ms gossip rounds ≈ 3 s (measured p50 2.8–3.3 s, p99 4.4–4.8 s with
// `strata bench gossip --nodes 50`; at 500 ms probes p99 reached 5.2–6 s on
// the same host). SuspicionMaxTimeoutMult 3 caps the unconfirmed case at
// ≈ 6 s. ProbeTimeout 200 ms is ample for a LAN RTT but short enough that
// indirect probes finish within the interval.
// GossipInterval 100 ms × GossipNodes 3 spreads a broadcast to 50 nodes in
// ≈ 4–5 rounds (< 1 s), which the load freshness target relies on.
//
// WAN keeps memberlist's WAN defaults (5 s probes, 3 s timeout, 6x
// suspicion) except a 15 s push/pull so joiners get loads sooner.
//
// Local is for one host (`strata dev`, tests): 300 ms probes, dead in
// ~2–3 s, with enough suspicion slack to survive a loaded CI machine.
const (
	ProfileLAN   Profile = "lan"
	ProfileWAN   Profile = "wan"
	ProfileLocal Profile = "local"
)

// Validate reports whether p names a profile; empty means ProfileLAN.
// Configs that carry a profile (the gossip pool's, an origin's, an
// edge's) all check it here.
func (p Profile) Validate() error {
	switch p {
	case "", ProfileLAN, ProfileWAN, ProfileLocal:
		return nil
	}
	return fmt.Errorf("%w: profile %q (want %s, %s or %s)", ErrBadConfig, p, ProfileLAN, ProfileWAN, ProfileLocal)
}

func (p Profile) memberlist() (*memberlist.Config, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	var c *memberlist.Config
	switch p {
	case ProfileLAN, "":
		c = memberlist.DefaultLANConfig()
		c.ProbeInterval = 400 * time.Millisecond
		c.ProbeTimeout = 200 * time.Millisecond
		c.SuspicionMult = 3
		c.SuspicionMaxTimeoutMult = 3
		c.GossipInterval = 100 * time.Millisecond
		c.GossipNodes = 3
		c.PushPullInterval = 15 * time.Second
		c.TCPTimeout = 5 * time.Second
	case ProfileWAN:
		c = memberlist.DefaultWANConfig()
		c.PushPullInterval = 15 * time.Second
	case ProfileLocal:
		c = memberlist.DefaultLocalConfig()
		c.ProbeInterval = 300 * time.Millisecond
		c.ProbeTimeout = 200 * time.Millisecond
		c.SuspicionMult = 4
		c.SuspicionMaxTimeoutMult = 4
		c.IndirectChecks = 2
		c.GossipInterval = 50 * time.Millisecond
		c.PushPullInterval = 2 * time.Second
		c.GossipToTheDeadTime = 2 * time.Second
		c.TCPTimeout = 2 * time.Second
	}
	return c, nil
}
