package origin

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/strata-edge/strata/api"
	"github.com/strata-edge/strata/internal/netutil"
	"github.com/strata-edge/strata/registry"
	"github.com/strata-edge/strata/registry/gossip"
)

// gossipLeaveTimeout bounds an origin's graceful gossip leave.
const gossipLeaveTimeout = time.Second

// openGossip starts this origin's gossip member. Origins carry no load;
// they are members so they see every edge's liveness and live load.
func (o *Origin) openGossip() error {
	keys := o.cfg.Gossip.Keys
	if len(keys) == 0 {
		k, err := o.loadOrMakeGossipKey()
		if err != nil {
			return err
		}
		keys = []string{k}
	}
	host, port, err := netutil.SplitHostPort(o.cfg.Gossip.Addr)
	if err != nil {
		return fmt.Errorf("gossip.addr: %w", err)
	}
	cfg := gossip.Config{
		Meta:     gossip.Meta{ID: o.cfg.NodeID, Role: gossip.RoleOrigin, Region: o.cfg.Region, Addrs: gossip.Addrs{API: o.apiAddr}},
		BindAddr: host, BindPort: port,
		Keys: keys, Profile: gossip.Profile(o.cfg.Gossip.Profile),
		LeaveTimeout: gossipLeaveTimeout,
	}
	if a := o.cfg.Gossip.Advertise; a != "" {
		if cfg.AdvertiseAddr, cfg.AdvertisePort, err = netutil.SplitHostPort(a); err != nil {
			return fmt.Errorf("gossip.advertise: %w", err)
		}
	}
	pool, err := gossip.New(cfg, gossip.Deps{Logger: o.baseLog, Registerer: o.prom})
	if err != nil {
		return err
	}
	o.pool = pool
	o.gossipAddr = pool.Addr()
	return nil
}

// loadOrMakeGossipKey reads <data_dir>/gossip-key, or on a bootstrap node
// generates it. Other nodes must be given the same key.
func (o *Origin) loadOrMakeGossipKey() (string, error) {
	path := filepath.Join(o.cfg.DataDir, "gossip-key")
	if b, err := os.ReadFile(path); err == nil {
		return strings.TrimSpace(string(b)), nil
	}
	if !o.cfg.Bootstrap {
		return "", fmt.Errorf("%w: gossip.keys: required on a joining origin (copy the bootstrap node's gossip-key, or run `strata keygen`)", registry.ErrInvalid)
	}
	k, err := gossip.GenerateKey()
	if err != nil {
		return "", err
	}
	if err := os.WriteFile(path, []byte(k+"\n"), 0o600); err != nil {
		return "", fmt.Errorf("write gossip key: %w", err)
	}
	o.log.Info("generated gossip key", "file", path)
	return k, nil
}

// gossipJoinLoop keeps this origin joined to the pool: it dials the
// configured seeds and every origin the registry knows that it does not
// yet see alive.
func (o *Origin) gossipJoinLoop() {
	defer o.wg.Done()
	t := time.NewTicker(2 * time.Second)
	defer t.Stop()
	for {
		seen := map[string]bool{}
		for _, m := range o.pool.Members() {
			seen[m.Meta.ID] = m.State == gossip.StateAlive
		}
		seeds := append([]string(nil), o.cfg.Gossip.Seeds...)
		for _, n := range o.reg.State().Nodes() {
			if n.Role == registry.RoleOrigin && n.ID != o.cfg.NodeID && !seen[n.ID] && n.Addrs["gossip"] != "" {
				seeds = append(seeds, n.Addrs["gossip"])
			}
		}
		if len(seeds) > 0 {
			if _, err := o.pool.Join(seeds); err != nil {
				o.log.Debug("gossip join", "seeds", seeds, "err", err)
			}
		}
		select {
		case <-o.ctx.Done():
			return
		case <-t.C:
		}
	}
}

// live is a node's gossiped load as this origin sees it; nil for a node
// not in the pool.
func (o *Origin) live(id string) *api.LiveLoad {
	m, ok := o.pool.Member(id)
	if !ok {
		return nil
	}
	v := &api.LiveLoad{Gossip: m.State.String(), EgressBps: m.Load.EgressBps, Viewers: m.Load.Viewers, Sessions: m.Load.Sessions,
		GPUUtilPct: m.Load.GPUUtilPct, GPUMemUsedMB: m.Load.GPUMemUsedMB, CPUPct: m.Load.CPUPct, Stale: m.Stale()}
	if !m.LoadAt.IsZero() {
		v.AgeMs = float64(m.LoadAge().Microseconds()) / 1000
	} else {
		v.AgeMs = -1
	}
	return v
}
